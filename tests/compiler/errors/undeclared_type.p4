// error: is 'foo_t' meant to be a type? @ 4:15
control C(inout bit<8> x) {
    apply {
        foo_t y;
    }
}
