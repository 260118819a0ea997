// error: bad #if expression @ 2:1
#if 1 +
#endif
