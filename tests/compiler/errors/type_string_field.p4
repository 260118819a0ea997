// error: field 'name' of s_t cannot have type string @ 4:12
struct s_t {
    bit<8> a;
    string name;
}
