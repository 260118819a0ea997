// error: 'on_value' does not implement the abstract method's prototype: parameter 'v' is in, not inout @ 9:14
#include <core.p4>
extern Hook {
    Hook();
    abstract void on_value(inout bit<8> v);
}
control c() {
    Hook() h = {
        void on_value(in bit<8> v) { }
    };
    apply { }
}
