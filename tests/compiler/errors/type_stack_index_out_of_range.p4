// error: index 2 is out of range for h_t[2] @ 5:21
header h_t { bit<8> a; }
struct s_t { h_t[2] stack; }
control c(inout s_t s) {
    apply { s.stack[2].a = 1; }
}
