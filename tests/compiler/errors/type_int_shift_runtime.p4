// error: shifting an int by a run-time amount: give the left operand @ 3:26
control c(inout bit<8> x) {
    apply { x = (bit<8>)(1 << x); }
}
