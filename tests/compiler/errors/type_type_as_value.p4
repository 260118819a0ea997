// error: syntax error: unexpected '=='; expected '(', '.' or '<' @ 4:27
struct pair_t { bit<8> a; bit<8> b; }
control c(out bool same) {
    apply { same = pair_t == pair_t; }
}
