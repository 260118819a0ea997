// error: missing argument for parameter 'v' @ 4:13
control c(inout bit<8> x) {
    action set(bit<8> v) { x = v; }
    apply { set(); }
}
