// error: 'missing' is not declared @ 4:19
header h_t { bit<8> a; }
control c(inout h_t h) {
    apply { h.a = missing; }
}
