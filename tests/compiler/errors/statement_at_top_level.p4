// error: unexpected '=' @ 2:3
x = 1;
