// error: 'register' expects 1 type argument, got 3 @ 4:5
#include <v1model.p4>
control c(inout bit<8> x) {
    register<bit<8>, bit<8>, bit<8>>(4) r;
    apply { }
}
