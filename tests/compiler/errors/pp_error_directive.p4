// error: #error this program needs VERSION 2 @ 4:1
#define VERSION 1
#if VERSION < 2
#error this program needs VERSION 2
#endif
