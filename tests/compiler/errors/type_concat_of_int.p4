// error: '++' needs bit<W> or int<W> operands, not int and bit<8> @ 3:17
control c(inout bit<16> x) {
    apply { x = 1 ++ x[7:0]; }
}
