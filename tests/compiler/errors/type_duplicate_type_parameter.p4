// error: duplicate type parameter 'T' @ 3:8
#include <core.p4>
struct pair_t<T, T> { T a; }
