// error: the loop variable has type bit<8>, but the elements are bit<16> @ 5:21
#include <core.p4>
control c(inout bit<8> total) {
    apply {
        for (bit<8> i in 16w0 .. 16w3) { total = total + 1; }
    }
}
