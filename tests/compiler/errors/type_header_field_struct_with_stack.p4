// error: field 'inner' of header outer_t cannot have type tags_t @ 5:25
#include <core.p4>
header tag_t { bit<8> v; }
struct tags_t { tag_t[2] tags; }
header outer_t { tags_t inner; }
