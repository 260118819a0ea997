// error: NoAction: expected to be an action; did you include core.p4? @ 3:14
match_kind { exact }
const bit<1> NoAction = 0;
control c() {
    table t { actions = { } }
    apply { }
}
