// error: initializer of s_t lacks field 'b' @ 4:17
struct s_t { bit<8> a; bit<8> b; }
control c(inout s_t s) {
    apply { s = { a = 1 }; }
}
