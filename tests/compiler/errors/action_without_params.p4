// error: expected '(' @ 3:14
control C(inout bit<8> x) {
    action a { x = 1; }
    apply { }
}
