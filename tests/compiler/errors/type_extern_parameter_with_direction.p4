// error: 'b': a parameter with type Box cannot have a direction @ 4:18
#include <core.p4>
extern Box { Box(); }
control c(in Box b) { apply { } }
