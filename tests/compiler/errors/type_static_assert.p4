// error: static assertion failed: needs version 3 @ 4:20
#include <core.p4>
const bit<8> VERSION = 2;
const bool check = static_assert(VERSION == 3, "needs version 3");
