// error: initializers are only allowed for extern instances @ 5:13
#include <core.p4>
control inner() { apply { } }
control outer() {
    inner() i = { };
    apply { i.apply(); }
}
