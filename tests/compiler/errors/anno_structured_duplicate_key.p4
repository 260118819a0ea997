// error: @Info: duplicate key 'k' @ 3:19
#include <core.p4>
@Info[k=1, j=2, k=3]
control c() { apply { } }
