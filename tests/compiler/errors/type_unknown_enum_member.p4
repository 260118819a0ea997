// error: 'Blue' is not a member of enum Color @ 4:19
enum Color { Red, Green }
control c(out Color col) {
    apply { col = Color.Blue; }
}
