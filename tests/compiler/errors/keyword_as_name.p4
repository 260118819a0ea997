// error: 'header' is a keyword @ 3:12
struct s_t {
    bit<8> header;
}
