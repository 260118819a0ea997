// error: return with a value outside a function that returns one @ 3:18
control c(inout bit<8> x) {
    action a() { return 1; }
    apply { a(); }
}
