// error: parameter 'y' has a direction but follows directionless ones @ 3:37
control c(inout bit<8> x) {
    action a(bit<8> v, inout bit<8> y) { y = v; }
    apply { a(x, x); }
}
