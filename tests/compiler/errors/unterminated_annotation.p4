// error: unterminated body of annotation @name @ 2:6
@name("x"
struct s_t { bit<8> a; }
