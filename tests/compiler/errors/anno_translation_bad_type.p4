// error: @p4runtime_translation takes a URI string and bit<W>, string or an integer @ 3:43
#include <core.p4>
@p4runtime_translation("p4nic.test/port", bool)
type bit<9> port_t;
