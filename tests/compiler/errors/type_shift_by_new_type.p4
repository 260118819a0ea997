// error: the right operand of a shift must be bit<S> or a non-negative integer constant, not amount_t @ 5:22
#include <core.p4>
type bit<8> amount_t;
control c(inout bit<32> x, in amount_t n) {
    apply { x = x << n; }
}
