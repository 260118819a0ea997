// error: unexpected '}' @ 4:1
#include <core.p4>
parser P(packet_in b) {
}
