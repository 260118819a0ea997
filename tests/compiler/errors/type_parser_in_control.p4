// error: a parser cannot be instantiated in a control @ 7:11
#include <core.p4>
parser sub(packet_in pkt) {
    state start { transition accept; }
}
control c(inout bit<8> x) {
    sub() s;
    apply { }
}
