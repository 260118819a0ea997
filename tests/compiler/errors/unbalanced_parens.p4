// error: expected ')' @ 2:30
const bit<8> X = (1 + (2 * 3);
