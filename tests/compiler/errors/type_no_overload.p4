// error: no overload of 'mark_to_drop' takes 2 arguments @ 4:13
#include <v1model.p4>
control c(inout standard_metadata_t sm) {
    apply { mark_to_drop(sm, sm); }
}
