// error: parser 'p' never reaches accept or reject @ 3:8
#include <core.p4>
parser p(packet_in pkt) {
    state start {
        transition loop;
    }
    state loop {
        transition start;
    }
}
