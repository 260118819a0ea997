// error: duplicate switch label @ 6:13
control c(inout bit<8> x) {
    apply {
        switch (x) {
            1: { x = 2; }
            1: { x = 3; }
        }
    }
}
