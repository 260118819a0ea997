// error: cannot declare a variable of type register; instantiate it i @ 5:26
#include <v1model.p4>
control c(inout bit<8> x) {
    apply {
        register<bit<8>> r;
    }
}
