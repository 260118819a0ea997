// error: #endif without #if @ 3:1
const bit<8> X = 1;
#endif
