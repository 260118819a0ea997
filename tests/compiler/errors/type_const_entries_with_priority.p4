// error: table 't' has const entries, which cannot have priorities @ 9:22
#include <core.p4>
control c(in bit<8> k) {
    action a() { }
    table t {
        key = { k : ternary; }
        actions = { a; }
        const entries = {
            priority=5: 2 &&& 0xff : a();
        }
    }
    apply { t.apply(); }
}
