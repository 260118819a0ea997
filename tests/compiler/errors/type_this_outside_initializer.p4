// error: 'this' can only be used in an abstract method's implementati @ 8:18
extern Virtual {
    Virtual();
    void run();
    abstract void hook();
}
control c(inout bit<16> x) {
    action a() { this.run(); }
    apply { a(); }
}
