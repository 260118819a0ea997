// error: @match: the value must be a match_kind @ 4:12
#include <core.p4>
struct key_t {
    @match(1 + 1) bit<16> port;
}
