// error: macro 'ADD' takes 2 argument(s), got 1 @ 3:1
#define ADD(a, b) ((a) + (b))
const bit<8> X = ADD(1);
