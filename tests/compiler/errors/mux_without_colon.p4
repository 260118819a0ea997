// error: unexpected '8w2' @ 4:21
control C(inout bit<8> x, in bool c) {
    apply {
        x = c ? 8w1 8w2;
    }
}
