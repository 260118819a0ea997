// error: a switch label follows the 'default' label @ 6:13
control c(inout bit<8> x) {
    apply {
        switch (x) {
            default: { x = 0; }
            1: { x = 2; }
        }
    }
}
