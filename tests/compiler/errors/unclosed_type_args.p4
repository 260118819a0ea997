// error: expected ',' or '>' @ 4:13
extern R<T> { R(bit<32> n); }
control C() {
    R<bit<8>(4) r;
    apply { }
}
