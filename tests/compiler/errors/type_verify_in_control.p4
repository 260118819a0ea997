// error: verify() may only be invoked in parsers @ 4:13
#include <core.p4>
control c(inout bit<8> x) {
    apply { verify(x == 0, error.NoMatch); }
}
