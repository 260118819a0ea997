// error: @hidden should not have any arguments @ 4:5
#include <core.p4>
control c() {
    @hidden(1) action a() { }
    apply { a(); }
}
