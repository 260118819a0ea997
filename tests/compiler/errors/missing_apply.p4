// error: unexpected '}' @ 4:1
control C(inout bit<8> x) {
    action a() { }
}
