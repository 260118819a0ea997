// error: condition must be a bool, not bit<8> @ 4:13
control c(inout bit<8> x) {
    apply {
        if (x) { x = 1; }
    }
}
