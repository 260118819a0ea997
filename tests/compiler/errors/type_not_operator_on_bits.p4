// error: '!' needs a bool, not bit<8> @ 3:17
control c(inout bit<8> x, out bool b) {
    apply { b = !x; }
}
