// error: 'global_inner': a parser or control cannot be instantiated at top level @ 4:9
#include <core.p4>
control inner() { apply { } }
inner() global_inner;
