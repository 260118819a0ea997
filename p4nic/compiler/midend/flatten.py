"""Flattening: P4 expressions and assignments into what BMv2 primitives compute.

BMv2 computes with arbitrary-precision integers and truncates only when it stores into a
field, so every operation whose result could leave its P4 width is masked (`&`) or, for
int<W>, reduced with `two_comp_mod` — as p4c's ArithmeticFixup does
(backends/bmv2/common/expression.cpp). Booleans and data are distinct in BMv2 (`d2b`/`b2d`
convert). Struct values are taken apart, assignments of structs become one assignment per
field, header copies `assign_header`, slices shifts and masks, `++` shifts and ors, casts
masks or `two_comp_mod`, `?:` BMv2's `?`. Side effects an expression needs first (function
calls) are emitted into `sink` before the primitive that uses the value.
"""
from __future__ import annotations

from dataclasses import dataclass

from p4nic.compiler import ast
from p4nic.compiler import types as T
from p4nic.compiler.errors import CompileError
from p4nic.compiler.midend import ir
from p4nic.compiler.midend.localvars import (
    CompileTimeLoc, HeaderLoc, InvalidLoc, Loc, ScalarLoc, StackLoc, StructLoc, UnionLoc,
    const_for, header_fields, is_scalar, is_signed, scalar_width, width_of)


def unsupported(msg: str, node) -> CompileError:
    return CompileError(msg, getattr(node, "loc", None), "unsupported")


def mask(width: int) -> int:
    return (1 << width) - 1


def as_bool(x: ir.LExpr) -> ir.LExpr:
    if x.is_bool:
        return x
    if isinstance(x, ir.Const):
        return ir.BoolConst(bool(x.value))
    return ir.Op("d2b", None, x, is_bool=True)


def as_data(x: ir.LExpr) -> ir.LExpr:
    if isinstance(x, ir.BoolConst):
        return ir.Const(int(x.value), 1)
    if x.is_bool:
        if isinstance(x, ir.Op) and x.op == "d2b":
            return x.right
        return ir.Op("b2d", None, x, width=1)
    return x


def fit(x: ir.LExpr, t: T.P4Type) -> ir.LExpr:
    """Bring an arbitrary-precision result back into the range of bit/int type t."""
    b = T.base_type(t)
    if not isinstance(b, T.BitsType):
        return x
    if isinstance(x, ir.Const):
        v = x.value & mask(b.w)
        if b.signed and v >> (b.w - 1):
            v -= 1 << b.w
        return ir.Const(v, b.w, b.signed)
    if b.signed:
        return ir.Op("two_comp_mod", x, ir.Const(b.w), width=b.w, signed=True)
    return ir.Op("&", x, ir.Const(mask(b.w), b.w), width=b.w)


@dataclass
class SliceLoc(Loc):
    """`x[hi:lo]` as an assignment target: BMv2 has no bit-range store, so writing one reads,
    masks and writes the whole of x."""
    base: ScalarLoc
    hi: int
    lo: int


def has_call(e) -> bool:
    """Whether evaluating e calls a function or action (which may have side effects)."""
    if isinstance(e, ast.MethodCall):
        callee = e.callee
        return not (isinstance(callee, ast.Member) and callee.member in ("isValid", "lookahead"))
    if isinstance(e, ast.Node):
        return any(has_call(getattr(e, f)) for f in e.__dataclass_fields__
                   if f not in ("loc", "type", "decl"))
    if isinstance(e, (list, tuple)):
        return any(has_call(x) for x in e)
    return False


class Flattener:
    """Lowers expressions of one scope. `scope` resolves names (inline.Scope); `world` is the
    whole lowering (storage, externs, function inlining); `sink` receives primitives that must
    run before the value is used."""

    def __init__(self, world, scope, sink: list, in_parser: bool = False):
        self.world = world
        self.scope = scope
        self.sink = sink
        self.in_parser = in_parser
        self.evaluated: dict = {}  # id(expression) -> Loc already computed (compound assignment)

    # -- locations -----------------------------------------------------------------------------
    def loc(self, e: ast.Expression) -> Loc:
        """Where the value of e lives, or (for rvalues) a ScalarLoc/StructLoc holding it."""
        if id(e) in self.evaluated:
            return self.evaluated[id(e)]
        if isinstance(e, ast.Name):
            return self.scope.lookup(e)
        if isinstance(e, ast.Member):
            return self.member(e)
        if isinstance(e, ast.Index):
            return self.index(e)
        if isinstance(e, (ast.ListExpression, ast.StructExpression)):
            return self.aggregate(e)
        if isinstance(e, ast.InvalidHeader):
            return InvalidLoc(e.type)
        if isinstance(e, ast.MethodCall):
            return self.call_value(e)
        if isinstance(e, ast.Cast) and not is_scalar(e.type):
            return self.loc(e.expr)
        if isinstance(e, ast.Slice) and isinstance(e.expr, (ast.Name, ast.Member, ast.Index,
                                                            ast.Slice)):
            base = self.loc(e.expr)
            hi = self.scope.folder.int_of(e.hi, "slice bound")
            lo = self.scope.folder.int_of(e.lo, "slice bound")
            if isinstance(base, SliceLoc):
                return SliceLoc(base.base, base.lo + hi, base.lo + lo)
            if isinstance(base, ScalarLoc):
                return SliceLoc(base, hi, lo)
        return ScalarLoc(self.value(e), e.type)

    def member(self, e: ast.Member) -> Loc:
        if id(e) in self.world.table_results:  # hoisted t.apply().hit (controls.py)
            tmp, negate = self.world.table_results[id(e)]
            x = as_bool(tmp.expr)
            return ScalarLoc(ir.Op("not", None, x, is_bool=True) if negate else x, e.type)
        n = self.scope.folder.try_number(e) if is_scalar(e.type) else None
        if n is not None:  # enum and error members, a stack's size, constant struct fields
            return ScalarLoc(const_for(n, e.type), e.type)
        base = self.loc(e.expr)
        if isinstance(base, StructLoc):
            if e.member not in base.fields:
                raise unsupported(f"no field '{e.member}' here", e)
            return base.fields[e.member]
        if isinstance(base, UnionLoc):
            return base.members[e.member]
        if isinstance(base, HeaderLoc):
            if base.type.field(e.member) is None:
                raise unsupported(f"header {base.type} has no field '{e.member}'", e)
            return self.header_member(base, e.member)
        if isinstance(base, StackLoc):
            return self.stack_member(base, e)
        if isinstance(base, ScalarLoc) and isinstance(base.expr, ir.Const):
            return base
        raise unsupported(f"cannot take member '{e.member}' of this value on BMv2", e)

    def stack_member(self, s: StackLoc, e: ast.Member) -> Loc:
        stack = ir.UnionStackRef(s.name) if s.of_unions else ir.StackRef(s.name)
        last = ir.Op("last_stack_index", None, stack, width=32)
        if e.member == "size":
            return ScalarLoc(ir.Const(len(s.elements), 32), T.BitsType(32))
        if e.member == "lastIndex":
            return ScalarLoc(last, T.BitsType(32))
        if e.member == "last":
            return self.dynamic_element(s, last, e)
        if e.member == "next":
            raise unsupported("'next' is only supported as the argument of extract", e)
        raise unsupported(f"unknown stack member '{e.member}'", e)

    def dynamic_element(self, s: StackLoc, index: ir.LExpr, node) -> Loc:
        elem = T.base_type(s.type.element)
        if s.of_unions:
            union = ir.Op("dereference_union_stack", ir.UnionStackRef(s.name), index)
            members = {f.name: HeaderLoc(ir.Op("access_union_header", union, i), T.base_type(f.type))
                       for i, f in enumerate(elem.fields)}
            return UnionLoc(None, elem, members, union)
        return HeaderLoc(ir.Op("dereference_header_stack", ir.StackRef(s.name), index), elem)

    def index(self, e: ast.Index) -> Loc:
        base = self.loc(e.expr)
        if isinstance(base, StructLoc):  # tuple element
            return base.fields[self.scope.folder.int_of(e.index, "tuple index")]
        if not isinstance(base, StackLoc):
            raise unsupported("indexing is only supported on header stacks and tuples", e)
        n = self.scope.folder.try_number(e.index)
        if n is not None:
            if not 0 <= n < len(base.elements):
                raise CompileError(f"index {n} out of bounds for {base.type}", e.loc, "type")
            return base.elements[n]
        return self.dynamic_element(base, as_data(self.value(e.index)), e)

    def aggregate(self, e) -> Loc:
        t = T.base_type(e.type)
        if isinstance(e, ast.StructExpression):
            names, exprs = [n for n, _ in e.fields], [v for _, v in e.fields]
        else:
            exprs = list(e.elements)
            names = ([f.name for f in t.fields] if isinstance(t, T.StructLike)
                     else list(range(len(exprs))))
        locs = []
        for i, v in enumerate(exprs):
            loc = self.loc(v)
            if isinstance(loc, SliceLoc):
                loc = ScalarLoc(self.value(v), v.type)
            if isinstance(loc, ScalarLoc) and not isinstance(loc.expr, (ir.Const, ir.BoolConst)) \
                    and any(has_call(x) for x in exprs[i + 1:]):
                # a later element's call may change what this one read (left to right)
                tmp = self.temp(v.type)
                self.sink.append(ir.Primitive("assign", [tmp.expr, as_data(loc.expr)], v.loc))
                loc = tmp
            locs.append(loc)
        return StructLoc(t, dict(zip(names, locs)))

    # -- values --------------------------------------------------------------------------------
    def value(self, e: ast.Expression) -> ir.LExpr:
        """A scalar-typed expression as an LExpr (bool-typed ones may come back as data)."""
        if id(e) in self.evaluated:
            return self.read(self.evaluated[id(e)])
        t = e.type
        if is_scalar(t) or isinstance(T.base_type(t), T.IntType):
            n = self.scope.folder.try_number(e)
            if n is not None:
                return const_for(n, t)
        if isinstance(e, (ast.Name, ast.Member, ast.Index)):
            loc = self.loc(e)
            if isinstance(loc, ScalarLoc):
                return loc.expr
            if isinstance(loc, CompileTimeLoc) and loc.kind == "const":
                return const_for(loc.value, t)
            raise unsupported("expected a scalar value", e)
        if isinstance(e, ast.Unary):
            return self.unary(e)
        if isinstance(e, ast.Binary):
            return self.binary(e)
        if isinstance(e, ast.Slice):
            x = as_data(self.value(e.expr))
            hi = self.scope.folder.int_of(e.hi, "slice bound")
            lo = self.scope.folder.int_of(e.lo, "slice bound")
            w = hi - lo + 1
            shifted = ir.Op(">>", x, ir.Const(lo), width=None) if lo else x
            return ir.Op("&", shifted, ir.Const(mask(w), w), width=w)
        if isinstance(e, ast.Cast):
            return self.cast(self.value(e.expr), e.expr.type, e.type)
        if isinstance(e, ast.Mux) and not self.in_parser and (has_call(e.then)
                                                               or has_call(e.else_)):
            return self.mux_with_calls(e)
        if isinstance(e, ast.Mux):
            cond = as_bool(self.value(e.cond))
            a, b = self.value(e.then), self.value(e.else_)
            if isinstance(T.base_type(t), T.BoolType):
                return ir.Ternary(cond, as_bool(a), as_bool(b), is_bool=True)
            return ir.Ternary(cond, as_data(a), as_data(b), width=width_of(t))
        if isinstance(e, ast.MethodCall):
            loc = self.call_value(e)
            if isinstance(loc, ScalarLoc):
                return loc.expr
            raise unsupported("expected a scalar value", e)
        if isinstance(e, ast.IntLiteral):
            return ir.Const(e.value, e.width)
        if isinstance(e, ast.BoolLiteral):
            return ir.BoolConst(e.value)
        raise unsupported(f"expression not supported on BMv2: {type(e).__name__}", e)

    def mux_with_calls(self, e: ast.Mux) -> ir.LExpr:
        """`c ? f() : g()` runs only the chosen call: jumps into a temporary."""
        tmp = self.temp(e.type)
        else_label, end = ir.Label(), ir.Label()
        cond = as_data(as_bool(self.value(e.cond)))
        self.sink.append(ir.Primitive("_jump_if_zero", [cond, else_label], e.loc))
        self.copy(tmp, self.loc(e.then), e)
        self.sink += [ir.Primitive("_jump", [end], e.loc), else_label]
        self.copy(tmp, self.loc(e.else_), e)
        self.sink.append(end)
        return tmp.expr

    def unary(self, e: ast.Unary) -> ir.LExpr:
        x = self.value(e.operand)
        if e.op == "!":
            return ir.Op("not", None, as_bool(x), is_bool=True)
        if e.op == "+":
            return x
        x = as_data(x)
        if e.op == "~":
            return fit(ir.Op("~", None, x), e.type)
        return fit(ir.Op("-", ir.Const(0), x), e.type)

    def binary(self, e: ast.Binary) -> ir.LExpr:
        op, t = e.op, e.type
        if op in ("&&", "||"):
            return ir.Op("and" if op == "&&" else "or", as_bool(self.value(e.left)),
                         as_bool(self.value(e.right)), is_bool=True)
        if op in ("==", "!="):
            return self.equality(e)
        a, b = self.operands(e)
        if op in ("<", "<=", ">", ">="):
            return ir.Op(op, as_data(a), as_data(b), is_bool=True)
        a, b = as_data(a), as_data(b)
        w = width_of(t)
        if op == "++":
            rw = width_of(e.right.type)
            lw = width_of(e.left.type)
            left = fit(a, T.BitsType(lw)) if is_signed(e.left.type) else a
            right = fit(b, T.BitsType(rw)) if is_signed(e.right.type) else b
            joined = ir.Op("|", ir.Op("<<", left, ir.Const(rw)), right, width=w)
            return fit(joined, t) if is_signed(t) else joined
        if op in ("|+|", "|-|"):
            return ir.Op("sat_cast" if is_signed(t) else "usat_cast",
                         ir.Op("+" if op == "|+|" else "-", a, b), ir.Const(w), width=w,
                         signed=is_signed(t))
        if op in ("&", "|", "^"):
            return ir.Op(op, a, b, width=w, signed=is_signed(t))
        if op == ">>":
            return ir.Op(">>", a, b, width=w, signed=is_signed(t))
        if op in ("+", "-", "*", "<<"):
            return fit(ir.Op(op, a, b), t)
        if op in ("/", "%"):
            return fit(ir.Op(op, a, b), t)
        raise unsupported(f"operator '{op}' is not supported here", e)

    def operands(self, e: ast.Binary) -> tuple:
        """Both operands, the left one kept in a temporary if a call on the right could change
        what it read (P4 evaluates left to right, spec 8.1)."""
        a = self.value(e.left)
        if has_call(e.right) and not isinstance(a, (ir.Const, ir.BoolConst)):
            tmp = self.temp(e.left.type)
            self.sink.append(ir.Primitive("assign", [tmp.expr, as_data(a)], e.loc))
            a = tmp.expr
        return a, self.value(e.right)

    def equality(self, e: ast.Binary) -> ir.LExpr:
        lt = T.base_type(e.left.type)
        if isinstance(lt, (T.HeaderType, T.StructType, T.TupleType, T.HeaderUnionType,
                           T.StackType)):
            return self.aggregate_equality(e)
        a, b = self.operands(e)
        return ir.Op(e.op, as_data(a), as_data(b), is_bool=True)

    def aggregate_equality(self, e: ast.Binary) -> ir.LExpr:
        """`==` on structs/headers: field-wise, headers also compare validity (spec 8.11)."""
        pairs = []
        self._leaf_pairs(self.loc(e.left), self.loc(e.right), pairs, e)
        result: ir.LExpr = ir.BoolConst(True)
        for x, y in pairs:
            eq = ir.Op("==", as_data(x), as_data(y), is_bool=True)
            result = eq if isinstance(result, ir.BoolConst) else ir.Op("and", result, eq,
                                                                       is_bool=True)
        return result if e.op == "==" else ir.Op("not", None, result, is_bool=True)

    def _leaf_pairs(self, a: Loc, b: Loc, out: list, node) -> None:
        if isinstance(a, ScalarLoc):
            out.append((a.expr, b.expr))
        elif isinstance(a, HeaderLoc):
            out.append((self.valid_bit(a), self.valid_bit(b)))
            for name, _ in header_fields(a.type):
                out.append((self.header_field(a, name), self.header_field(b, name)))
        elif isinstance(a, StructLoc):
            for k in a.fields:
                self._leaf_pairs(a.fields[k], b.fields[k], out, node)
        elif isinstance(a, StackLoc):
            for x, y in zip(a.elements, b.elements):
                self._leaf_pairs(x, y, out, node)
        elif isinstance(a, UnionLoc):
            for k in a.members:
                self._leaf_pairs(a.members[k], b.members[k], out, node)
        else:
            raise unsupported("comparison not supported on BMv2", node)

    def header_member(self, h: HeaderLoc, name: str, t=None, prefix: str = "") -> Loc:
        """A header field: a scalar, or (for a struct inside the header) a StructLoc of its
        flattened fields (localvars.header_fields)."""
        ft = (t or h.type).field(name).type
        if isinstance(T.base_type(ft), T.StructType):
            st = T.base_type(ft)
            return StructLoc(st, {f.name: self.header_member(h, f.name, st, f"{prefix}{name}_")
                                  for f in st.fields})
        return ScalarLoc(self.header_field(h, prefix + name), ft)

    def header_field(self, h: HeaderLoc, name: str) -> ir.LExpr:
        """The field `name` of h (a flattened name) as an lvalue expression."""
        flat = header_fields(h.type)
        names = [n for n, _ in flat]
        ft = flat[names.index(name)][1]
        w = scalar_width(ft) if is_scalar(ft) else 0
        if isinstance(h.ref, ir.HeaderRef):
            return ir.Field(h.ref.name, name, w, is_signed(ft))
        return ir.Op("access_field", h.ref, names.index(name), width=w, signed=is_signed(ft))

    def valid_bit(self, h) -> ir.LExpr:
        """Validity as data (0/1): the `$valid$` hidden field, or `valid` on a computed header."""
        if isinstance(h, HeaderLoc) and isinstance(h.ref, ir.HeaderRef):
            return ir.Field(h.ref.name, "$valid$", 1)
        return as_data(self.is_valid(h))

    def is_valid(self, h) -> ir.LExpr:
        if isinstance(h, UnionLoc):
            return ir.Op("valid_union", None, h.ref, is_bool=True)
        if isinstance(h, HeaderLoc) and isinstance(h.ref, ir.HeaderRef):
            return ir.Op("d2b", None, ir.Field(h.ref.name, "$valid$", 1), is_bool=True)
        if isinstance(h, HeaderLoc):
            return ir.Op("valid", None, h.ref, is_bool=True)
        raise TypeError(h)

    def cast(self, x: ir.LExpr, src: T.P4Type, dst: T.P4Type) -> ir.LExpr:
        s, d = T.base_type(src), T.base_type(dst)
        if isinstance(d, T.BoolType):
            return as_bool(x)
        if isinstance(s, T.BoolType):
            return as_data(x)
        x = as_data(x)
        if not isinstance(d, T.BitsType):
            return x
        if isinstance(x, ir.Const):
            return fit(ir.Const(x.value), d)
        if isinstance(s, T.BitsType) and not s.signed and not d.signed and d.w >= s.w:
            return x
        if isinstance(s, T.BitsType) and s.signed and d.signed and d.w >= s.w:
            return x
        return fit(x, d)

    # -- calls yielding values -----------------------------------------------------------------
    def call_value(self, e: ast.MethodCall) -> Loc:
        callee = e.callee
        if isinstance(callee, ast.Member) and callee.member == "isValid":
            return ScalarLoc(self.is_valid(self.loc(callee.expr)), T.BoolType())
        if isinstance(callee, ast.Member) and callee.member == "lookahead":
            if not self.in_parser:
                raise unsupported("lookahead is only supported in parsers", e)
            return self.world.lookahead_value(self, e)
        return self.world.call_for_value(self, e)

    # -- assignment ----------------------------------------------------------------------------
    def assign(self, dst: ast.Expression, src: ast.Expression, node=None) -> None:
        """dst = src. The target is located first and once: in `a[f()] op= b` the parser
        shares that node with the right-hand side, which then reads the same place."""
        target = self.loc(dst)
        self.evaluated[id(dst)] = target
        self.copy(target, self.loc(src), node or dst)

    def read(self, loc: Loc) -> ir.LExpr:
        """The value held at a scalar location."""
        if isinstance(loc, SliceLoc):
            w = loc.hi - loc.lo + 1
            x = loc.base.expr
            return ir.Op("&", ir.Op(">>", x, ir.Const(loc.lo)) if loc.lo else x,
                         ir.Const(mask(w), w), width=w)
        if isinstance(loc, ScalarLoc):
            return loc.expr
        raise TypeError(loc)

    def copy(self, dst: Loc, src: Loc, node) -> None:
        loc = getattr(node, "loc", None)
        dst, src = self.struct_view(dst), self.struct_view(src)
        if isinstance(src, SliceLoc):
            src = ScalarLoc(self.read(src), T.BitsType(src.hi - src.lo + 1))
        if isinstance(dst, ScalarLoc) and isinstance(T.base_type(dst.type), T.VarbitType):
            self.sink.append(ir.Primitive("assign_VL", [dst.expr, src.expr], loc))
        elif isinstance(dst, ScalarLoc):
            if not isinstance(src, ScalarLoc):
                raise unsupported("cannot assign this value to a scalar", node)
            value = as_data(src.expr)
            if isinstance(value, ir.Const) and not isinstance(T.base_type(dst.type), T.BoolType):
                value = fit(value, dst.type) if width_of(dst.type) else value
            self.sink.append(ir.Primitive("assign", [dst.expr, value], loc))
        elif isinstance(dst, SliceLoc):
            self.store_slice(dst, src, node)
        elif isinstance(dst, HeaderLoc):
            if isinstance(src, InvalidLoc):
                self.sink.append(ir.Primitive("remove_header", [dst.ref], loc))
            elif isinstance(src, HeaderLoc):
                self.sink.append(ir.Primitive("assign_header", [dst.ref, src.ref], loc))
            elif isinstance(src, StructLoc):  # header initialised from a list/struct expression
                # valid first: BMv2's add_header zeroes the fields of an invalid header
                self.sink.append(ir.Primitive("add_header", [dst.ref], loc))
                for f in dst.type.fields:
                    self.copy(self.header_member(dst, f.name), src.fields[f.name], node)
            else:
                raise unsupported("cannot assign this value to a header", node)
        elif isinstance(dst, UnionLoc):
            if isinstance(src, InvalidLoc):
                for m in dst.members.values():
                    self.sink.append(ir.Primitive("remove_header", [m.ref], loc))
            elif isinstance(src, UnionLoc):
                self.sink.append(ir.Primitive("assign_union", [dst.ref, src.ref], loc))
            else:
                raise unsupported("cannot assign this value to a header union", node)
        elif isinstance(dst, StackLoc) and isinstance(src, StructLoc):  # from a lookahead
            for i, element in enumerate(dst.elements):
                self.copy(element, src.fields[i], node)
        elif isinstance(dst, StackLoc):
            if not isinstance(src, StackLoc):
                raise unsupported("cannot assign this value to a header stack", node)
            kind = ir.UnionStackRef if dst.of_unions else ir.StackRef
            op = "assign_union_stack" if dst.of_unions else "assign_header_stack"
            self.sink.append(ir.Primitive(op, [kind(dst.name), kind(src.name)], loc))
        elif isinstance(dst, StructLoc):
            if isinstance(src, InvalidLoc) or not isinstance(src, StructLoc):
                raise unsupported("cannot assign this value to a struct", node)
            keys = list(dst.fields)
            src_items = list(src.fields.values())
            by_name = all(k in src.fields for k in keys)
            for i, k in enumerate(keys):
                self.copy(dst.fields[k], src.fields[k] if by_name else src_items[i], node)
        else:
            raise unsupported("cannot assign to this expression on BMv2", node)

    def store_slice(self, dst: SliceLoc, src: Loc, node) -> None:
        width = width_of(dst.base.type)
        field_mask = mask(dst.hi - dst.lo + 1) << dst.lo
        value = as_data(src.expr)
        placed = ir.Op("&", ir.Op("<<", value, ir.Const(dst.lo)) if dst.lo else value,
                       ir.Const(field_mask, width), width=width)
        kept = ir.Op("&", dst.base.expr, ir.Const(mask(width) ^ field_mask, width), width=width)
        self.sink.append(ir.Primitive("assign", [dst.base.expr, ir.Op("|", kept, placed,
                                                                       width=width)],
                                      getattr(node, "loc", None)))

    def struct_view(self, loc: Loc) -> Loc:
        """A struct kept in a header instance (standard_metadata) seen as a StructLoc."""
        if isinstance(loc, HeaderLoc) and not isinstance(loc.type, T.HeaderType):
            return StructLoc(loc.type, {f.name: ScalarLoc(self.header_field(loc, f.name), f.type)
                                        for f in loc.type.fields})
        return loc

    def temp(self, t: T.P4Type, hint: str = "tmp") -> Loc:
        return self.world.storage.alloc(hint, t)
