// error: @pkginfo needs a list of key=value pairs @ 3:1
#include <core.p4>
@pkginfo
const bit<8> x = 0;
