// error: unterminated string @ 2:7
@name("oops)
struct s_t { bit<8> a; }
