// error: unexpected 'next' @ 6:15
#include <core.p4>
parser P(packet_in b, out bit<8> x) {
    state start {
        transition select(x) {
            1 next;
            default: accept;
        }
    }
    state next { transition accept; }
}
