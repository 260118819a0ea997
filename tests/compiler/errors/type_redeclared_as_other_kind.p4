// error: 'check' is declared again as a different kind of thing @ 4:6
#include <core.p4>
control check(in bit<8> x) { apply { } }
bool check() { return true; }
