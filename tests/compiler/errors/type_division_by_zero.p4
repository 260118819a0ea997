// error: division by zero @ 4:17
#include <core.p4>
control c(inout bit<8> x) {
    apply { x = x / 0; }
}
