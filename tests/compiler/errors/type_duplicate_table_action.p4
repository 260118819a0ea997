// error: action 'NoAction' is listed twice in table 't' @ 6:31
#include <core.p4>
control c(inout bit<8> x) {
    table t {
        key = { x : exact; }
        actions = { NoAction; NoAction; }
    }
    apply { t.apply(); }
}
