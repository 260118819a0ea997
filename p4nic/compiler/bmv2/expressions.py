"""Lowered expressions as BMv2 JSON "type value objects" (JSON_format.md, "The type value object").

Three contexts differ, following what BMv2's loader reads (bm_sim/P4Objects.cpp):
inside an expression tree action parameters are `local`; a primitive argument that is an
expression is wrapped once more, `{"type": "expression", "value": <type value object>}`, with
action parameters as `runtime_data`; conditions, checksum conditions and `verify` take the type
value object itself.
"""
from __future__ import annotations

from typing import Optional

from p4nic.compiler.midend import ir


def hexstr(value: int, width: Optional[int] = None) -> str:
    """Hexadecimal, big-endian, padded to whole bytes of `width` bits; '-0x..' for negatives."""
    sign = "-" if value < 0 else ""
    digits = f"{abs(value):x}"
    if width:
        digits = digits.rjust(2 * ((width + 7) // 8), "0")
    return f"{sign}0x{digits}"


def tv(x: ir.LExpr) -> dict:
    """The type value object of x as it appears inside an expression tree."""
    if isinstance(x, ir.Const):
        return {"type": "hexstr", "value": hexstr(x.value, x.width)}
    if isinstance(x, ir.BoolConst):
        return {"type": "bool", "value": x.value}
    if isinstance(x, ir.Field):
        return {"type": "field", "value": [x.header, x.name]}
    if isinstance(x, ir.RuntimeData):
        return {"type": "local", "value": x.index}
    if isinstance(x, ir.Op):
        right = x.right if isinstance(x.right, int) else tv(x.right)
        return {"type": "expression", "value": {
            "op": x.op, "left": tv(x.left) if x.left is not None else None, "right": right}}
    if isinstance(x, ir.Ternary):
        return {"type": "expression", "value": {
            "op": "?", "left": tv(x.then), "right": tv(x.else_), "cond": tv(x.cond)}}
    if isinstance(x, ir.HeaderRef):
        return {"type": "header", "value": x.name}
    if isinstance(x, ir.StackRef):
        return {"type": "header_stack", "value": x.name}
    if isinstance(x, ir.UnionRef):
        return {"type": "header_union", "value": x.name}
    if isinstance(x, ir.UnionStackRef):
        return {"type": "header_union_stack", "value": x.name}
    if isinstance(x, ir.Lookahead):
        return {"type": "lookahead", "value": [x.offset, x.width]}
    if isinstance(x, ir.StackField):
        return {"type": "stack_field", "value": [x.stack, x.name]}
    if isinstance(x, ir.StringConst):
        return {"type": "string", "value": x.value}
    if isinstance(x, ir.ObjectRef):
        return {"type": x.kind, "value": x.name}
    if isinstance(x, ir.ParamVector):
        return {"type": "parameters_vector", "value": [tv(i) for i in x.items]}
    raise TypeError(f"cannot write {x!r} as BMv2 JSON")


def primitive_arg(x: ir.LExpr) -> dict:
    """A primitive argument: computed values wrapped as `expression`, action data as
    `runtime_data` (p4c ExpressionConverter::convert with wrap=true)."""
    if isinstance(x, ir.RuntimeData):
        return {"type": "runtime_data", "value": x.index}
    if isinstance(x, (ir.Op, ir.Ternary, ir.StackField, ir.BoolConst)):
        return {"type": "expression", "value": tv(x)}
    return tv(x)


def parser_value(x: ir.LExpr) -> dict:
    """The source of a parser `set`, or an `advance`/`extract_VL` length: field, hexstr and
    lookahead directly, anything else as a wrapped expression."""
    if isinstance(x, (ir.Field, ir.Const, ir.Lookahead)):
        return tv(x)
    return {"type": "expression", "value": tv(x)}
