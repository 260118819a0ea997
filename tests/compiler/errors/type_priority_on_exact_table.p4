// error: the keys of table 't' do not use priorities, but an entry gi @ 8:22
#include <core.p4>
control c(inout bit<8> x) {
    table t {
        key = { x : exact; }
        actions = { NoAction; }
        const entries = {
            priority=10: 1 : NoAction();
        }
    }
    apply { t.apply(); }
}
