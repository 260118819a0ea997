// error: it is declared in <core.p4>: is an #include missing? @ 2:10
parser P(packet_in p) {
    state start { transition accept; }
}
