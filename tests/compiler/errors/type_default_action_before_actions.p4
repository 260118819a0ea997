// error: table 't' has no action list yet where its default action is given; list the actions first @ 6:9
#include <core.p4>
control c() {
    action a() { }
    table t {
        default_action = a();
        actions = { a; }
    }
    apply { t.apply(); }
}
