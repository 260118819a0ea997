// error: @Stage: duplicate name for structured annotation @ 4:1
#include <core.p4>
@Stage(1)
@Stage[2]
control c() { apply { } }
