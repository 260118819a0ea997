"""Lexical scopes for name resolution: top level, parser/control/action/function bodies, blocks.

P4 types and values share one namespace per scope. Functions, extern functions and extern
methods may be overloaded by arity (v1model declares two `mark_to_drop`s), so a scope maps a name
to the list of declarations carrying it (p4c also accepts packages, parsers and controls
overloaded by the number of constructor parameters);
everything else must be unique within its scope.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from p4nic.compiler import ast
from p4nic.compiler.errors import CompileError

OVERLOADABLE = (ast.ExternFunctionDeclaration, ast.FunctionDeclaration, ast.MethodPrototype,
                ast.PackageTypeDeclaration, ast.ParserDeclaration, ast.ControlDeclaration)


@dataclass(eq=False)
class TypeParameter:
    """A generic type parameter (`T` in `extern void f<T>(in T x)`) as a scope entry."""
    name: str
    loc: object = None


class Scope:
    def __init__(self, parent: Optional["Scope"] = None):
        self.parent = parent
        self.names: dict[str, list] = {}

    def declare(self, name: str, decl, loc=None) -> None:
        existing = self.names.get(name)
        if existing and not (isinstance(decl, OVERLOADABLE)
                             and all(isinstance(d, OVERLOADABLE) for d in existing)):
            raise CompileError(f"'{name}' is already declared in this scope", loc, kind="type")
        self.names.setdefault(name, []).append(decl)

    def lookup_all(self, name: str) -> list:
        """Every declaration of `name` in the innermost scope that has one (overloads), or []."""
        scope = self
        while scope is not None:
            found = scope.names.get(name)
            if found:
                return found
            scope = scope.parent
        return []

    def lookup(self, name: str):
        found = self.lookup_all(name)
        return found[0] if found else None

    def root(self) -> "Scope":
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope
