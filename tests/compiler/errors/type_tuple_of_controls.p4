// error: C: not supported as a tuple field @ 4:27
#include <core.p4>
control C();
extern void run_all(tuple<C, C> blocks);
