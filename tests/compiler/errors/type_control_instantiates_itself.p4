// error: self-referencing types are not supported: 'loop' within 'loop' @ 4:5
#include <core.p4>
control loop() {
    loop() again;
    apply { again.apply(); }
}
