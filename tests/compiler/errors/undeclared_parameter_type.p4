// error: 'foo_t' is not a declared type @ 2:17
control C(inout foo_t x) {
    apply { }
}
