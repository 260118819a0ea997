// error: illegal type bit<8> for a structured annotation value @ 4:12
#include <core.p4>
const bit<8> WIDE = 8;
@Info[size=WIDE]
control c() { apply { } }
