// error: parser 'p' has no 'start' state @ 3:8
#include <core.p4>
parser p(packet_in pkt) {
    state begin {
        transition accept;
    }
}
