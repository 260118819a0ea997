// error: 'NoSuchError' is not a member of error @ 4:17
#include <core.p4>
control c(out error e) {
    apply { e = error.NoSuchError; }
}
