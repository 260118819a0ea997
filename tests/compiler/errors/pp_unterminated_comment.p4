// error: unterminated /* comment @ 3:1
const bit<8> X = 1;
/* this comment
   never ends
