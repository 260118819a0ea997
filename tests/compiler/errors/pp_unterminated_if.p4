// error: unterminated conditional directive @ 2:1
#ifdef FOO
const bit<8> X = 1;
