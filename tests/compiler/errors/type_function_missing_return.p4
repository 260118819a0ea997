// error: function 'max' does not return a value on all paths @ 2:8
bit<8> max(in bit<8> a, in bit<8> b) {
    if (a > b) {
        return a;
    }
}
