// error: expression is not a compile-time constant @ 5:13
control c(inout bit<8> x) {
    apply {
        bit<8> w = 8;
        bit<w> y = 0;
    }
}
