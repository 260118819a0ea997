// error: self-referencing types are not supported: 'node_t' within 'node_t' @ 3:31
#include <core.p4>
struct node_t { bit<8> value; node_t next; }
