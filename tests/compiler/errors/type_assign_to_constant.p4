// error: cannot assign to 'LIMIT' @ 4:13
const bit<8> LIMIT = 3;
control c(inout bit<8> x) {
    apply { LIMIT = x; }
}
