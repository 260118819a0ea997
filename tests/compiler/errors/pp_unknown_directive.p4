// error: unknown preprocessor directive '#frobnicate' @ 2:1
#frobnicate
