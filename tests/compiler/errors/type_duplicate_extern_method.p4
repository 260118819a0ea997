// error: duplicate declaration of put @ 6:10
#include <core.p4>
extern Box {
    Box();
    void put(in bit<8> v);
    void put(in bit<8> v);
}
