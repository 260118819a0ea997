// error: 'next' of a header stack can only be used in a parser @ 5:13
header h_t { bit<8> a; }
struct s_t { h_t[2] stack; }
control c(inout s_t s) {
    apply { s.stack.next.a = 1; }
}
