// error: cannot find include file 'no_such_file.p4' @ 2:1
#include "no_such_file.p4"
