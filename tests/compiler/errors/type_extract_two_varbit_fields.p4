// error: a and b: a header extracted with its size has one varbit field, not several @ 5:31
#include <core.p4>
header opts_t { varbit<64> a; varbit<64> b; }
parser p(packet_in pkt, out opts_t o) {
    state start { pkt.extract(o, 32); transition accept; }
}
