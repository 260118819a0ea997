// error: #include expects @ 2:1
#include
