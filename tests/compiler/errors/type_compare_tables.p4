// error: values of type t cannot be compared @ 5:17
#include <core.p4>
control c(inout bit<8> x, out bool b) {
    table t { key = { x : exact; } actions = { NoAction; } }
    apply { b = t == t; }
}
