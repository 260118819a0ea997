// error: 'main' must be a package instance @ 3:8
#include <core.p4>
extern main { }
