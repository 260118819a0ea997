// error: keyset has 2 components but the key has 1 @ 7:27
#include <core.p4>
control c(inout bit<8> x) {
    table t {
        key = { x : exact; }
        actions = { NoAction; }
        const entries = { (1, 2) : NoAction(); }
    }
    apply { t.apply(); }
}
