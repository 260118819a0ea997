// error: could not infer a type for type parameter B of Pair @ 8:15
#include <core.p4>
extern Pair<A, B> {
    Pair(A first);
    B second();
}
control c() {
    Pair(8w1) p;
    apply { }
}
