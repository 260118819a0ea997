"""Control bodies as BMv2 tables and conditionals: table results, switches, exit/return,
inlined sub-controls and actions with P4's copy-in/copy-out, const entries, defaults."""
import pytest

from p4nic.compiler.errors import CompileError
from tests.compiler.midend_harness import action_id, compile_text, data_program, load

FIELDS = "bit<8> k; bit<8> r1; bit<8> r2; bit<8> r3;"


def build(tmp_path, apply, locals_="", extra=""):
    bmv2_json = compile_text(tmp_path, data_program(FIELDS, apply, locals_, extra=extra))
    return bmv2_json, load(bmv2_json)


def send(dev, k, r1=0, r2=0, r3=0):
    out = dev.process([(0, bytes([k, r1, r2, r3]))])
    return out[0][1] if out else None


TABLE = """
    action set1(bit<8> v) { hdr.d.r1 = v; }
    action set2(bit<8> v) { hdr.d.r2 = v; }
    action nop() { }
    table t {
        key = { hdr.d.k : exact; }
        actions = { set1; set2; nop; }
        default_action = nop();
    }
"""


def test_switch_on_action_run(tmp_path):
    apply = """
        switch (t.apply().action_run) {
            set1: { hdr.d.r3 = 1; }
            set2: { hdr.d.r3 = 2; }
            default: { hdr.d.r3 = 3; }
        }
    """
    bmv2_json, dev = build(tmp_path, apply, TABLE)
    t = dev.state.tables["I.t"]
    t.add([(1,)], action_id(bmv2_json, "I.set1"), (9,))
    t.add([(2,)], action_id(bmv2_json, "I.set2"), (8,))
    assert send(dev, 1) == bytes([1, 9, 0, 1])
    assert send(dev, 2) == bytes([2, 0, 8, 2])
    assert send(dev, 3) == bytes([3, 0, 0, 3])


def test_hit_miss_in_if_and_in_expressions(tmp_path):
    apply = """
        if (!t.apply().hit) { hdr.d.r3 = 7; }
    """
    bmv2_json, dev = build(tmp_path, apply, TABLE)
    dev.state.tables["I.t"].add([(1,)], action_id(bmv2_json, "I.set1"), (5,))
    assert send(dev, 1) == bytes([1, 5, 0, 0])
    assert send(dev, 2) == bytes([2, 0, 0, 7])

    apply = "bool h = t.apply().hit; hdr.d.r3 = h ? 8w1 : 8w2;"
    bmv2_json, dev = build(tmp_path, apply, TABLE)
    dev.state.tables["I.t"].add([(1,)], action_id(bmv2_json, "I.set1"), (5,))
    assert send(dev, 1) == bytes([1, 5, 0, 1])
    assert send(dev, 2) == bytes([2, 0, 0, 2])


def test_exit_and_return(tmp_path):
    apply = """
        hdr.d.r1 = 1;
        if (hdr.d.k == 1) { exit; }
        if (hdr.d.k == 2) { hdr.d.r2 = 2; return; }
        hdr.d.r3 = 3;
    """
    _, dev = build(tmp_path, apply)
    assert send(dev, 1) == bytes([1, 1, 0, 0])
    assert send(dev, 2) == bytes([2, 1, 2, 0])
    assert send(dev, 0) == bytes([0, 1, 0, 3])


def test_value_switch(tmp_path):
    apply = """
        switch (hdr.d.k) {
            1:
            2: { hdr.d.r1 = 12; }
            5: { hdr.d.r1 = 5; }
            default: { hdr.d.r1 = 99; }
        }
    """
    _, dev = build(tmp_path, apply)
    assert [send(dev, k)[1] for k in (1, 2, 5, 6)] == [12, 12, 5, 99]


def test_sub_control_is_inlined_with_its_own_table_names(tmp_path):
    extra = """
    control Sub(inout bit<8> x)(bit<8> step) {
        action add() { x = x + step; }
        table st { actions = { add; } default_action = add(); }
        apply { st.apply(); }
    }
    """
    locals_ = "Sub(8w1) one; Sub(8w10) ten;"
    apply = "one.apply(hdr.d.r1); ten.apply(hdr.d.r2);"
    bmv2_json, dev = build(tmp_path, apply, locals_, extra)
    assert send(dev, 0, r1=5, r2=5) == bytes([0, 6, 15, 0])
    names = {t["name"] for p in bmv2_json["pipelines"] for t in p["tables"]}
    assert {"I.one.st", "I.ten.st"} <= names
    actions = {a["name"] for a in bmv2_json["actions"]}
    assert {"I.one.add", "I.ten.add"} <= actions


def test_a_table_applied_on_both_branches_with_one_successor(tmp_path):
    # issue986-1-bmv2.p4's shape: p4c merges the applications (one BMv2 table)
    apply = """
        if (hdr.d.k == 0) { t.apply(); } else { t.apply(); }
        hdr.d.r3 = hdr.d.r1 + 1;
    """
    bmv2_json, dev = build(tmp_path, apply, TABLE)
    [pipeline] = [p for p in bmv2_json["pipelines"] if p["name"] == "ingress"]
    assert [t["name"] for t in pipeline["tables"]].count("I.t") == 1
    dev.state.tables["I.t"].add([(0,)], action_id(bmv2_json, "I.set1"), (4,))
    dev.state.tables["I.t"].add([(6,)], action_id(bmv2_json, "I.set1"), (5,))
    assert send(dev, 0) == bytes([0, 4, 0, 5])
    assert send(dev, 6) == bytes([6, 5, 0, 6])
    assert send(dev, 7) == bytes([7, 0, 0, 1])


def test_a_table_applied_twice_with_different_successors_is_a_clear_error(tmp_path):
    with pytest.raises(CompileError) as e:
        build(tmp_path, "t.apply(); hdr.d.r3 = 1; t.apply();", TABLE)
    assert "applied more than once with different successors" in str(e.value)
    extra = """
    control Sub(inout bit<8> x) {
        action inc() { x = x + 1; }
        table st { actions = { inc; } default_action = inc(); }
        apply { st.apply(); }
    }
    """
    with pytest.raises(CompileError) as e:
        build(tmp_path, "one.apply(hdr.d.r1); one.apply(hdr.d.r2);", "Sub() one;", extra)
    assert "applied more than once" in str(e.value) and ":" in str(e.value)
    # one successor, but the instance's parameter is bound to other storage the second time
    with pytest.raises(CompileError) as e:
        build(tmp_path, "if (hdr.d.k == 0) { one.apply(hdr.d.r1); } else { one.apply(hdr.d.r2); }",
              "Sub() one;", extra)
    assert "different successors or arguments" in str(e.value)


def test_copy_in_copy_out_of_action_arguments(tmp_path):
    locals_ = """
        bit<8> c = 12;
        action touch(inout bit<8> v) { hdr.d.r1 = v; c = 24; }
    """
    _, dev = build(tmp_path, "touch(c); touch(c); hdr.d.r2 = c;", locals_)
    # c is copied back from v after each call, so the write of 24 inside is undone
    assert send(dev, 0) == bytes([0, 12, 12, 0])


def test_const_entries_default_action_and_priorities(tmp_path):
    locals_ = """
        action set(bit<8> v) { hdr.d.r1 = v; }
        table t {
            key = { hdr.d.k : ternary; }
            actions = { set; }
            const entries = {
                0x10 &&& 0xF0 : set(1);
                0x11 : set(2);
                _ : set(3);
            }
            const default_action = set(4);
        }
    """
    bmv2_json, dev = build(tmp_path, "t.apply();", locals_)
    assert [send(dev, k)[1] for k in (0x11, 0x12, 0x20)] == [1, 1, 3]
    table = next(t for t in bmv2_json["pipelines"][0]["tables"] if t["name"] == "I.t")
    assert table["default_entry"]["action_const"] is True
    assert table["default_entry"]["action_data"] == ["0x04"]
    assert [e["priority"] for e in table["entries"]] == [1, 2, 3]


def test_loops_with_break_and_continue(tmp_path):
    apply = """
        hdr.d.r1 = 0;
        for (bit<8> i = 1; i <= hdr.d.k; i = i + 1) { hdr.d.r1 = hdr.d.r1 + i; }
        hdr.d.r2 = 0;
        for (bit<8> i = 0; i < 10; i = i + 1) {
            if (i == hdr.d.k) { break; }
            if ((i & 1) == 0) { continue; }
            hdr.d.r2 = hdr.d.r2 + 1;
        }
        hdr.d.r3 = 0;
        for (bit<8> v in 250 .. 255) { hdr.d.r3 = hdr.d.r3 + 1; }
    """
    _, dev = build(tmp_path, apply)
    assert send(dev, 4) == bytes([4, 10, 2, 6])
    assert send(dev, 0) == bytes([0, 0, 0, 6])


def test_run_time_index_into_a_stack_of_header_unions(tmp_path):
    extra = """
        header a_t { bit<8> v; }
        header b_t { bit<16> w; }
        header_union ab_t { a_t a; b_t b; }
    """
    apply = """
        us[0].a.setValid(); us[1].a.setValid();
        us[0].a.v = 0; us[1].a.v = 0;
        us[hdr.d.k & 1].a.v = 5;
        hdr.d.r1 = us[0].a.v;
        hdr.d.r2 = us[1].a.v;
        hdr.d.r3 = us[hdr.d.k & 1].isValid() ? 8w1 : 8w0;
    """
    _, dev = build(tmp_path, apply, "ab_t[2] us;", extra)
    assert send(dev, 0) == bytes([0, 5, 0, 1])
    assert send(dev, 1) == bytes([1, 0, 5, 1])


def test_a_table_hit_as_another_tables_key(tmp_path):
    locals_ = TABLE + """
        action mark(bit<8> v) { hdr.d.r3 = v; }
        table outer {
            key = { t.apply().hit : exact @name("t_hit"); }
            actions = { mark; }
            const entries = { true : mark(1); false : mark(2); }
        }
    """
    bmv2_json, dev = build(tmp_path, "outer.apply();", locals_)
    dev.state.tables["I.t"].add([(1,)], action_id(bmv2_json, "I.set1"), (4,))
    assert send(dev, 1) == bytes([1, 4, 0, 1])
    assert send(dev, 2) == bytes([2, 0, 0, 2])


def test_directionless_int_parameter_of_an_applied_control(tmp_path):
    extra = """
    control AddConst(int a, inout bit<8> b) {
        apply { if (b == a) { b = a + 8w1; } else { b = 1 + a; } }
    }
    """
    _, dev = build(tmp_path, "AddConst.apply(3, hdr.d.r1);", extra=extra)
    assert send(dev, 0, r1=3) == bytes([0, 4, 0, 0])
    assert send(dev, 0, r1=9) == bytes([0, 4, 0, 0])


ORDERED_ENTRIES = """
    action set(bit<8> v) { hdr.d.b = v; }
    table t {
        key = { hdr.d.a : ternary; }
        actions = { set; }
        %(rules)s
        entries = {
            %(entries)s
        }
    }
"""


@pytest.mark.parametrize("rules, entries, winner", [
    # an entry without priority= gets the previous one's minus 1: the first one wins
    ("", "priority=10: 0x01 &&& 0x0f : set(1); 0x01 &&& 0xff : set(2);", 1),
    # smallest wins, +10 per entry: 20, 30, then 5 wins although it comes last
    ("largest_priority_wins = false; priority_delta = 10;",
     "priority=20: 0x01 &&& 0x0f : set(1); 0x01 &&& 0xff : set(2); "
     "priority=5: 0x00 &&& 0x00 : set(3);", 3),
    ("", "priority=1: 0x01 &&& 0x0f : set(1); priority=7: 0x00 &&& 0x00 : set(2);", 2),
])
def test_entry_priorities_as_p4c_orders_them(tmp_path, rules, entries, winner):
    """P4-16 spec 14.2.1.4 as p4c applies it (entryPriorities.cpp), on the NIC."""
    bmv2 = compile_text(tmp_path, data_program(
        "bit<8> a; bit<8> b;", "t.apply();", ORDERED_ENTRIES % {"rules": rules,
                                                                "entries": entries}))
    assert load(bmv2).process([(0, bytes([1, 0]))]) == [(0, bytes([1, winner]))]
