// error: unexpected '>' @ 2:18
struct s_t { bit<> a; }
