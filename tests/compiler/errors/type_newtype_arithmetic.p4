// error: cannot apply '+' to values of type addr_t @ 4:17
type bit<32> addr_t;
control c(inout addr_t a, in addr_t b) {
    apply { a = a + b; }
}
