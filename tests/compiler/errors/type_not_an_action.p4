// error: 'x' is not an action @ 5:21
control c(inout bit<8> x) {
    table t {
        key = { x : exact; }
        actions = { x; }
    }
    apply { t.apply(); }
}
