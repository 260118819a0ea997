// error: unexpected '{' @ 2:14
@ struct s_t { bit<8> a; }
