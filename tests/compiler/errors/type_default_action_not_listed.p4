// error: default action 'a' is not in the actions list of table 't' @ 8:26
#include <core.p4>
control c(inout bit<8> x) {
    action a() { }
    table t {
        key = { x : exact; }
        actions = { NoAction; }
        default_action = a();
    }
    apply { t.apply(); }
}
