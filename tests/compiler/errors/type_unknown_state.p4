// error: unknown parser state 'parse_nothing' @ 5:20
#include <core.p4>
parser p(packet_in pkt) {
    state start {
        transition parse_nothing;
    }
}
