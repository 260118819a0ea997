// error: could not infer a width @ 5:20
#include <core.p4>
extern void record<T>(in T value);
control c() {
    apply { record(7); }
}
