// error: @name: the annotation's value must be a string @ 4:11
#include <core.p4>
control c() {
    @name(4 + 1) action a() { }
    apply { a(); }
}
