// error: unexpected 'else' @ 5:9
control C(inout bit<8> x) {
    apply {
        x = 1;
        else { x = 2; }
    }
}
