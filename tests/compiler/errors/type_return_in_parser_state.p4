// error: return is not allowed in a parser state @ 5:9
#include <core.p4>
parser p(packet_in pkt) {
    state start {
        return;
    }
}
