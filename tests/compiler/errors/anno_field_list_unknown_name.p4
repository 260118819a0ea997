// error: 'FL_MISSING' is not declared @ 5:17
#include <core.p4>
const bit<8> FL_KEPT = 1;
struct meta_t {
    @field_list(FL_MISSING) bit<8> kept;
}
