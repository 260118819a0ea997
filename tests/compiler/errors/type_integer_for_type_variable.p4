// error: could not infer a width: an integer where a value of type T is expected @ 4:17
#include <core.p4>
control c<T>(inout T v) {
    apply { v = 5; }
}
