// error: functions cannot call actions @ 8:5
control c(inout bit<8> x) {
    action bump() { x = x + 1; }
    apply { }
}
action global_bump() { }
bit<8> f(in bit<8> v) {
    global_bump();
    return v;
}
