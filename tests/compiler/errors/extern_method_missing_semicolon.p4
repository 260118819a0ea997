// error: missing ';' after ')' @ 4:15
extern E {
    E();
    void run()
}
