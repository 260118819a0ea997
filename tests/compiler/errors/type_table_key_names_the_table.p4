// error: 't': a table cannot refer to itself @ 5:17
#include <core.p4>
control c(in bit<8> t) {
    table t {
        key = { t : exact; }
        actions = { NoAction; }
    }
    apply { }
}
