// error: unexpected end of input @ 3:14
struct s_t {
    bit<8> a;
