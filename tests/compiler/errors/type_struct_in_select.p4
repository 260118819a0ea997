// error: a value of type pair_t cannot be used in select @ 6:27
#include <core.p4>
struct pair_t { bit<8> a; bit<8> b; }
parser p(packet_in pkt, inout pair_t pr) {
    state start {
        transition select(pr) {
            default: accept;
        }
    }
}
