// error: cannot cast from bit<8> to int<16> @ 4:17
#include <core.p4>
control c(in bit<8> x, out int<16> y) {
    apply { y = (int<16>)x; }
}
