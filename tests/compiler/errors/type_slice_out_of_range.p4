// error: slice [11:4] is out of range for bit<8> @ 3:17
control c(inout bit<8> x) {
    apply { x = x[11:4] ++ x[3:0]; }
}
