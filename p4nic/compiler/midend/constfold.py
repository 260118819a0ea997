"""Constant folding for the midend: compile-time values as BMv2 numbers.

The arithmetic itself is the type checker's (consteval.evaluate). What this pass adds is the
midend's view: constants bound while inlining (constructor parameters, action arguments fixed
by a call) and the numbering of `error` and enum members that BMv2's `errors`/`enums` lists use.
"""
from __future__ import annotations

from collections import ChainMap
from typing import Optional

from p4nic.compiler import ast
from p4nic.compiler import types as T
from p4nic.compiler.consteval import NotConstant, evaluate
from p4nic.compiler.errors import CompileError

__all__ = ["NotConstant", "Folder"]


class Folder:
    """Evaluates expressions at compile time. `constants` (a ChainMap) maps declarations to
    values; inlining pushes a child map with the bindings of one instance or call."""

    def __init__(self, constants: dict, errors: list):
        self.constants = ChainMap(constants)
        self.error_numbers = {name: i for i, name in enumerate(errors)}

    def child(self, bindings: dict) -> "Folder":
        f = Folder.__new__(Folder)
        f.constants = self.constants.new_child(bindings)
        f.error_numbers = self.error_numbers
        return f

    def value(self, e: ast.Expression):
        """The value of e (int, bool, str or an (enum, member) pair); NotConstant otherwise."""
        return evaluate(e, self.constants)

    def try_number(self, e: ast.Expression) -> Optional[int]:
        """e as the number BMv2 uses for it (bools as 0/1), or None if not constant."""
        try:
            v = evaluate(e, self.constants)
        except NotConstant:
            return None
        return self.number(v, e.type)

    def number(self, v, t: T.P4Type) -> Optional[int]:
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, int):
            return v
        if isinstance(v, tuple) and len(v) == 2:
            kind, member = v
            if kind == "error":
                return self.error_numbers.get(member, 0)
            if isinstance(t, T.EnumType):
                return list(t.members).index(member) if member in t.members else 0
        return None

    def int_of(self, e: ast.Expression, what: str = "value") -> int:
        n = self.try_number(e)
        if n is None:
            raise CompileError(f"{what} must be a compile-time constant", e.loc, "unsupported")
        return n

    def enum_member(self, e: ast.Expression) -> str:
        """The member name of a constant enum argument such as `HashAlgorithm.crc16`."""
        try:
            v = evaluate(e, self.constants)
        except NotConstant:
            v = None
        if isinstance(v, tuple):
            return v[1]
        if isinstance(e, (ast.Member, ast.TypeMember)):
            return e.member
        raise CompileError("expected a constant enum member here", e.loc, "unsupported")
