"""Parsers to BMv2 parse states: extract/set/verify/advance/primitive ops and select transitions.

Sub-parser instances are inlined at their `apply` call: the calling state ends with a
transition into the sub-parser's (renamed) start state, and the sub-parser's `accept` leads to
a new state holding the rest of the caller's state. Transition values and masks are the
byte-padded concatenation of the key fields (JSON_format.md "parsers"). As in p4c
(backends/bmv2/common/parser.cpp stateName), `accept` and `reject` both end parsing
(next_state null).
"""
from __future__ import annotations

from typing import Optional

from p4nic.compiler import ast
from p4nic.compiler import types as T
from p4nic.compiler.midend import ir
from p4nic.compiler.midend.actions import Label, StatementLowering
from p4nic.compiler.midend.flatten import Flattener, as_data, fit, unsupported
from p4nic.compiler.midend.inline import Scope, bind_call
from p4nic.compiler.midend.localvars import (
    CompileTimeLoc, HeaderLoc, ScalarLoc, StackLoc, StructLoc, check_byte_aligned, is_signed,
    width_of)


def to_parser_ops(prims: list) -> list:
    """Primitives of parser statements as parser ops: a field assignment is a `set`, anything
    else runs as a `primitive` op."""
    ops = []
    for p in prims:
        if isinstance(p, Label):
            continue
        if isinstance(p, ir.ParserOp):
            ops.append(p)
        elif p.op == "assign" and isinstance(p.params[0], ir.Field):
            ops.append(ir.ParserOp("set", list(p.params), p.loc))
        else:
            ops.append(ir.ParserOp("primitive", [p], p.loc))
    return ops


def is_packet_method(call: ast.MethodCall, *names) -> bool:
    c = call.callee
    return (isinstance(c, ast.Member) and c.member in names
            and isinstance(T.base_type(c.expr.type), T.ExternType)
            and T.base_type(c.expr.type).name == "packet_in")


class ParserLowering:
    def __init__(self, ctx, parser: ir.Parser):
        self.ctx = ctx
        self.parser = parser
        self.state_names = ctx.state_names

    def instance(self, decl: ast.ParserDeclaration, scope: Scope,
                 accept_target: Optional[str], top: bool) -> Optional[str]:
        """Lower a parser whose apply parameters `scope` binds; returns its start state name."""
        init: list = []
        for d in decl.locals:
            self.local(d, scope, init)
        names = {}
        for st in decl.states:
            base = st.name if top else f"{scope.path.path[-1]}_{st.name}"
            names[st.name] = self.state_names.fresh(base)
        names["accept"] = accept_target
        names["reject"] = None
        if "start" not in names:
            raise unsupported(f"parser {decl.name} has no start state", decl)
        for st in decl.states:
            self.state(st, scope, names, init if st.name == "start" else [])
        return names["start"]

    def local(self, d, scope: Scope, init: list) -> None:
        if scope.find(d) is not None and not isinstance(d, ast.VariableDeclaration):
            return  # declared when this instance was applied before
        if isinstance(d, ast.VariableDeclaration):
            loc = scope.find(d) or self.ctx.storage.alloc(d.name, d.type_ref.type, d.loc)
            scope.bind(d, loc)
            if d.init is not None:
                init.append(ast.AssignmentStatement(ast.Name(d.name, decl=d, type=d.type_ref.type),
                                                    d.init, loc=d.loc))
        elif isinstance(d, ast.ValueSetDeclaration):
            name = scope.path.name(d)
            t = d.element_type.type
            self.ctx.out.parse_vsets.append(ir.ParseValueSet(
                name, packed_width(t, d), scope.folder.int_of(d.size, "value_set size")))
            scope.bind(d, CompileTimeLoc("value_set", name, t))
        elif isinstance(d, ast.Instantiation):
            self.ctx.instantiate(d, scope)
        elif isinstance(d, ast.ConstantDeclaration):
            pass
        else:
            raise unsupported(f"{type(d).__name__} is not supported inside a parser", d)

    def state(self, st: ast.ParserState, scope: Scope, names: dict, init: list) -> None:
        current = ir.ParseState(names[st.name], loc=st.loc)
        self.parser.states.append(current)
        prims: list = []
        lowering = StatementLowering(self.ctx, scope, prims, in_parser=True)
        current = self.statements(init + list(st.statements), current, lowering, scope)
        self.transition(st, current, scope, names, lowering)
        current.ops.extend(to_parser_ops(prims))

    def new_state(self, after: ir.ParseState, suffix: str, loc) -> ir.ParseState:
        state = ir.ParseState(self.state_names.fresh(f"{after.name}_{suffix}"), loc=loc)
        self.parser.states.append(state)
        return state

    def statements(self, stmts: list, current: ir.ParseState, lowering: StatementLowering,
                   scope: Scope) -> ir.ParseState:
        """Lower statements into `current`; a sub-parser call or a run-time `if` ends the state
        (its rest goes on in a new one, p4c's parser inlining and state splitting). Returns
        the state where the statements after these continue."""
        prims = lowering.out

        def flush():
            current.ops.extend(to_parser_ops(prims))
            prims.clear()
        for s in stmts:
            if isinstance(s, ast.MethodCallStatement) and self.is_subparser_apply(s.call, scope):
                flush()
                cont = self.new_state(current, "cont", s.loc)
                start = self.apply_subparser(s.call, scope, lowering, cont.name)
                flush()
                current.transitions = [ir.Transition("default", None, None, 0, start)]
                current = cont
            elif isinstance(s, ast.MethodCallStatement) and is_packet_method(
                    s.call, "extract", "advance", "lookahead"):
                self.packet_call(s.call, lowering)
            elif isinstance(s, ast.BlockStatement):
                flush()
                current = self.statements(s.statements, current, lowering, scope)
            elif isinstance(s, ast.IfStatement) and scope.folder.try_number(s.cond) is None:
                flush()
                current = self.if_(s, current, lowering, scope)
            else:
                lowering.statement(s)
        flush()
        return current

    def if_(self, s: ast.IfStatement, current: ir.ParseState, lowering: StatementLowering,
            scope: Scope) -> ir.ParseState:
        """A run-time `if` splits the state: select on the condition into a state per branch,
        both going on to a common continuation."""
        flat = lowering.flat
        key = flat.temp(T.BitsType(1), "cond")
        lowering.out.append(ir.Primitive("assign", [key.expr, as_data(flat.value(s.cond))],
                                         s.loc))
        current.ops.extend(to_parser_ops(lowering.out))
        lowering.out.clear()
        cont = self.new_state(current, "join", s.loc)
        branches = []
        for suffix, body in (("true", s.then), ("false", s.else_)):
            if body is None:
                branches.append(cont.name)
                continue
            first = self.new_state(current, suffix, body.loc)
            last = self.statements([body], first, lowering, scope)
            last.transitions = [ir.Transition("default", None, None, 0, cont.name)]
            branches.append(first.name)
        current.keys = [key.expr]
        current.transitions = [ir.Transition("hexstr", 1, None, 1, branches[0]),
                               ir.Transition("default", None, None, 0, branches[1])]
        return cont

    def is_subparser_apply(self, call: ast.MethodCall, scope: Scope) -> bool:
        return self.ctx.instance_site(call.callee, scope, "parser") is not None

    def apply_subparser(self, call, scope: Scope, lowering: StatementLowering, cont: str) -> str:
        site = self.ctx.instance_site(call.callee, scope, "parser")
        child = site.scope_in(scope)
        params = [p for p in site.decl.params]
        lowering.bind_params(child, bind_call(scope, params, call.args, call), call,
                             copy_out=False)
        return self.instance(site.decl, child, cont, top=False)

    def packet_call(self, call: ast.MethodCall, lowering: StatementLowering) -> None:
        method = call.callee.member
        flat = lowering.flat
        out = lowering.out
        if method == "extract":
            args = [a.value for a in call.args]
            check_byte_aligned(call.type_args[0].type if call.type_args else args[0].type, call)
            if args[0] is None or isinstance(args[0], ast.DontCare):
                # extract<H>(_): read H and throw it away (a header nobody else uses)
                t = T.base_type(call.type_args[0].type)
                target = ir.ExtractTarget("regular", self.ctx.storage.header("dontcare", t).name)
            else:
                target = self.extract_target(flat, args[0])
            if len(args) == 2:
                out.append(ir.ParserOp("extract_VL", [target, as_data(flat.value(args[1]))],
                                       call.loc))
            else:
                out.append(ir.ParserOp("extract", [target], call.loc))
        elif method == "advance":
            out.append(ir.ParserOp("advance", [as_data(flat.value(call.args[0].value))],
                                   call.loc))
        elif method == "lookahead":
            # read into a temporary anyway: BMv2 then signals PacketTooShort when the packet is
            # shorter than the lookahead, which is what p4c's output does on BMv2
            width = packed_width(call.type, call)
            tmp = self.ctx.storage.alloc("lookahead", T.BitsType(width), call.loc)
            out.append(ir.Primitive("assign", [tmp.expr, ir.Lookahead(0, width)], call.loc))

    def extract_target(self, flat: Flattener, e) -> ir.ExtractTarget:
        if isinstance(e, ast.Member) and e.member == "next":
            base = flat.loc(e.expr)
            if isinstance(base, StackLoc) and not base.of_unions:
                return ir.ExtractTarget("stack", base.name)
        if (isinstance(e, ast.Member) and isinstance(e.expr, ast.Member)
                and e.expr.member == "next"):
            base = flat.loc(e.expr.expr)
            if isinstance(base, StackLoc) and base.of_unions:
                return ir.ExtractTarget("union_stack", (base.name, e.member))
        loc = flat.loc(e)
        if isinstance(loc, HeaderLoc) and loc.name is not None:
            return ir.ExtractTarget("regular", loc.name)
        raise unsupported("extract needs a header, a stack's 'next' or a union member", e)

    # -- transitions ---------------------------------------------------------------------------
    def transition(self, st: ast.ParserState, state: ir.ParseState, scope: Scope, names: dict,
                   lowering: StatementLowering) -> None:
        tr = st.transition
        if tr is None:
            return
        if isinstance(tr, ast.Name):
            state.transitions = [ir.Transition("default", None, None, 0, names[tr.name])]
            return
        if not isinstance(tr, ast.SelectExpression):
            raise unsupported("unsupported transition", tr)
        flat = lowering.flat
        keys, widths = [], []
        for e in tr.exprs:
            keys.append(self.select_key(flat, e))
            widths.append(width_of(e.type))
        state.keys = keys
        for case in tr.cases:
            state.transitions.extend(self.select_case(case, widths, scope, names))

    def select_key(self, flat: Flattener, e) -> ir.LExpr:
        if isinstance(e, ast.MethodCall) and is_packet_method(e, "lookahead"):
            return ir.Lookahead(0, width_of(e.type))
        if (isinstance(e, ast.Member) and isinstance(e.expr, ast.Member)
                and e.expr.member == "last"):
            base = flat.loc(e.expr.expr)
            if isinstance(base, StackLoc) and not base.of_unions:
                return ir.StackField(base.name, e.member, width_of(e.type))
        loc = flat.loc(e)
        if isinstance(loc, ScalarLoc) and isinstance(loc.expr, (ir.Field, ir.Lookahead)):
            return loc.expr
        tmp = flat.temp(e.type, "tmp")
        value = loc.expr if isinstance(loc, ScalarLoc) else flat.value(e)
        flat.sink.append(ir.Primitive("assign", [tmp.expr, as_data(value)], e.loc))
        return tmp.expr

    def select_case(self, case: ast.SelectCase, widths: list, scope: Scope, names: dict) -> list:
        """The transitions of one select case: one, or several when ranges become masks."""
        if case.state not in names:
            raise unsupported(f"unknown state '{case.state}'", case)
        nxt = names[case.state]
        ks = case.keyset
        total_bytes = sum((w + 7) // 8 for w in widths)
        if isinstance(ks, (ast.DefaultExpression, ast.DontCare)):
            return [ir.Transition("default", None, None, 0, nxt)]
        if isinstance(ks, ast.Name) and isinstance(ks.decl, ast.ValueSetDeclaration):
            vs = scope.find(ks.decl)
            return [ir.Transition("parse_vset", vs.value, None, total_bytes, nxt)]
        parts = ks.elements if isinstance(ks, ast.ListExpression) and len(widths) > 1 else [ks]
        if isinstance(ks, ast.ListExpression) and len(widths) == 1 and len(ks.elements) == 1:
            parts = ks.elements
        combos = [(0, 0, True)]  # (value, mask, exact) of the key parts so far
        for part, w in zip(parts, widths):
            shift = 8 * ((w + 7) // 8)
            combos = [((v << shift) | pv, (m << shift) | pm, exact and pm == (1 << w) - 1)
                      for v, m, exact in combos for pv, pm in self.keyset_part(part, w, scope)]
        out = []
        for value, mask, exact in combos:
            if mask == 0:
                out.append(ir.Transition("default", None, None, 0, nxt))
            else:
                out.append(ir.Transition("hexstr", value, None if exact else mask, total_bytes,
                                         nxt))
        return out

    @staticmethod
    def keyset_part(part, width: int, scope: Scope) -> list:
        """(value, mask) alternatives matching one key part."""
        full = (1 << width) - 1
        if isinstance(part, (ast.DefaultExpression, ast.DontCare)):
            return [(0, 0)]
        if isinstance(part, ast.Binary) and part.op == "&&&":
            m = scope.folder.int_of(part.right, "select mask") & full
            return [(scope.folder.int_of(part.left, "select value") & m, m)]
        if isinstance(part, ast.Binary) and part.op == "..":
            return range_masks(scope.folder.int_of(part.left, "range bound") & full,
                               scope.folder.int_of(part.right, "range bound") & full, width)
        return [(scope.folder.int_of(part, "select value") & full, full)]


def range_masks(lo: int, hi: int, width: int) -> list:
    """lo..hi as the fewest aligned (value, mask) blocks, as BMv2 parsers only match masks."""
    full = (1 << width) - 1
    out = []
    while lo <= hi:
        size = lo & -lo if lo else 1 << width
        while lo + size - 1 > hi:
            size >>= 1
        out.append((lo, full ^ (size - 1)))
        lo += size
    return out


def packed_width(t, node) -> int:
    """Width in bits of a value of type t laid out in a packet (value sets, lookahead)."""
    try:
        return T.base_type(t).width()
    except TypeError:
        raise unsupported(f"{t} has no fixed width in a packet", node) from None


def lookahead_value(flat: Flattener, e: ast.MethodCall):
    """`packet.lookahead<T>()`. An aggregate is read whole into a temporary and taken apart
    by slices, its headers valid — as p4c's midend output does; one BMv2 lookahead per field
    would not do, as BMv2 checks only a lookahead's width against the bytes left, not its
    offset (bm_sim/parser.cpp, ParserOpSet<ParserLookAhead>)."""
    t = T.base_type(e.type)
    if not isinstance(t, (T.StructLike, T.StackType)):
        return ScalarLoc(ir.Lookahead(0, packed_width(t, e)), e.type)
    width = packed_width(t, e)
    tmp = flat.temp(T.BitsType(width), "lookahead")
    flat.sink.append(ir.Primitive("assign", [tmp.expr, ir.Lookahead(0, width)], e.loc))
    loc, _ = sliced_layout(tmp.expr, width, t, 0, e)
    return loc


def sliced_layout(whole: ir.LExpr, width: int, t, offset: int, node) -> tuple:
    """(Loc of the value of type t that starts `offset` bits into the packed bits `whole` of
    `width` bits, its own width)."""
    b = T.base_type(t)
    if isinstance(b, T.HeaderUnionType):
        raise unsupported("lookahead of a header union is not supported on BMv2", node)
    if isinstance(b, (T.StructLike, T.StackType)):
        keys = ([f.name for f in b.fields] if isinstance(b, T.StructLike)
                else list(range(b.size)))
        types = ([f.type for f in b.fields] if isinstance(b, T.StructLike)
                 else [b.element] * b.size)
        fields, start = {}, offset
        for key, ft in zip(keys, types):
            fields[key], w = sliced_layout(whole, width, ft, offset, node)
            offset += w
        return StructLoc(b, fields), offset - start
    w = packed_width(t, node)
    shift = width - offset - w
    shifted = ir.Op(">>", whole, ir.Const(shift)) if shift else whole
    bits = ir.Op("&", shifted, ir.Const((1 << w) - 1, w), width=w)
    return ScalarLoc(fit(bits, t) if is_signed(t) else bits, t), w
