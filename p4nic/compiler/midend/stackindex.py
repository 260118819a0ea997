"""Runtime header-stack indexes expanded into choices between the constant indexes.

BMv2 simple_switch aborts the whole switch (std::out_of_range) when `dereference_header_stack`
or `dereference_union_stack` is given an index past the stack's end, so p4c never hands it an
unchecked runtime index: its HSIndexSimplifier (p4c midend/hsIndexSimplify.cpp) rewrites each
statement using `stack[e]` into `if (e == 0) {..stack[0]..} else if (e == 1) ...` and each
`if` condition into `e == 0 && cond[0] || ...`. We do the same on the lowered program:

- an action primitive becomes a `_jump_if_zero` chain, one copy per index (the chain tests the
  index before the copy runs, as p4c tests its temporary); a `_jump_if_zero` condition is
  rewritten like a conditional's;
- out of range the primitive is skipped, except a scalar `assign` reading the stack, which
  gets 0 as p4c's never-written `hsVar` temporary gives it;
- a conditional's expression becomes `(e == 0 && x[0]) || (e == 1 && x[1]) ...`: false out of
  range, as p4c's chain falls through to the `else`.

`stack.last` (`last_stack_index`) is left alone, as p4c leaves it.
"""
from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import Optional

from p4nic.compiler.midend import ir
from p4nic.compiler.midend.actions import resolve_jumps
from p4nic.compiler.midend.flatten import as_bool, as_data
from p4nic.compiler.midend.ir import Label

_DEREFERENCES = ("dereference_header_stack", "dereference_union_stack")
_JUMPS = ("_jump", "_jump_if_zero")  # the label is the last parameter (actions.py)


def expand_runtime_stack_indexes(out: ir.LoweredProgram) -> None:
    """Rewrite every action and conditional of `out` that indexes a stack at run time."""
    elements = _StackElements(out)
    for action in out.actions:
        action.primitives = _expand_primitives(action.primitives, elements)
    for pipeline in out.pipelines:
        for cond in pipeline.conditionals:
            cond.expr = _expand_condition(cond.expr, elements)


class _StackElements:
    """The instances behind `stack[i]`, so that a constant index names them as p4c does
    (`h[1].a` is the field `["h[1]", "a"]`, not an access through the stack)."""

    def __init__(self, out: ir.LoweredProgram):
        self.stacks = {s.name: s.headers for s in out.header_stacks}
        self.stacks.update((s.name, s.unions) for s in out.header_union_stacks)
        self.union_members = {u.name: u.headers for u in out.header_unions}
        types = {t.name: t for t in out.header_types}
        self.fields = {h.name: types[h.header_type].fields for h in out.headers}

    def size(self, deref: ir.Op) -> int:
        return len(self.stacks[deref.left.name])

    def element(self, deref: ir.Op, i: int) -> ir.LExpr:
        name = self.stacks[deref.left.name][i]
        return ir.HeaderRef(name) if isinstance(deref.left, ir.StackRef) else ir.UnionRef(name)

    def simplify(self, x: ir.LExpr) -> ir.LExpr:
        """A member access on a now fixed instance, as the instance's own field or header."""
        if isinstance(x, ir.Op) and x.op == "access_field" and isinstance(x.left, ir.HeaderRef):
            name = self.fields[x.left.name][x.right][0]
            return ir.Field(x.left.name, name, x.width, x.signed)
        if isinstance(x, ir.Op) and x.op == "access_union_header" and isinstance(
                x.left, ir.UnionRef):
            return ir.HeaderRef(self.union_members[x.left.name][x.right])
        return x


def _runtime_dereference(x) -> Optional[ir.Op]:
    """The first innermost stack dereference in x whose index is neither a constant nor
    `.last` (innermost first, as p4c's HSIndexFinder: `s[s[i].a]` expands `s[i]` first)."""
    if isinstance(x, (list, tuple)):
        children = x
    elif is_dataclass(x) and isinstance(x, ir.LExpr):
        children = [getattr(x, f.name) for f in fields(x)]
    else:
        return None
    for child in children:
        found = _runtime_dereference(child)
        if found is not None:
            return found
    if isinstance(x, ir.Op) and x.op in _DEREFERENCES and not (
            isinstance(x.right, ir.Const)
            or isinstance(x.right, ir.Op) and x.right.op == "last_stack_index"):
        return x
    return None


def _with_index(x, deref: ir.Op, i: int, elements: _StackElements):
    """x with every occurrence of `deref` (same stack, same index expression) as element i."""
    if x == deref:
        return elements.element(deref, i)
    if isinstance(x, list):
        return [_with_index(c, deref, i, elements) for c in x]
    if isinstance(x, tuple):
        return tuple(_with_index(c, deref, i, elements) for c in x)
    if is_dataclass(x) and isinstance(x, ir.LExpr):
        return elements.simplify(replace(x, **{
            f.name: _with_index(getattr(x, f.name), deref, i, elements) for f in fields(x)}))
    return x


def _index_is(deref: ir.Op, i: int) -> ir.Op:
    return ir.Op("==", deref.right, ir.Const(i, getattr(deref.right, "width", None) or 32),
                 is_bool=True)


def _expand_condition(expr: ir.LExpr, elements: _StackElements) -> ir.LExpr:
    deref = _runtime_dereference(expr)
    if deref is None:
        return expr
    choices = [ir.Op("and", _index_is(deref, i), _with_index(expr, deref, i, elements),
                     is_bool=True) for i in range(elements.size(deref))]
    result = choices[0]
    for choice in choices[1:]:
        result = ir.Op("or", result, choice, is_bool=True)
    return _expand_condition(result, elements)  # a second runtime index in the same condition


def _expand_primitives(prims: list, elements: _StackElements) -> list:
    """The expanded list, its jumps (old and new) resolved again by actions.resolve_jumps."""
    if all(_runtime_dereference(p.params) is None for p in prims):
        return prims
    starts = [Label() for _ in range(len(prims) + 1)]  # where old primitive k now starts
    out = []
    for k, p in enumerate(prims):
        out.append(starts[k])
        if p.op in _JUMPS:
            params = p.params[:-1] + [starts[p.params[-1].value]]
            if p.op == "_jump_if_zero":
                params[0] = as_data(_expand_condition(as_bool(params[0]), elements))
            out.append(ir.Primitive(p.op, params, p.loc))
        else:
            out += _expand_one(p, elements)
    out.append(starts[-1])
    return resolve_jumps(out)


def _expand_one(p: ir.Primitive, elements: _StackElements) -> list:
    """p as a chain `_jump_if_zero(e == i) -> next; p[i]; _jump -> end` over the indexes."""
    deref = _runtime_dereference(p.params)
    if deref is None:
        return [p]
    out, end = [], Label()
    for i in range(elements.size(deref)):
        next_index = Label()
        out.append(ir.Primitive("_jump_if_zero", [as_data(_index_is(deref, i)), next_index],
                                p.loc))
        copy = ir.Primitive(p.op, _with_index(p.params, deref, i, elements), p.loc)
        out += _expand_one(copy, elements)
        out += [ir.Primitive("_jump", [end], p.loc), next_index]
    fallback = _out_of_range_value(p)
    if fallback is not None:
        out.append(fallback)
    out.append(end)
    return out


def _out_of_range_value(p: ir.Primitive) -> Optional[ir.Primitive]:
    """p4c assigns its never-written `hsVar` (0) to a scalar read from past the stack's end."""
    if p.op != "assign" or _runtime_dereference(p.params[0]) is not None:
        return None
    target = p.params[0]
    return ir.Primitive("assign", [target, ir.Const(0, getattr(target, "width", None))], p.loc)
