// error: cannot declare variable 'n' with type int; use bit<W> or int @ 3:17
control c(inout bit<8> x) {
    apply { int n = 3; }
}
