// error: 'break' outside a for loop @ 5:13
control c(inout bit<8> x) {
    apply {
        if (x == 0) {
            break;
        }
    }
}
