// error: argument does not match the one bound in the actions list @ 7:30
#include <core.p4>
control c(inout bit<8> x, inout bit<8> y) {
    action set(inout bit<8> target, bit<8> v) { target = v; }
    table t {
        actions = { set(x); }
        default_action = set(y, 1);
    }
    apply { t.apply(); }
}
