// error: unexpected ';'; expected '(', '.' or '<' @ 5:16
header h_t { bit<8> a; }
control C(inout bit<8> x) {
    apply {
        x = h_t;
    }
}
