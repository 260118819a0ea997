"""Type checker: P4 source through preprocess, parse and typecheck; assertions on the types,
resolved names and constant values it records in the tree."""
from pathlib import Path

import pytest

from p4nic.compiler import ast, types as T
from p4nic.compiler.errors import CompileError
from p4nic.compiler.p4info.collect import iter_nodes
from p4nic.compiler.parser import parse
from p4nic.compiler.preprocess import preprocess
from p4nic.compiler.typecheck import typecheck

PROGRAMS = Path(__file__).parent / "programs"
P4SRC = Path(__file__).parents[2] / "p4src"

PRELUDE = """#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dst; bit<48> src; bit<16> ether_type; }
header ipv4_t { bit<4> version; bit<4> ihl; bit<8> ttl; bit<32> src; bit<32> dst; }
header vlan_t { bit<16> tci; bit<16> ether_type; }
struct headers_t { ethernet_t ethernet; vlan_t[2] vlans; ipv4_t ipv4; }
struct meta_t { bit<16> hash; bit<32> value; int<8> delta; bool flag; }
"""


def typed_source(tmp_path, body: str, prelude: str = PRELUDE):
    path = tmp_path / "prog.p4"
    path.write_text(prelude + body)
    return typecheck(parse(preprocess(str(path))))


def control(typed, name):
    return next(d for d in typed.program.declarations if getattr(d, "name", None) == name)


def assignments(node):
    return [n for n in iter_nodes(node) if isinstance(n, ast.AssignmentStatement)]


@pytest.mark.parametrize("path", sorted(PROGRAMS.glob("*.p4")) + sorted(P4SRC.glob("*.p4")),
                         ids=lambda p: p.name)
def test_corpus_programs_typecheck_and_name_the_v1model_blocks(path):
    typed = typecheck(parse(preprocess(str(path), include_dirs=[str(P4SRC / "include")])))
    assert typed.main is not None and typed.main.name == "main"
    assert [b.param for b in typed.blocks] == ["p", "vr", "ig", "eg", "ck", "dep"]
    assert isinstance(typed.block("p").decl, ast.ParserDeclaration)
    assert all(isinstance(b.decl, ast.ControlDeclaration) for b in typed.blocks[1:])
    in_annotations = {id(n) for a in iter_nodes(typed.program) if isinstance(a, ast.Annotation)
                      for n in iter_nodes(a)}
    for node in iter_nodes(typed.program):
        if id(node) in in_annotations:
            continue
        if isinstance(node, ast.Expression) and not isinstance(node, ast.SelectExpression):
            assert node.type is not None, f"untyped {type(node).__name__} at {node.loc}"
        if isinstance(node, ast.Name):
            assert node.decl is not None or isinstance(node.type, T.MatchKindType), node


def test_literals_take_the_width_of_their_context(tmp_path):
    typed = typed_source(tmp_path, """
control C(inout headers_t h, inout meta_t m) {
    apply {
        h.ipv4.ttl = h.ipv4.ttl - 1;
        m.delta = -3;
        m.value = (bit<32>)h.ipv4.ttl + 5;
    }
}""")
    ttl, delta, value = assignments(control(typed, "C").body)
    assert ttl.right.type == T.BitsType(8)
    assert ttl.right.right.type == T.BitsType(8)            # the `1`
    assert delta.right.type == T.BitsType(8, signed=True)
    assert value.right.right.type == T.BitsType(32)


def test_operators_widths(tmp_path):
    typed = typed_source(tmp_path, """
control C(inout headers_t h, inout meta_t m) {
    apply {
        m.value = h.ipv4.ttl ++ h.ethernet.ether_type ++ h.ipv4.ttl;
        m.hash = h.ethernet.dst[47:32];
        m.flag = h.ipv4.src == h.ipv4.dst && h.ipv4.isValid();
        m.value = m.value << 3;
        m.hash = m.hash |+| 16w0xffff;
    }
}""")
    concat, sliced, flag, shift, sat = assignments(control(typed, "C").body)
    assert concat.right.type == T.BitsType(32)
    assert sliced.right.type == T.BitsType(16)
    assert flag.right.type == T.BoolType()
    assert shift.right.type == T.BitsType(32) and shift.right.right.type == T.IntType()
    assert sat.right.type == T.BitsType(16)


def test_names_resolve_to_their_declarations(tmp_path):
    typed = typed_source(tmp_path, """
control C(inout headers_t h, inout meta_t m, inout standard_metadata_t sm) {
    action fwd(bit<9> port) { sm.egress_spec = port; }
    table t {
        key = { h.ipv4.dst : lpm; }
        actions = { fwd; NoAction; }
        default_action = NoAction();
    }
    apply {
        switch (t.apply().action_run) {
            fwd: { m.flag = true; }
            default: { }
        }
        if (t.apply().hit) { mark_to_drop(sm); }
    }
}""")
    c = control(typed, "C")
    fwd, table = c.locals[0], c.locals[1]
    [ref_fwd, ref_none] = table.prop("actions").value
    assert ref_fwd.name.decl is fwd
    assert ref_none.name.decl.name == "NoAction"
    switch = c.body.statements[0]
    assert isinstance(switch.expr.type, T.ActionEnumType)
    assert switch.expr.type.members == ("fwd", "NoAction")
    assert switch.cases[0].label.decl is fwd
    hit = c.body.statements[1].cond
    assert hit.type == T.BoolType()
    param_sm = c.params[2]
    uses = [n for n in iter_nodes(c.body) if isinstance(n, ast.Name) and n.name == "sm"]
    assert uses and all(n.decl is param_sm for n in uses)
    assert typed.type_of(param_sm).name == "standard_metadata_t"


def test_generic_externs_and_methods(tmp_path):
    typed = typed_source(tmp_path, """
parser P(packet_in pkt, out headers_t h, inout meta_t m, inout standard_metadata_t sm) {
    state start {
        pkt.extract(h.ethernet);
        transition select(pkt.lookahead<bit<16>>()) {
            0x8100 &&& 0xefff: vlan;
            default: accept;
        }
    }
    state vlan {
        pkt.extract(h.vlans.next);
        transition select(h.vlans.last.ether_type) {
            0x8100: vlan;
            default: accept;
        }
    }
}
control C(inout headers_t h, inout meta_t m) {
    register<bit<32>>(16) r;
    apply {
        r.read(m.value, 2);
        hash(m.hash, HashAlgorithm.crc16, 16w0, { h.ipv4.src, h.ipv4.dst }, 32w65536);
    }
}""")
    p = control(typed, "P")
    extract = p.states[0].statements[0].call
    assert extract.callee.type == T.FunctionType((typed.type_of(extract.args[0].value),),
                                                 T.VoidType())
    select = p.states[0].transition
    assert select.exprs[0].type == T.BitsType(16)
    assert select.cases[0].keyset.type == T.SetType(T.BitsType(16))
    c = control(typed, "C")
    read, hashed = (s.call for s in c.body.statements)
    assert read.callee.type.params == (T.BitsType(32), T.BitsType(32))
    data = hashed.args[3].value
    assert data.type == T.TupleType((T.BitsType(32), T.BitsType(32)))


def test_constants_enums_and_sizes(tmp_path):
    typed = typed_source(tmp_path, """
const bit<8> BASE = 250;
const bit<8> WRAPPED = BASE + 10;
const int<8> NEGATIVE = -2;
const bit<16> WIDE = (bit<16>)BASE << 4;
const int DEPTH = 2 * 3;
enum bit<8> Proto { TCP = 6, UDP = 17 }
const Proto P = Proto.UDP;
const bit<32> SIZE = ipv4_t.minSizeInBits();
typedef bit<(DEPTH + 2)> small_t;
header h2_t { small_t f; }
""")
    values = {d.name: v for d, v in typed.constants.items()}
    assert values["WRAPPED"] == 4
    assert values["NEGATIVE"] == -2
    assert values["WIDE"] == 4000
    assert values["DEPTH"] == 6
    assert values["P"] == 17
    assert values["SIZE"] == 80
    h2 = control(typed, "h2_t")
    assert h2.fields[0].type_ref.type == T.BitsType(8)
    assert "NoError" == typed.errors[0] and "lpm" in typed.match_kinds


def test_new_types_and_serializable_enums_convert_by_cast(tmp_path):
    typed = typed_source(tmp_path, """
type bit<32> addr_t;
enum bit<16> EtherType { IPV4 = 0x800 }
control C(inout headers_t h, inout meta_t m) {
    apply {
        addr_t a = (addr_t)h.ipv4.src;
        h.ipv4.dst = (bit<32>)a;
        if (h.ethernet.ether_type == (bit<16>)EtherType.IPV4) { m.flag = true; }
    }
}""")
    decl = control(typed, "C").body.statements[0]
    assert isinstance(decl.type_ref.type, T.NewType)
    assert decl.type_ref.type.underlying == T.BitsType(32)


def test_sub_controls_and_direct_application(tmp_path):
    typed = typed_source(tmp_path, """
control Inner(inout meta_t m) { apply { m.flag = true; } }
control Outer(inout meta_t m) {
    Inner() i;
    apply { i.apply(m); Inner.apply(m); }
}""")
    outer = control(typed, "Outer")
    first, second = (s.call for s in outer.body.statements)
    assert isinstance(first.callee.expr.type, T.ControlType)
    assert second.type == T.VoidType()


@pytest.mark.parametrize("body, fragment", [
    ("control C(inout meta_t m) { apply { m.value = m.hash; } }", "expected bit<32>, got bit<16>"),
    ("control C(inout meta_t m) { apply { m.flag = 1; } }", "integer where bool"),
    ("control C(inout meta_t m) { apply { m.value = m.value / m.delta; } }", "different types"),
    ("control C(inout meta_t m) { apply { m.delta = m.delta % 3; } }", "signed"),
    ("control C(inout headers_t h) { apply { h.vlans.push_front(h.ipv4.ttl); } }", "constant"),
    ("control C(in headers_t h) { apply { h.ipv4.setValid(); } }", "cannot assign"),
    ("control C(inout meta_t m) { apply { m.flag = m.hash < m.value; } }", "different types"),
])
def test_type_errors(tmp_path, body, fragment):
    with pytest.raises(CompileError) as info:
        typed_source(tmp_path, body)
    assert fragment in info.value.message
    assert info.value.loc.file.endswith("prog.p4") and info.value.loc.line > 7


def test_part_selects_and_default_initializers(tmp_path):
    typed = typed_source(tmp_path, """
struct pair_t { bit<8> a; bit<16> b; }
const pair_t ZERO = { a = 7, ... };
control C(inout headers_t h, inout meta_t m) {
    apply {
        m.hash = h.ipv4.src[(bit<5>)h.ipv4.ttl +: 16];
        pair_t p = { 1, ... };
        h.vlans = { h.vlans[0], ... };
    }
}""")
    sliced, = assignments(control(typed, "C").body)[:1]
    assert sliced.right.type == T.BitsType(16)
    values = {d.name: v for d, v in typed.constants.items()}
    assert values["ZERO"] == {"a": 7, "b": 0}
    decl = control(typed, "C").body.statements[1]
    assert decl.init.type.name == "pair_t"


def test_switch_on_enum_and_int_comparison(tmp_path):
    typed = typed_source(tmp_path, """
enum bit<8> Kind { A = 1, B = 2 }
control C(inout meta_t m, in Kind k) {
    apply {
        switch (k) {
            Kind.A: { m.flag = true; }
            default: { }
        }
        m.flag = k == 2;
    }
}""")
    compare = assignments(control(typed, "C").body)[-1].right
    assert compare.type == T.BoolType() and compare.right.type == T.BitsType(8)
    with pytest.raises(CompileError, match="switch label of type"):
        typed_source(tmp_path, """
enum bit<8> Kind { A = 1 }
control C(in Kind k, inout meta_t m) { apply { switch (k) { 8w1: { } } } }""")


def test_parsers_and_controls_are_not_instantiated_at_top_level(tmp_path):
    """p4c (typeCheckDecl.cpp): only packages and externs are instantiated at top level; a
    parser or control is instantiated in the package arguments or inside another block."""
    with pytest.raises(CompileError, match="cannot be instantiated at top level") as info:
        typed_source(tmp_path, """
parser P(packet_in p, out headers_t h, inout meta_t m, inout standard_metadata_t s) {
    state start { transition accept; } }
control V(inout headers_t h, inout meta_t m) { apply { } }
control I(inout headers_t h, inout meta_t m, inout standard_metadata_t s) { apply { } }
control D(packet_out p, in headers_t h) { apply { } }
P() parser_instance;
V1Switch(parser_instance, V(), I(), I(), V(), D()) main;
""")
    assert "parser_instance" in info.value.message


def test_main_must_be_a_package(tmp_path):
    with pytest.raises(CompileError, match="package"):
        typed_source(tmp_path, """
extern Thing { Thing(); }
Thing() main;
""")


def test_corner_cases_p4c_accepts(tmp_path):
    # enum members naming earlier ones (issue3616.p4), a zero-size stack's element in
    # minSizeInBits (minsize.p4), a header field called isValid (spec-issue1060.p4), instances
    # inside an initializer block used by its methods (virtual2.p4)
    typed = typed_source(tmp_path, """
enum bit<4> Code { A = 3, B = A + 1, C = (bit<4>)B }
const Code LAST = Code.C;
header empty_t { }
header odd_t { bit<32> isValid; }
extern Stateful { Stateful(); void run(); abstract bit<16> pick(in bit<16> i); }
extern Table16 { Table16(bit<32> size); bit<16> get(in bit<16> i); }
control C(inout odd_t o, out bit<32> size) {
    Stateful() s = {
        Table16(64) storage;
        bit<16> pick(in bit<16> i) { return storage.get(i); }
    };
    apply {
        empty_t[0] none;
        size = none[0].minSizeInBits();
        if (o.isValid()) { o.isValid = o.isValid + 1; }
        s.run();
    }
}""")
    assert {d.name: v for d, v in typed.constants.items()}["LAST"] == 4
    body = control(typed, "C").body.statements
    check = next(s for s in body if isinstance(s, ast.IfStatement))
    [update] = assignments(check.then)
    assert check.cond.type == T.BoolType()
    assert update.left.type == T.BitsType(32) and update.right.type == T.BitsType(32)
    pick = control(typed, "C").locals[0].initializer[1]
    [ret] = [n for n in iter_nodes(pick) if isinstance(n, ast.ReturnStatement)]
    assert ret.value.type == T.BitsType(16)
