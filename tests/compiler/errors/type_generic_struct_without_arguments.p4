// error: pair_t: no type arguments supplied for generic type @ 4:9
#include <core.p4>
struct pair_t<T> { T a; T b; }
typedef pair_t pair8_t;
