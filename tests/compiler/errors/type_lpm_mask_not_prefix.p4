// error: mask 0xe1 of an lpm key is not a prefix @ 8:20
#include <core.p4>
control c(inout bit<8> x) {
    table t {
        key = { x : lpm; }
        actions = { NoAction; }
        const entries = {
            17 &&& 0xE1 : NoAction();
        }
    }
    apply { t.apply(); }
}
