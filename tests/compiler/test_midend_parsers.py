"""Parsers as BMv2 parse states: select with masks, ranges, tuples, value sets, lookahead,
header stacks, sub-parsers, verify and varbit extraction, run on the NIC."""
from tests.compiler.midend_harness import compile_text, load

TEMPLATE = """
#include <core.p4>
#include <v1model.p4>
header a_t { bit<8> tag; bit<8> len; }
header b_t { bit<8> v; }
header opt_t { varbit<32> data; }
struct headers { a_t a; b_t[3] bs; b_t c; opt_t opt; }
struct metadata { bit<8> seen; }
%(extra)s
parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    %(locals)s
    %(states)s
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply {
        if (sm.parser_error != error.NoError) { sm.egress_spec = 3; }
        hdr.a.tag = meta.seen;
    }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) {
    apply { pkt.emit(hdr.a); pkt.emit(hdr.bs); pkt.emit(hdr.c); pkt.emit(hdr.opt); }
}
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def parser_device(tmp_path, states, locals_="", extra=""):
    bmv2_json = compile_text(tmp_path, TEMPLATE % {"states": states, "locals": locals_,
                                                   "extra": extra})
    return bmv2_json, load(bmv2_json)


def send(dev, data: bytes):
    out = dev.process([(0, data)])
    return out[0][1] if out else None


def port_of(dev, data: bytes) -> int:
    [(port, _)] = dev.process([(0, data)])
    return port


def test_select_masks_ranges_tuples_and_default(tmp_path):
    states = """
    state start {
        pkt.extract(hdr.a);
        transition select(hdr.a.tag, hdr.a.len) {
            (0x10 &&& 0xF0, _): masked;
            (_, 5 .. 9): ranged;
            (0x01, 0x01): exact;
            default: accept;
        }
    }
    state masked { meta.seen = 1; transition accept; }
    state ranged { meta.seen = 2; transition accept; }
    state exact { meta.seen = 3; transition accept; }
    """
    _, dev = parser_device(tmp_path, states)
    assert send(dev, bytes([0x1F, 0]))[0] == 1
    assert [send(dev, bytes([0, n]))[0] for n in (4, 5, 9, 10)] == [0, 2, 2, 0]
    assert send(dev, bytes([1, 1]))[0] == 3


def test_header_stack_next_last_and_loop(tmp_path):
    states = """
    state start { pkt.extract(hdr.a); transition more; }
    state more {
        pkt.extract(hdr.bs.next);
        transition select(hdr.bs.last.v) { 0: done; default: more; }
    }
    state done { meta.seen = (bit<8>)hdr.bs.lastIndex; transition accept; }
    """
    _, dev = parser_device(tmp_path, states)
    assert send(dev, bytes([9, 9, 7, 0, 0x55])) == bytes([1, 9, 7, 0, 0x55])
    # a fourth element overflows the stack: StackOutOfBounds, ingress sees the error
    assert port_of(dev, bytes([9, 9, 1, 2, 3, 4])) == 3


def test_lookahead_verify_and_value_set(tmp_path):
    locals_ = "value_set<bit<8>>(4) special;"
    states = """
    state start {
        bit<16> peek = pkt.lookahead<bit<16>>();
        verify(peek != 0xFFFF, error.ParserInvalidArgument);
        pkt.extract(hdr.a);
        transition select(hdr.a.tag) { special: sp; default: accept; }
    }
    state sp { meta.seen = 4; transition accept; }
    """
    bmv2_json, dev = parser_device(tmp_path, states, locals_)
    assert bmv2_json["parse_vsets"][0]["name"] == "P.special"
    dev.state.value_sets["P.special"].add(0x42, 0xFF)
    assert send(dev, bytes([0x42, 1]))[0] == 4
    assert send(dev, bytes([0x43, 1]))[0] == 0
    assert port_of(dev, bytes([0xFF, 0xFF])) == 3
    assert port_of(dev, bytes([0xFF])) == 3  # too short for the lookahead


def test_lookahead_of_struct_with_header_stack(tmp_path):
    # issue2465-bmv2.p4's shape: the stack's headers come back valid, fields in packet order
    extra = "struct peek_t { b_t[2] s; bit<8> after; }"
    locals_ = "peek_t p;"
    states = """
    state start {
        p = pkt.lookahead<peek_t>();
        meta.seen = p.s[1].v + p.after;
        pkt.extract(hdr.a);
        transition select(p.s[0].isValid(), p.s[1].isValid(), p.s[0].v) {
            (true, true, 7): seven;
            default: accept;
        }
    }
    state seven { meta.seen = meta.seen + 100; transition accept; }
    """
    _, dev = parser_device(tmp_path, states, locals_, extra)
    assert send(dev, bytes([7, 20, 3, 0xEE]))[0] == 123
    assert send(dev, bytes([8, 20, 3, 0xEE]))[0] == 23
    assert port_of(dev, bytes([7, 20])) == 3  # too short for the lookahead


def test_sub_parser_and_varbit(tmp_path):
    extra = """
    parser Inner(packet_in pkt, out b_t c) {
        state start { pkt.extract(c); transition accept; }
    }
    """
    locals_ = "Inner() inner;"
    states = """
    state start {
        pkt.extract(hdr.a);
        inner.apply(pkt, hdr.c);
        meta.seen = hdr.c.v;
        pkt.extract(hdr.opt, (bit<32>)hdr.a.len * 8);
        transition accept;
    }
    """
    _, dev = parser_device(tmp_path, states, locals_, extra)
    assert send(dev, bytes([0, 2, 0x33, 0xA1, 0xA2, 0xBB])) == bytes([0x33, 2, 0x33, 0xA1,
                                                                        0xA2, 0xBB])


def test_if_in_a_state_splits_it(tmp_path):
    states = """
    state start {
        pkt.extract(hdr.a);
        if (hdr.a.tag == 1) {
            pkt.extract(hdr.c);
            meta.seen = 10;
        } else if (hdr.a.tag == 2) {
            meta.seen = 20;
        }
        meta.seen = meta.seen + 1;
        transition accept;
    }
    """
    _, dev = parser_device(tmp_path, states)
    assert send(dev, bytes([1, 0, 0x77])) == bytes([11, 0, 0x77])
    assert send(dev, bytes([2, 0, 0x77])) == bytes([21, 0, 0x77])
    assert send(dev, bytes([3, 0, 0x77])) == bytes([1, 0, 0x77])


UNION = """
#include <core.p4>
#include <v1model.p4>
header tag_t { bit<8> kind; }
header small_t { bit<8> v; }
header big_t { bit<16> v; }
header_union either_t { small_t small; big_t big; }
struct headers { tag_t tag; either_t u; }
struct metadata { }
parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.tag);
        transition select(hdr.tag.kind) { 1: small; 2: big; default: accept; }
    }
    state small { pkt.extract(hdr.u.small); transition accept; }
    state big { pkt.extract(hdr.u.big); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply {
        if (!hdr.u.isValid()) { sm.egress_spec = 9; }
        else if (hdr.u.small.isValid()) { hdr.u.small.v = hdr.u.small.v + 1; }
        else { hdr.u.big.setInvalid(); }
    }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.tag); pkt.emit(hdr.u); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def test_header_union_extract_validity_and_emit(tmp_path):
    bmv2_json = compile_text(tmp_path, UNION)
    assert [u["name"] for u in bmv2_json["header_unions"]] == ["u"]
    dev = load(bmv2_json)
    assert dev.process([(0, bytes([1, 5, 0xAA]))]) == [(0, bytes([1, 6, 0xAA]))]
    assert dev.process([(0, bytes([2, 5, 6, 0xAA]))]) == [(0, bytes([2, 0xAA]))]
    assert dev.process([(0, bytes([3, 0xAA]))]) == [(9, bytes([3, 0xAA]))]


def test_function_called_in_a_parser_state(tmp_path):
    extra = "bit<8> twice_plus_one(in bit<8> x) { bit<8> y = x + x; return y + 1; }"
    states = """
    state start {
        pkt.extract(hdr.a);
        meta.seen = twice_plus_one(hdr.a.len);
        transition accept;
    }
    """
    _, dev = parser_device(tmp_path, states, extra=extra)
    assert send(dev, bytes([0, 20])) == bytes([41, 20])
