// error: actions cannot be called from parsers @ 6:9
#include <core.p4>
action note() { }
parser p(packet_in pkt) {
    state start {
        note();
        transition accept;
    }
}
