// error: cannot cast from bit<8> to bool @ 3:17
control c(inout bit<8> x, out bool b) {
    apply { b = (bool)x; }
}
