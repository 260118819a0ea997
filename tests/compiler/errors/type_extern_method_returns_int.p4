// error: int: illegal return type for a method @ 5:5
#include <core.p4>
extern Box {
    Box();
    int size();
}
