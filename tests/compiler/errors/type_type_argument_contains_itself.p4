// error: Cell: contains itself as a type argument @ 5:5
#include <core.p4>
extern Cell<T> { Cell(); }
control c() {
    Cell<Cell<bit<8>>>() nested;
    apply { }
}
