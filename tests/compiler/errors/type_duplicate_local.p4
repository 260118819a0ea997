// error: 'y' is already declared in this scope @ 5:17
control c(inout bit<8> x) {
    apply {
        bit<8> y = 1;
        bit<16> y = 2;
    }
}
