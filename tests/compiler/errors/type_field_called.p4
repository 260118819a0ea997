// error: field 'a' of h_t cannot be called @ 4:13
header h_t { bit<8> a; }
control c(inout h_t h) {
    apply { h.a(); }
}
