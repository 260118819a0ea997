// error: expected '.', '}', a type @ 3:5
header h_t {
    a;
}
