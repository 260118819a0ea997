// error: cannot assign to parameter 'x' (in) @ 3:13
control c(in bit<8> x) {
    apply { x = 1; }
}
