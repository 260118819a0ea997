// error: operands of '+' have different types: bit<8> and bit<16> @ 4:19
header h_t { bit<8> a; bit<16> b; }
control c(inout h_t h) {
    apply { h.a = h.a + h.b; }
}
