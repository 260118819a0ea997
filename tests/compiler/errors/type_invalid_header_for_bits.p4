// error: an invalid header cannot be used where bit<16> is expected @ 5:11
#include <core.p4>
extern Limit { Limit(bit<16> max); }
control c() {
    Limit({#}) lim;
    apply { }
}
