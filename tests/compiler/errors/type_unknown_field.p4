// error: h_t has no field 'b' @ 4:13
header h_t { bit<8> a; }
control c(inout h_t h) {
    apply { h.b = 1; }
}
