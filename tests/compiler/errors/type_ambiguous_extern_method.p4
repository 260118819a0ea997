// error: ambiguous call of method 'put' of Sink @ 10:13
#include <core.p4>
extern Sink {
    Sink();
    void put(in bit<8> value);
    void put(in bit<8> other);
}
control c() {
    Sink() s;
    apply { s.put(1); }
}
