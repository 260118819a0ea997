// error: unexpected ';' @ 4:17
control C(inout bit<8> x) {
    apply {
        x = x + ;
    }
}
