"""Compile-time evaluation of typed expressions: widths, constants, enum values, table sizes.

Works on expressions whose `.type` the type checker has already set, so that arithmetic wraps
at the expression's width (P4-16 spec 8.6 "Operations on fixed-width bit types": unsigned
arithmetic is modulo 2^W, signed is two's complement). Values are Python ints for `int`,
`bit<W>`, `int<W>` and serializable enums, bools for `bool`, `(type name, member)` pairs
for `error` members, match kinds and plain enum members, tuples for lists and tuples, and dicts
{field: value} for structs and headers.
"""
from __future__ import annotations

from p4nic.compiler import ast, types as T


class NotConstant(Exception):
    """The expression is not a compile-time constant (the caller decides if that is an error)."""

    def __init__(self, expr):
        super().__init__("not a compile-time constant")
        self.expr = expr


def wrap(value: int, t) -> int:
    """`value` reduced to the range of bits type `t` (unchanged for `int` and non-bit types)."""
    t = T.base_type(t)
    if not isinstance(t, T.BitsType):
        return value
    if 0 <= value and value.bit_length() < t.w:
        return value  # already in range (and no mask built for very wide types)
    value &= (1 << t.w) - 1
    if t.signed and t.w and value >> (t.w - 1):
        value -= 1 << t.w
    return value


def _saturate(value: int, t) -> int:
    t = T.base_type(t)
    if not isinstance(t, T.BitsType):
        return value
    lo, hi = ((-(1 << (t.w - 1)), (1 << (t.w - 1)) - 1) if t.signed else (0, (1 << t.w) - 1))
    return max(lo, min(hi, value))


def evaluate(e, constants: dict):
    """The value of typed expression `e`; `constants` maps const declarations to their values."""
    if isinstance(e, ast.IntLiteral):
        return wrap(e.value, e.type) if e.type is not None else e.value
    if isinstance(e, ast.BoolLiteral):
        return e.value
    if isinstance(e, ast.StringLiteral):
        return e.value
    if isinstance(e, ast.Name):
        if e.decl is None and isinstance(e.type, T.MatchKindType):
            return ("match_kind", e.name)
        if e.decl in constants:
            value = constants[e.decl]
            if isinstance(value, int) and not isinstance(value, bool):
                return wrap(value, e.type)
            return value
        raise NotConstant(e)
    if isinstance(e, (ast.Member, ast.TypeMember)):
        return _member_value(e, constants)
    if isinstance(e, ast.Unary):
        v = evaluate(e.operand, constants)
        if e.op == "!":
            return not v
        if e.op == "-":
            return wrap(-v, e.type)
        if e.op == "~":
            return wrap(~v, e.type)
        return v
    if isinstance(e, ast.Binary):
        return _binary(e, constants)
    if isinstance(e, ast.Mux):
        return evaluate(e.then if evaluate(e.cond, constants) else e.else_, constants)
    if isinstance(e, ast.Cast):
        v = evaluate(e.expr, constants)
        target = T.base_type(e.type)
        if isinstance(target, T.BoolType):
            return bool(v)
        if isinstance(target, T.BitsType):
            return wrap(int(v), target)
        return v
    if isinstance(e, ast.MethodCall):
        return _call(e, constants)
    if isinstance(e, ast.Dots):
        return default_value(e.type)
    if isinstance(e, ast.ListExpression) and e.elements and isinstance(e.elements[-1], ast.Dots):
        full = default_value(e.type)
        given = [evaluate(x, constants) for x in e.elements[:-1]]
        if isinstance(full, dict):
            full.update(zip(full, given))
            return full
        return tuple(given) + full[len(given):]
    if isinstance(e, ast.ListExpression):
        values = tuple(evaluate(x, constants) for x in e.elements)
        if isinstance(e.type, T.StructLike):
            return dict(zip((f.name for f in e.type.fields), values))
        return values
    if isinstance(e, ast.StructExpression):
        values = default_value(e.type) if any(isinstance(x, ast.Dots) for _, x in e.fields) \
            else {}
        values.update((name, evaluate(x, constants)) for name, x in e.fields
                      if not isinstance(x, ast.Dots))
        return values
    if isinstance(e, ast.Index):
        v, i = evaluate(e.expr, constants), evaluate(e.index, constants)
        if isinstance(v, tuple) and isinstance(i, int) and 0 <= i < len(v):
            return v[i]
        raise NotConstant(e)
    if isinstance(e, ast.Slice):
        v = evaluate(e.expr, constants)
        hi, lo = evaluate(e.hi, constants), evaluate(e.lo, constants)
        return (v >> lo) & ((1 << (hi - lo + 1)) - 1)
    raise NotConstant(e)


SIZE_METHODS = ("minSizeInBits", "minSizeInBytes", "maxSizeInBits", "maxSizeInBytes")


def _size_of(t, method: str) -> int:
    """`x.minSizeInBits()` and friends (P4-16 spec 8.26): varbit fields count 0 bits at the
    minimum and their maximum width at the maximum."""
    def bits(t, maximum):
        t = T.base_type(t)
        if isinstance(t, T.VarbitType):
            return t.max_width if maximum else 0
        if isinstance(t, T.StructLike):
            return sum(bits(f.type, maximum) for f in t.fields)
        if isinstance(t, T.StackType):
            return t.size * bits(t.element, maximum)
        return t.width()
    n = bits(t, method.startswith("max"))
    return (n + 7) // 8 if method.endswith("Bytes") else n


def default_value(t):
    """The value `...` gives a type (P4-16 spec 8.26 "default values"); NotConstant for types
    whose default is not a plain value (headers are invalid, not a constant)."""
    b = T.base_type(t)
    if isinstance(b, (T.BitsType, T.IntType)):
        return 0
    if isinstance(b, T.BoolType):
        return False
    if isinstance(t, T.ErrorType):
        return ("error", "NoError")
    if isinstance(t, T.EnumType):
        return (t.name, t.members[0])
    if isinstance(t, T.StructType):
        return {f.name: default_value(f.type) for f in t.fields}
    if isinstance(t, T.TupleType):
        return tuple(default_value(x) for x in t.elements)
    raise NotConstant(None)


def _call(e, constants):
    callee = e.callee
    if isinstance(callee, (ast.Member, ast.TypeMember)) and callee.member in SIZE_METHODS \
            and not e.args:
        t = callee.expr.type if isinstance(callee, ast.Member) else callee.type_ref.type
        return _size_of(t, callee.member)
    if isinstance(callee, ast.Name) and isinstance(callee.decl, ast.ExternFunctionDeclaration) \
            and callee.decl.name == "static_assert" and e.args:
        return bool(evaluate(e.args[0].value, constants))
    raise NotConstant(e)


def _names_type(e) -> bool:
    """Is `e` in `e.member` a type (`error`, an enum) rather than a value?"""
    if isinstance(e, ast.TypeMember):
        return True
    x = e.expr
    return isinstance(x, ast.Name) and (
        x.decl is None or isinstance(x.decl, (ast.EnumDeclaration, ast.TypedefDeclaration)))


def _member_value(e, constants):
    t = e.type
    if not _names_type(e):
        if isinstance(e, ast.Member) and e.member == "size" and isinstance(e.expr.type,
                                                                           T.StackType):
            return e.expr.type.size
        if isinstance(e, ast.Member):
            v = evaluate(e.expr, constants)
            if isinstance(v, dict) and e.member in v:
                return v[e.member]
        raise NotConstant(e)
    if isinstance(t, T.ErrorType):
        return ("error", e.member)
    if isinstance(t, T.EnumType):
        if t.underlying is not None and e.member in t.members:
            return t.values[t.members.index(e.member)]
        return (t.name, e.member)
    raise NotConstant(e)


def _binary(e, constants):
    op = e.op
    a = evaluate(e.left, constants)
    if op == "&&":
        return bool(a) and bool(evaluate(e.right, constants))
    if op == "||":
        return bool(a) or bool(evaluate(e.right, constants))
    b = evaluate(e.right, constants)
    t = e.type
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op in ("<", ">", "<=", ">="):
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
    if op == "++":
        if isinstance(a, str):
            return a + b
        rw = T.base_type(e.right.type).width()
        return wrap((a << rw) | (b & ((1 << rw) - 1)), t)
    if op == "|+|":
        return _saturate(a + b, t)
    if op == "|-|":
        return _saturate(a - b, t)
    if op in ("/", "%"):
        if b == 0:
            raise NotConstant(e)
        # P4 division is defined on non-negative values only (spec 8.7).
        return wrap(a // b if op == "/" else a % b, t)
    ops = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
           "&": lambda: a & b, "|": lambda: a | b, "^": lambda: a ^ b,
           "<<": lambda: a << b, ">>": lambda: a >> b}
    if op in ops:
        return wrap(ops[op](), t)
    raise NotConstant(e)
