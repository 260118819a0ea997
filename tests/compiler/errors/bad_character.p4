// error: unexpected character '$' @ 2:20
const bit<8> X = 3 $ 4;
