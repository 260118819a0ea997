// error: h_t has no method 'reset' @ 4:13
header h_t { bit<8> a; }
control c(inout h_t h) {
    apply { h.reset(); }
}
