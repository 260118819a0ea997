// error: shift amount must be unsigned, not int<8> @ 3:22
control c(inout bit<8> x, in int<8> n) {
    apply { x = x << n; }
}
