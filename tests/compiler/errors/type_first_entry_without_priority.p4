// error: the first entry must have a priority when others have one @ 9:13
#include <core.p4>
control c(in bit<8> k) {
    action a() { }
    table t {
        key = { k : ternary; }
        actions = { a; }
        entries = {
            1 &&& 0xff : a();
            priority=5: 2 &&& 0xff : a();
        }
    }
    apply { t.apply(); }
}
