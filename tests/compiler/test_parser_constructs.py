"""AST shapes of individual constructs: each snippet is parsed as a whole program."""
import pytest

from p4nic.compiler import ast
from p4nic.compiler.errors import CompileError
from p4nic.compiler.parser import parse, tokenize
from p4nic.compiler.preprocess import preprocess


@pytest.fixture
def parse_text(tmp_path):
    def parse_text(text, name="snippet.p4"):
        path = tmp_path / name
        path.write_text(text)
        return parse(preprocess(str(path)))
    return parse_text


def decl(program, name):
    return next(d for d in program.declarations if getattr(d, "name", None) == name)


def const_value(parse_text, expr, prelude=""):
    program = parse_text(f"{prelude}\nconst bit<32> C = {expr};\n")
    return decl(program, "C").value


def render(e):
    """Fully parenthesised text of an expression, to check precedence and associativity."""
    if isinstance(e, ast.Binary):
        return f"({render(e.left)} {e.op} {render(e.right)})"
    if isinstance(e, ast.Unary):
        return f"({e.op}{render(e.operand)})"
    if isinstance(e, ast.Mux):
        return f"({render(e.cond)} ? {render(e.then)} : {render(e.else_)})"
    if isinstance(e, ast.Cast):
        return f"(cast {render(e.expr)})"
    if isinstance(e, ast.Name):
        return e.name
    if isinstance(e, ast.IntLiteral):
        return str(e.value)
    if isinstance(e, ast.Member):
        return f"{render(e.expr)}.{e.member}"
    if isinstance(e, ast.Slice):
        return f"{render(e.expr)}[{render(e.hi)}:{render(e.lo)}]"
    if isinstance(e, ast.Index):
        return f"{render(e.expr)}[{render(e.index)}]"
    if isinstance(e, ast.MethodCall):
        return f"{render(e.callee)}({', '.join(render(a.value) for a in e.args)})"
    return type(e).__name__


@pytest.mark.parametrize("source, expected", [
    ("a + b * c", "(a + (b * c))"),
    ("a - b - c", "((a - b) - c)"),
    ("a << 2 + b", "(a << (2 + b))"),
    ("a >> 2 >> b", "((a >> 2) >> b)"),
    ("a & b == c", "((a & b) == c)"),
    ("a | b ^ c & d", "(a | (b ^ (c & d)))"),
    ("a < b == c > d", "((a < b) == (c > d))"),
    ("a && b || c && d", "((a && b) || (c && d))"),
    ("a ? b : c ? d : e", "(a ? b : (c ? d : e))"),
    ("-a * ~b", "((-a) * (~b))"),
    ("!a && b", "((!a) && b)"),
    ("a ++ b + c", "((a ++ b) + c)"),
    ("a |+| b |-| c", "((a |+| b) |-| c)"),
    ("(bit<8>) a + b", "((cast a) + b)"),
    ("a.b[3].c[7:0]", "a.b[3].c[7:0]"),
    ("f(a)(b)", "f(a)(b)"),
    ("a % 3 / 2", "((a % 3) / 2)"),
    ("a >= b && a <= c", "((a >= b) && (a <= c))"),
])
def test_precedence_and_associativity(parse_text, source, expected):
    assert render(const_value(parse_text, source)) == expected


@pytest.mark.parametrize("literal, value, width, signed, base", [
    ("5", 5, None, False, 10),
    ("8w5", 5, 8, False, 10),
    ("8s5", 5, 8, True, 10),
    ("0x1F", 31, None, False, 16),
    ("16w0xFF_FF", 65535, 16, False, 16),
    ("0b1010", 10, None, False, 2),
    ("4w0b1_0_1", 5, 4, False, 2),
    ("0o17", 15, None, False, 8),
    ("0d99", 99, None, False, 10),
    ("1_000", 1000, None, False, 10),
])
def test_integer_literals(parse_text, literal, value, width, signed, base):
    lit = const_value(parse_text, literal)
    assert (lit.value, lit.width, lit.signed, lit.base) == (value, width, signed, base)


def test_negative_literal_is_unary_minus(parse_text):
    e = const_value(parse_text, "-8s1")
    assert isinstance(e, ast.Unary) and e.op == "-" and e.operand.signed


def test_shift_right_and_nested_type_arguments(parse_text):
    program = parse_text("extern R<T> { R(bit<32> n); }\n"
                         "control C() { R<bit<8>>(4) r; R<tuple<bit<8>, bool>>(1) t;\n"
                         "  apply { bit<8> x = 8w128 >> 2; bool b = x > 1; } }\n")
    c = decl(program, "C")
    r, t = c.locals
    assert r.type_ref.name == "R" and isinstance(r.type_ref.type_args[0], ast.BitsTypeRef)
    assert isinstance(t.type_ref.type_args[0], ast.TupleTypeRef)
    x, b = c.body.statements
    assert x.init.op == ">>" and b.init.op == ">"


def test_types_and_declarations(parse_text):
    program = parse_text("""
        typedef bit<48> mac_t;
        type bit<32> id_t;
        header h_t { mac_t m; varbit<64> opts; int<8> s; bit b; }
        header_union u_t { h_t a; h_t b; }
        struct s_t { h_t[4] stack; u_t u; bool flag; error e; }
        enum Color { RED, GREEN, }
        enum bit<8> Proto { TCP = 6, UDP = 17 }
        error { Oops }
        match_kind { fancy }
        const int BIG = 1 << 40;
        """)
    assert decl(program, "mac_t").new_type is False and decl(program, "id_t").new_type is True
    fields = decl(program, "h_t").fields
    assert [type(f.type_ref).__name__ for f in fields] == [
        "NamedTypeRef", "VarbitTypeRef", "BitsTypeRef", "BitsTypeRef"]
    assert fields[2].type_ref.signed and fields[3].type_ref.width.value == 1
    assert isinstance(decl(program, "u_t"), ast.HeaderUnionDeclaration)
    stack = decl(program, "s_t").fields[0].type_ref
    assert isinstance(stack, ast.StackTypeRef) and stack.size.value == 4
    assert [m[0] for m in decl(program, "Color").members] == ["RED", "GREEN"]
    proto = decl(program, "Proto")
    assert proto.underlying.width.value == 8 and proto.members[1][1].value == 17
    assert any(isinstance(d, ast.ErrorDeclaration) and d.members == ["Oops"]
               for d in program.declarations)
    assert any(isinstance(d, ast.MatchKindDeclaration) and d.members == ["fancy"]
               for d in program.declarations)


def test_externs_generics_and_abstract_methods(parse_text):
    program = parse_text("""
        extern E<T> {
            E(bit<32> size);
            T get<D>(in D data);
            abstract bit<16> hook(in T x);
        }
        extern void f<X, Y>(out X a, in Y b);
        extern T pick<T>(in T a, in T b);
        control C(inout bit<8> v) {
            E<bit<8>>(5) e = {
                bit<16> hook(in bit<8> x) { return (bit<16>)x + this.get<bit<8>>(x); }
            };
            apply { f<bit<8>, bit<4>>(v, 4w1); v = pick(v, 8w2); }
        }
        """)
    ext = decl(program, "E")
    ctor, get, hook = ext.methods
    assert ctor.return_type is None and ctor.name == "E"
    assert get.type_params == ["D"] and isinstance(get.return_type, ast.NamedTypeRef)
    assert hook.abstract
    pick = decl(program, "pick")
    assert pick.type_params == ["T"] and pick.return_type.name == "T"
    c = decl(program, "C")
    inst = c.locals[0]
    assert isinstance(inst.initializer[0], ast.FunctionDeclaration)
    ret = inst.initializer[0].body.statements[0].value
    call = ret.right
    assert isinstance(call.callee.expr, ast.This) and len(call.type_args) == 1
    generic_call = c.body.statements[0].call
    assert [type(t).__name__ for t in generic_call.type_args] == ["BitsTypeRef", "BitsTypeRef"]


def test_parser_states_and_select(parse_text):
    program = parse_text("""
        #include <core.p4>
        header h_t { bit<8> a; bit<8> b; }
        parser Sub(packet_in p) { state start { transition accept; } }
        parser P(packet_in p, out h_t h) {
            value_set<bit<8>>(4) vs;
            Sub() sub;
            state start {
                p.extract(h);
                sub.apply(p);
                Sub.apply(p);
                transition select(h.a, h.b) {
                    (1, 2): accept;
                    (0x10 &&& 0xF0, _): next;
                    (3 .. 5, default): reject;
                    vs: accept;
                    default: reject;
                }
            }
            state next { }
        }
        """)
    p = decl(program, "P")
    assert isinstance(p.locals[0], ast.ValueSetDeclaration)
    start, next_ = p.states
    assert next_.transition.name == "reject"    # no transition statement: implicit reject
    direct = start.statements[2].call.callee
    assert isinstance(direct, ast.TypeMember) and direct.member == "apply"
    cases = start.transition.cases
    assert [c.state for c in cases] == ["accept", "next", "reject", "accept", "reject"]
    assert isinstance(cases[0].keyset, ast.ListExpression)
    mask, dont_care = cases[1].keyset.elements
    assert mask.op == "&&&" and isinstance(dont_care, ast.DontCare)
    rng, default = cases[2].keyset.elements
    assert rng.op == ".." and isinstance(default, ast.DefaultExpression)
    assert isinstance(cases[3].keyset, ast.Name)
    assert isinstance(cases[4].keyset, ast.DefaultExpression)


def test_table_properties(parse_text):
    program = parse_text("""
        control C(inout bit<8> x, inout bit<8> y) {
            action a(bit<8> v) { x = v; }
            action b() { }
            table t {
                key = { x : exact @name("xx"); y : ternary; }
                actions = { a; @defaultonly b; }
                const default_action = b();
                const entries = {
                    (1, 2 &&& 3) : a(7);
                    priority=5: (2, _) : a(1) @foo;
                    priority=(4 + 1): (3, _) : b();
                }
                size = 64;
                my_custom = 3;
                implementation = ap;
                support_timeout = true;
            }
            apply { }
        }
        """)
    t = decl(program, "C").locals[2]
    key = t.prop("key").value
    assert [k.match_kind for k in key] == ["exact", "ternary"]
    assert key[0].annotation("name").args[0].value == "xx"
    actions = t.prop("actions").value
    assert actions[1].annotation("defaultonly") is not None
    default = t.prop("default_action")
    assert default.const and isinstance(default.value, ast.ActionRef)
    assert default.value.name.name == "b"
    entries = t.prop("entries")
    assert entries.const and len(entries.value) == 3
    first, second, third = entries.value
    assert first.priority is None and first.action.args[0].value.value == 7
    assert second.priority.value == 5 and second.annotation("foo") is not None
    assert isinstance(third.priority, ast.Binary)
    assert t.prop("my_custom").value.value == 3
    assert isinstance(t.prop("implementation").value, ast.Name)
    assert t.prop("support_timeout").value.value is True


def test_statements(parse_text):
    program = parse_text("""
        control C(inout bit<8> x) {
            action a() { }
            table t { actions = { a; } }
            apply {
                x = 1;
                x += 2;
                x |+|= 3;
                (x) = 4;
                if (x == 1) { exit; } else if (x == 2) { return; } else ;
                switch (t.apply().action_run) { a: { } default: { } }
                switch (x) { 1: 2: { x = 3; } }
                @atomic { bit<8> y = x; const bit<8> z = 2; }
                for (bit<8> i = 0; i < 4; i = i + 1) { x = x + i; }
                for (bit<8> j in 1 .. 3) { break; }
            }
        }
        """)
    s = decl(program, "C").body.statements
    assert isinstance(s[0], ast.AssignmentStatement)
    assert s[1].right.op == "+" and s[1].right.left is s[1].left   # one lvalue, evaluated once
    assert s[2].right.op == "|+|"
    assert isinstance(s[3].left, ast.Name)
    assert isinstance(s[4].then.statements[0], ast.ExitStatement)
    assert isinstance(s[4].else_.then.statements[0], ast.ReturnStatement)
    assert isinstance(s[4].else_.else_, ast.EmptyStatement)
    switch = s[5]
    assert switch.expr.member == "action_run"
    assert isinstance(switch.cases[1].label, ast.DefaultExpression)
    fallthrough = s[6].cases[0]
    assert fallthrough.body is None and s[6].cases[1].body is not None
    block = s[7]
    assert block.annotation("atomic") is not None
    assert isinstance(block.statements[0], ast.VariableDeclaration)
    assert isinstance(block.statements[1], ast.ConstantDeclaration)
    loop = s[8]
    assert isinstance(loop, ast.ForStatement) and isinstance(loop.init[0], ast.VariableDeclaration)
    assert isinstance(s[9], ast.ForInStatement) and s[9].collection.op == ".."


def test_expressions_of_every_kind(parse_text):
    program = parse_text("""
        header h_t { bit<8> a; }
        struct s_t { bit<8> a; bit<8> b; }
        enum E { A }
        control C(inout h_t h, inout s_t s) {
            apply {
                s = { a = 1, b = 2 };
                s = { 1, 2 };
                h = {#};
                h = (h_t){#};
                bool v = h.isValid() && E.A == E.A && error.NoError == error.NoError;
                s.a = .h_t.minSizeInBits() == 8 ? 1 : 0;
                s.b = "str" == "str" ? 1 : 0;
                s.a = true ? h.a : 0;
            }
        }
        """)
    s = decl(program, "C").body.statements
    assert isinstance(s[0].right, ast.StructExpression) and s[0].right.fields[1][0] == "b"
    assert isinstance(s[1].right, ast.ListExpression) and len(s[1].right.elements) == 2
    assert isinstance(s[2].right, ast.InvalidHeader)
    assert isinstance(s[3].right, ast.Cast) and isinstance(s[3].right.expr, ast.InvalidHeader)
    cond = s[4].init
    enum_member = cond.left.right.left
    assert isinstance(enum_member, ast.TypeMember) and enum_member.type_ref.name == "E"
    assert isinstance(cond.right.left.type_ref, ast.ErrorTypeRef)
    global_type = s[5].right.cond.left.callee
    assert isinstance(global_type, ast.TypeMember) and global_type.type_ref.global_scope
    assert isinstance(s[6].right.cond.left, ast.StringLiteral)


def test_constructor_calls_and_named_arguments(parse_text):
    program = parse_text("""
        extern Ctr { Ctr(bit<32> n); }
        control Inner(inout bit<8> v)(bit<8> step) { apply { v = v + step; } }
        control Outer(inout bit<8> v) {
            Inner(step = 3) inner;
            apply { inner.apply(v = v); }
        }
        package Pkg(Outer o);
        Pkg(Outer()) main;
        """)
    outer = decl(program, "Outer")
    assert outer.locals[0].args[0].name == "step"
    assert outer.body.statements[0].call.args[0].name == "v"
    main = decl(program, "main")
    assert isinstance(main.args[0].value, ast.ConstructorCall)
    assert decl(program, "Inner").ctor_params[0].name == "step"


def test_annotations_keep_raw_bodies_and_parse_when_possible(parse_text):
    program = parse_text("""
        @name(".global") @id(0x100) @hidden
        @my_structured[k1 = 1, k2 = "v"]
        @free(this is ' not an expression)
        @p4runtime_translation("uri", bit<32>)
        @pragma my_pragma 1 2
        struct s_t { bit<8> a; }
        """)
    anns = {a.name: a for a in decl(program, "s_t").annotations}
    assert anns["name"].args[0].value == ".global" and anns["name"].raw == '".global"'
    assert anns["id"].args[0].value == 256
    assert anns["hidden"].args == [] and anns["hidden"].raw == ""
    assert anns["my_structured"].kv["k2"].value == "v"
    assert anns["free"].args == [] and "not an expression" in anns["free"].raw
    assert isinstance(anns["p4runtime_translation"].args[1], ast.BitsTypeRef)
    assert anns["my_pragma"].raw == "1 2"


def test_type_names_are_tracked_by_scope(parse_text):
    # `T` is a type only inside f's scope; after it, `T` is an ordinary name again, and a
    # parameter may reuse a type's name (hiding the type inside its control).
    program = parse_text("""
        header T_hdr { bit<8> a; }
        extern void f<T>(in T x);
        const bit<8> T = 1;
        control C(inout bit<8> T_hdr) {
            apply { T_hdr = T_hdr + T; }
        }
        """)
    c = decl(program, "C")
    assign = c.body.statements[0]
    assert isinstance(assign.left, ast.Name) and assign.right.right.name == "T"
    assert decl(program, "T").value.value == 1


def test_locations_point_at_names_and_first_tokens(parse_text):
    program = parse_text("\n\nheader h_t {\n    bit<8> a;\n}\n")
    h = decl(program, "h_t")
    assert (h.loc.line, h.loc.column) == (3, 8)
    assert (h.fields[0].loc.line, h.fields[0].loc.column, h.fields[0].loc.text) == (
        4, 12, "    bit<8> a;")


def test_tokenize_marks_type_names_and_angle_brackets(tmp_path):
    path = tmp_path / "t.p4"
    path.write_text("header h_t { bit<8> a; }\nconst bool b = 1 < 2;\n")
    kinds = [(t.type, str(t)) for t in tokenize(preprocess(str(path)))]
    assert ("_L_ANGLE_ARGS", "<") in kinds and ("LESSTHAN", "<") in kinds
    assert ("IDENTIFIER", "h_t") in kinds


@pytest.mark.parametrize("text", [
    "header h_t { bit<8> a; }\n" * 3,        # redeclaration is the type checker's job
    "",                                       # an empty program is a program
    ";;",
])
def test_odd_but_valid_inputs(parse_text, text):
    assert isinstance(parse_text(text), ast.Program)


def test_every_truncation_of_a_program_is_a_clean_error(parse_text, tmp_path):
    text = ("header h_t { bit<8> a; }\ncontrol C(inout h_t h) {\n"
            "  action a(bit<8> v) { h.a = v; }\n  table t { key = { h.a: exact; } "
            "actions = { a; } default_action = a(1); }\n  apply { if (h.isValid()) "
            "{ t.apply(); } }\n}\n")
    for cut in range(1, len(text) - 2, 3):
        truncated = text[:cut]
        if truncated.count("{") == truncated.count("}") and truncated.rstrip().endswith("}"):
            continue    # a complete prefix is a valid program
        with pytest.raises(CompileError) as info:
            parse_text(truncated, name=f"cut{cut}.p4")
        assert info.value.loc is not None and info.value.kind == "syntax"


def test_syntax_error_in_an_included_file_names_that_file(tmp_path):
    (tmp_path / "lib.p4").write_text("// library\nheader h_t {\n    bit<8> a\n}\n")
    main = tmp_path / "main.p4"
    main.write_text('#include "lib.p4"\nconst bit<8> X = 1;\n')
    with pytest.raises(CompileError) as info:
        parse(preprocess(str(main)))
    loc = info.value.loc
    assert (loc.file, loc.line, loc.column, loc.text) == (
        str(tmp_path / "lib.p4"), 3, 13, "    bit<8> a")


def test_plus_slice_is_a_slice_with_computed_high_bit(parse_text):
    e = const_value(parse_text, "x[8 +: 4]", prelude="const bit<32> x = 0;")
    assert isinstance(e, ast.Slice) and render(e.hi) == "((8 + 4) - 1)" and e.lo.value == 8


def test_list_type_in_extern_constructor(parse_text):
    program = parse_text("extern E { E(list<bit<32>> data); }\n"
                         "control C() { E({1, 2, 3}) e; apply { } }\n")
    param = decl(program, "E").methods[0].params[0]
    assert isinstance(param.type_ref, ast.ListTypeRef)
    assert param.type_ref.element.width.value == 32


def test_fields_named_like_their_type_do_not_hide_it(parse_text):
    program = parse_text("header t1 { bit<8> x; }\nstruct s_t { t1 t1; t1 t2; }\n"
                         "control C(inout s_t s) { apply { s.t1.x = s.t2.x; } }\n")
    fields = decl(program, "s_t").fields
    assert [(f.name, f.type_ref.name) for f in fields] == [("t1", "t1"), ("t2", "t1")]


def test_dot_prefix_looks_up_the_global_scope(parse_text):
    # Inside f, X is its type parameter; `.X` is still the global constant.
    program = parse_text("const bit<8> X = 1;\nbit<8> f<X>(in X v) { return .X; }\n")
    ret = decl(program, "f").body.statements[0].value
    assert isinstance(ret, ast.Name) and ret.name == "X" and ret.global_scope


def test_dots_default_initializers(parse_text):
    program = parse_text("struct s_t { bit<8> a; bit<8> b; }\n"
                         "const s_t S = { a = 1, ... };\nconst bit<8> D = ...;\n"
                         "const tuple<bit<8>, bit<8>> T = { 1, ... };\n")
    fields = decl(program, "S").value.fields
    assert fields[0][0] == "a" and fields[1][0] == "..." and isinstance(fields[1][1], ast.Dots)
    assert isinstance(decl(program, "D").value, ast.Dots)
    assert isinstance(decl(program, "T").value.elements[1], ast.Dots)


def test_arrays_of_arrays(parse_text):
    program = parse_text("struct s_t { bit<8>[2][3] grid; }\n")
    grid = decl(program, "s_t").fields[0].type_ref
    assert isinstance(grid, ast.StackTypeRef) and grid.size.value == 3
    assert isinstance(grid.element, ast.StackTypeRef) and grid.element.size.value == 2


def test_typedef_of_a_struct_declaration(parse_text):
    program = parse_text("typedef struct Point { int<32> x; int<32> y; } Pt;\n"
                         "const Pt ORIGIN = { 0, 0 };\n")
    point, pt = program.declarations[:2]
    assert isinstance(point, ast.StructDeclaration) and point.name == "Point"
    assert isinstance(pt, ast.TypedefDeclaration) and pt.type_ref.name == "Point"
    assert decl(program, "ORIGIN").type_ref.name == "Pt"
