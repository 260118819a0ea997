// error: unexpected ';' @ 8:17
control C(inout bit<8> x) {
    action a() { }
    table t {
        key = { x: exact; }
        actions = { a; }
        const entries = {
            1 : ;
        }
    }
    apply { t.apply(); }
}
