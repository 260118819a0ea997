// error: 'g' is not an abstract method of Virtual @ 8:17
extern Virtual {
    Virtual();
    abstract bit<16> f(in bit<16> ix);
}
control c(inout bit<16> x) {
    Virtual() cntr = {
        bit<16> g(in bit<16> ix) {
            return ix + 1;
        }
    };
    apply { x = cntr.f(x); }
}
