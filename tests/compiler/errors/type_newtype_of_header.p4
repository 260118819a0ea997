// error: 'type' applies to bit<W>, int<W>, bool and other 'type's, no @ 3:6
header h_t { bit<8> a; }
type h_t wrapped_t;
