// error: instance 'hits' must be declared with the parser's or contro @ 5:41
#include <v1model.p4>
control c(inout bit<8> x) {
    apply {
        counter(4, CounterType.packets) hits;
    }
}
