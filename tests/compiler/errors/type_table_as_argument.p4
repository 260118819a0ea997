// error: a table cannot be passed as an argument @ 6:21
#include <core.p4>
extern void inspect<T>(in T value);
control c() {
    table t { actions = { NoAction; } }
    apply { inspect(t); }
}
