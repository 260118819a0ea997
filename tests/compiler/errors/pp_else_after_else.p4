// error: #else after #else @ 4:1
#if 1
#else
#else
#endif
