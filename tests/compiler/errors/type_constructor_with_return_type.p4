// error: Box: invalid constructor; it cannot have a return type @ 4:10
#include <core.p4>
extern Box {
    void Box();
}
