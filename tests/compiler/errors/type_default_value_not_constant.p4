// error: the default value of parameter 'a' must be a compile-time constant @ 4:24
#include <core.p4>
extern bit<8> seed();
bit<8> f(in bit<8> a = seed()) { return a; }
