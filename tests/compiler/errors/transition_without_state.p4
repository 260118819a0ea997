// error: expected 'select', a name @ 5:19
#include <core.p4>
parser P(packet_in b) {
    state start {
        transition;
    }
}
