// error: 'action_run' is only allowed as the expression of a switch @ 6:13
#include <core.p4>
control c(inout bit<8> x) {
    table t { key = { x : exact; } actions = { NoAction; } }
    apply {
        if (t.apply().action_run == t.apply().action_run) { x = 1; }
    }
}
