"""run_midend on its own: what the LoweredProgram holds for a typed program (midend/ir.py)."""
from p4nic.compiler.midend import ir, run_midend
from p4nic.compiler.parser import parse
from p4nic.compiler.preprocess import preprocess
from p4nic.compiler.typecheck import typecheck
from tests.compiler.midend_harness import data_program

EXTRA = """
header u1_t { bit<8> x; }
header u2_t { bit<16> y; }
header_union u_t { u1_t one; u2_t two; }
const bit<8> SEVEN = 3 + 4;
control Sub(inout bit<8> v) {
    action bump() { v = v + SEVEN; }
    table st { actions = { bump; } default_action = bump(); }
    apply { st.apply(); }
}
"""


def lower(tmp_path, text):
    path = tmp_path / "p.p4"
    path.write_text(text)
    return run_midend(typecheck(parse(preprocess(str(path)))))


def test_storage_inlining_and_constants(tmp_path):
    low = lower(tmp_path, data_program(
        "bit<8> a;", "bit<8> local = hdr.d.a; s.apply(local); hdr.d.a = local;",
        "Sub() s; u_t u; u1_t[2] stack;", meta="bit<8> m; bool flag;", extra=EXTRA))
    assert isinstance(low, ir.LoweredProgram)
    scalars = next(t for t in low.header_types if t.name == "scalars_0")
    names = [f[0] for f in scalars.fields]
    assert "userMetadata.m" in names and "userMetadata.flag" in names and "local" in names
    assert sum(f[1] for f in scalars.fields) % 8 == 0  # padded to whole bytes
    assert [u.name for u in low.header_unions] == ["u"]
    assert low.header_stacks[0].headers == ["stack[0]", "stack[1]"]
    [sub_table] = [t for p in low.pipelines for t in p.tables if t.name == "I.s.st"]
    bump = sub_table.default_action
    assert bump.name == "I.s.bump"
    [prim] = bump.primitives
    assert prim.op == "assign"
    # v + SEVEN: the constant is folded and the sum masked back to 8 bits
    total = prim.params[1]
    assert total.op == "&" and total.left.right == ir.Const(7, 8)


def test_control_body_becomes_hidden_tables_and_conditionals(tmp_path):
    low = lower(tmp_path, data_program(
        "bit<8> a;", "if (hdr.d.a == 1) { hdr.d.a = 2; } else { mark_to_drop(sm); }"))
    ingress = low.pipelines[0]
    [cond] = ingress.conditionals
    assert ingress.init_table == cond.name
    true_table = next(t for t in ingress.tables if t.name == cond.true_next)
    false_table = next(t for t in ingress.tables if t.name == cond.false_next)
    assert true_table.hidden and true_table.default_const and not true_table.keys
    assert [p.op for p in true_table.default_action.primitives] == ["assign"]
    assert [p.op for p in false_table.default_action.primitives] == ["mark_to_drop"]
