// error: expected ',' or '}' @ 2:15
enum E { A, B C }
