// error: action 'set' is @defaultonly and cannot be used in an entry @ 8:31
#include <core.p4>
control c(inout bit<8> x) {
    action set(bit<8> v) { x = v; }
    table t {
        key = { x : exact; }
        actions = { @defaultonly set; NoAction; }
        const entries = { 1 : set(2); }
    }
    apply { t.apply(); }
}
