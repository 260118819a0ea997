// error: modulo is not defined on negative numbers @ 4:17
#include <core.p4>
control c(inout bit<8> x) {
    apply { x = x % -3; }
}
