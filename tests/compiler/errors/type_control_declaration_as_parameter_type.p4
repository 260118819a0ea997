// error: 'inner': a parameter cannot have the type of control Inner; use a control type declaration @ 4:23
#include <core.p4>
control Inner() { apply { } }
control Outer()(Inner inner) { apply { } }
