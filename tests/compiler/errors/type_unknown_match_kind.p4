// error: unknown match kind 'fuzzy' @ 5:17
#include <core.p4>
control c(inout bit<8> x) {
    table t {
        key = { x : fuzzy; }
        actions = { NoAction; }
    }
    apply { t.apply(); }
}
