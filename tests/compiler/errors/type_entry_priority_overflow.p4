// error: table 't': overflow in the priorities computed for its entries (priority_delta) @ 5:11
#include <core.p4>
control c(in bit<8> k) {
    action a() { }
    table t {
        key = { k : ternary; }
        actions = { a; }
        priority_delta = 4;
        entries = {
            priority=5: 1 &&& 0xff : a();
            2 &&& 0xff : a();
        }
    }
    apply { t.apply(); }
}
