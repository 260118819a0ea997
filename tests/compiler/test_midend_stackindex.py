"""Runtime header-stack indexes: in range they reach the element, out of range the statement is
skipped (reads give 0, conditions are false) as in p4c's output, and BMv2 gets only constant
indexes in actions and conditionals."""
import json

import pytest

from tests.compiler.midend_harness import compile_text, load

PROGRAM = """
#include <core.p4>
#include <v1model.p4>
header idx_t { bit<8> i; bit<8> j; bit<8> r; bit<8> flag; }
header elem_t { bit<8> v; }
struct headers { idx_t x; elem_t[3] s; }
struct metadata { }
parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.x);
        pkt.extract(hdr.s.next); pkt.extract(hdr.s.next); pkt.extract(hdr.s.next);
        transition accept;
    }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    %(locals)s
    apply { %(apply)s }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.x); pkt.emit(hdr.s); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""

ELEMS = bytes([10, 20, 30])


def run(tmp_path, apply: str, i: int, j: int = 0, locals_: str = "") -> bytes:
    bmv2 = compile_text(tmp_path, PROGRAM % {"apply": apply, "locals": locals_})
    [(port, out)] = load(bmv2).process([(0, bytes([i, j, 0xEE, 0xEE]) + ELEMS)])
    assert port == 0
    return out


@pytest.mark.parametrize("i, expected", [(0, [0xAA, 20, 30]), (2, [10, 20, 0xAA]),
                                         (3, [10, 20, 30]), (200, [10, 20, 30])])
def test_write_reaches_the_element_or_is_skipped(tmp_path, i, expected):
    out = run(tmp_path, "hdr.s[hdr.x.i].v = 0xAA;", i)
    assert list(out[4:]) == expected


@pytest.mark.parametrize("i, expected", [(1, 20), (2, 30), (3, 0), (255, 0)])
def test_read_gives_the_element_or_zero(tmp_path, i, expected):
    out = run(tmp_path, "hdr.x.r = hdr.s[hdr.x.i].v;", i)
    assert out[2] == expected


@pytest.mark.parametrize("i, flag", [(1, 1), (0, 2), (7, 2)])
def test_condition_out_of_range_takes_else(tmp_path, i, flag):
    apply = "if (hdr.s[hdr.x.i].v == 20) { hdr.x.flag = 1; } else { hdr.x.flag = 2; }"
    assert run(tmp_path, apply, i)[3] == flag


@pytest.mark.parametrize("i, flag", [(1, 1), (0, 2), (7, 2)])
def test_condition_inside_an_action(tmp_path, i, flag):
    locals_ = """action check() {
        if (hdr.s[hdr.x.i].v == 20) { hdr.x.flag = 1; } else { hdr.x.flag = 2; }
        hdr.x.r = 5;
    }"""
    out = run(tmp_path, "check();", i, locals_=locals_)
    assert (out[3], out[2]) == (flag, 5)


@pytest.mark.parametrize("i, expected", [(2, [10, 20, 31]), (5, [10, 20, 30])])
def test_inout_argument_copies_in_and_out(tmp_path, i, expected):
    locals_ = "action bump(inout bit<8> x) { x = x + 1; }"
    assert list(run(tmp_path, "bump(hdr.s[hdr.x.i].v);", i, locals_=locals_)[4:]) == expected


@pytest.mark.parametrize("i, j, expected", [
    (0, 2, [30, 20, 30]), (2, 1, [10, 20, 20]),
    (0, 9, [0, 20, 30]),   # read out of range: p4c's zero temporary is written
    (9, 1, [10, 20, 30]),  # write out of range: skipped
])
def test_two_runtime_indexes_in_one_statement(tmp_path, i, j, expected):
    assert list(run(tmp_path, "hdr.s[hdr.x.i].v = hdr.s[hdr.x.j].v;", i, j)[4:]) == expected


@pytest.mark.parametrize("i, expected", [(1, [10, 30]), (3, [10, 20, 30])])
def test_set_invalid_at_a_runtime_index(tmp_path, i, expected):
    assert list(run(tmp_path, "hdr.s[hdr.x.i].setInvalid();", i)[4:]) == expected


def test_action_parameter_as_index(tmp_path):
    locals_ = """action put(bit<8> k) { hdr.s[k].v = 0x55; }
        table t { key = { hdr.x.i: exact; } actions = { put; }
                  const entries = { 0: put(1); 1: put(4); } }"""
    assert list(run(tmp_path, "t.apply();", 0, locals_=locals_)[4:]) == [10, 0x55, 30]
    assert list(run(tmp_path, "t.apply();", 1, locals_=locals_)[4:]) == [10, 20, 30]


def runtime_dereferences(node) -> list:
    """Every stack dereference in a JSON subtree whose index is not a constant."""
    found = []
    if isinstance(node, dict):
        if node.get("op") in ("dereference_header_stack", "dereference_union_stack"):
            index = node["right"]
            if index.get("type") != "hexstr":
                found.append(node)
        for value in node.values():
            found += runtime_dereferences(value)
    elif isinstance(node, list):
        for value in node:
            found += runtime_dereferences(value)
    return found


def test_bmv2_json_has_no_runtime_index_left(tmp_path):
    locals_ = """action bump(inout bit<8> x) { x = x + 1; }
        action put(bit<8> k) { hdr.s[k].v = hdr.s[hdr.x.j].v; }
        table t { key = { hdr.x.i: exact; } actions = { put; } }"""
    apply = """bump(hdr.s[hdr.x.i].v);
        if (hdr.s[hdr.x.i].isValid() && hdr.s[hdr.x.j].v == 3) { t.apply(); }"""
    bmv2 = compile_text(tmp_path, PROGRAM % {"apply": apply, "locals": locals_})
    stacked = json.dumps(bmv2["actions"]) + json.dumps(bmv2["pipelines"])
    assert '["s[2]", "v"]' in stacked  # the elements are named directly, as p4c names them
    assert runtime_dereferences(bmv2["actions"]) == []
    assert runtime_dereferences(bmv2["pipelines"]) == []


@pytest.mark.parametrize("i", [0, 2, 9])
def test_index_read_through_another_runtime_index(tmp_path, i):
    # s[i].v is 10, 20 or 30 (or out of range): never a valid index, so nothing is written
    assert list(run(tmp_path, "hdr.s[hdr.s[hdr.x.i].v].v = 1;", i)[4:]) == list(ELEMS)


@pytest.mark.parametrize("i, expected", [(0, [2, 1, 7]), (1, [2, 7, 0]), (5, [2, 1, 0])])
def test_nested_runtime_indexes(tmp_path, i, expected):
    # s[0..2] hold 2, 1, 0 first: s[s[i].v].v = 7 writes through the inner element's value
    apply = "hdr.s[0].v = 2; hdr.s[1].v = 1; hdr.s[2].v = 0; hdr.s[hdr.s[hdr.x.i].v].v = 7;"
    assert list(run(tmp_path, apply, i)[4:]) == expected


UNION_PROGRAM = """
#include <core.p4>
#include <v1model.p4>
header idx_t { bit<8> i; bit<8> r; }
header a_t { bit<8> v; }
header b_t { bit<16> w; }
header_union u_t { a_t a; b_t b; }
struct headers { idx_t x; u_t[2] u; }
struct metadata { }
parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.x); pkt.extract(hdr.u[0].a); pkt.extract(hdr.u[1].a);
                  transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply {
        hdr.x.r = hdr.u[hdr.x.i].a.v;
        if (hdr.u[hdr.x.i].a.isValid()) { hdr.u[hdr.x.i].a.v = 9; }
    }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.x); pkt.emit(hdr.u); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def test_header_union_stack_at_a_runtime_index(tmp_path):
    bmv2 = compile_text(tmp_path, UNION_PROGRAM)
    assert runtime_dereferences(bmv2["actions"]) + runtime_dereferences(bmv2["pipelines"]) == []
    dev = load(bmv2)
    sent = {i: dev.process([(0, bytes([i, 0xEE, 5, 6]))]) for i in (0, 1, 2)}
    assert sent == {0: [(0, bytes([0, 5, 9, 6]))], 1: [(0, bytes([1, 6, 5, 9]))],
                    2: [(0, bytes([2, 0, 5, 6]))]}
