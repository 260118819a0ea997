// error: 'countdown' cannot call itself (a function is not declared inside its own body) @ 4:12
#include <core.p4>
bit<8> countdown(in bit<8> n) {
    return countdown(n - 1);
}
