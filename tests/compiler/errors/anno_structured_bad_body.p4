// error: the body of a structured annotation must be a list of expressions or of key=value pairs @ 3:1
#include <core.p4>
@Info[a=1, 2]
control c() { apply { } }
