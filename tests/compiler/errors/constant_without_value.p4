// error: unexpected ';'; expected '=' @ 2:15
const bit<8> X;
