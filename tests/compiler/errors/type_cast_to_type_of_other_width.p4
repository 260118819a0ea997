// error: cannot cast from bit<16> to port_t @ 5:17
#include <core.p4>
type bit<9> port_t;
control c(in bit<16> x, out port_t y) {
    apply { y = (port_t)x; }
}
