// error: #define needs a macro name @ 2:1
#define 3
