// error: structured annotation values must be compile-time constants @ 4:9
#include <core.p4>
extern bit<8> next_id();
@Info[x=next_id()]
control c() { apply { } }
