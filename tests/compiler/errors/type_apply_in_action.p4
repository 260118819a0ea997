// error: apply cannot be called from actions @ 5:18
#include <core.p4>
control c(inout bit<8> x) {
    table t { key = { x : exact; } actions = { NoAction; } }
    action a() { t.apply(); }
    apply { a(); }
}
