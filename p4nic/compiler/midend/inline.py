"""Inlining: one Scope per instance of a parser/control and per inlined call.

BMv2 has one parser, two pipelines and flat lists of actions and externs, so every
sub-control and sub-parser instantiation, every action called from another action or from a
control body, and every function call is expanded where it is used, as p4c's Inline and
InlineFunctions passes do. A Scope binds the declarations visible in the expanded body —
parameters to the caller's storage, constructor parameters and directionless arguments to
constants, locals to fresh storage — and carries the instance path that control-plane names
are built from.
"""
from __future__ import annotations

from typing import Optional

from p4nic.compiler import ast
from p4nic.compiler.errors import CompileError
from p4nic.compiler.midend.constfold import Folder, NotConstant
from p4nic.compiler.p4info.naming import BlockPath
from p4nic.compiler.midend.localvars import Loc, ScalarLoc, const_for


class Scope:
    """Bindings of declarations (by identity) to Locs, chained to the enclosing scope.

    `path` is the naming.BlockPath of the instance (shared with the P4Info back end, so that
    JSON and P4Info names agree). `block` says which v1model block the code runs in (parser, verify, ingress, egress,
    compute, deparser), for externs valid only in some blocks.
    """

    def __init__(self, parent: Optional["Scope"], path: BlockPath, folder: Folder,
                 block: Optional[str] = None):
        self.parent = parent
        self.path = path
        self.folder = folder
        self.block = block if block is not None else (parent.block if parent else None)
        self.bindings: dict = {}

    def child(self, path: Optional[BlockPath] = None, constants: Optional[dict] = None,
              block: Optional[str] = None) -> "Scope":
        folder = self.folder.child(constants or {})
        return Scope(self, self.path if path is None else path, folder, block)

    def bind(self, decl, loc: Loc) -> None:
        self.bindings[id(decl)] = (decl, loc)

    def find(self, decl) -> Optional[Loc]:
        s = self
        while s is not None:
            hit = s.bindings.get(id(decl))
            if hit is not None:
                return hit[1]
            s = s.parent
        return None

    def lookup(self, name: ast.Name) -> Loc:
        decl = name.decl
        loc = self.find(decl)
        if loc is not None:
            return loc
        if decl is not None:
            n = self.folder.try_number(name) if name.type is not None else None
            if n is not None:
                return ScalarLoc(const_for(n, name.type), name.type)
        raise CompileError(f"'{name.name}' cannot be used here on BMv2", name.loc, "unsupported")


def bind_call(scope: Scope, callee_params: list, args: list, node) -> list:
    """Pair parameters with arguments (positional or named; defaults when omitted)."""
    by_name = {a.name: a for a in args if a.name is not None}
    positional = [a for a in args if a.name is None]
    out = []
    for i, p in enumerate(callee_params):
        if p.name in by_name:
            arg = by_name[p.name]
            out.append((p, arg.value))
        elif i < len(positional):
            out.append((p, positional[i].value))
        elif p.default is not None:
            out.append((p, p.default))
        else:
            out.append((p, None))
    return out


def constant_bindings(scope: Scope, pairs: list) -> dict:
    """Constructor/directionless parameters whose arguments are constants, for the Folder."""
    out = {}
    for p, value in pairs:
        if value is None:
            continue
        try:
            out[p] = scope.folder.value(value)
        except NotConstant:
            continue
    return out




def access_path(e) -> Optional[tuple]:
    """`h.a[2].b` as (decl of h, "a", "[]", "b"): what storage an lvalue argument names (any
    index stands for the whole stack); None for other expressions."""
    if isinstance(e, ast.Name):
        return (id(e.decl),) if e.decl is not None else None
    if isinstance(e, ast.Member):
        inner = access_path(e.expr)
        return None if inner is None else inner + (e.member,)
    if isinstance(e, (ast.Index, ast.Slice)):
        inner = access_path(e.expr)
        return None if inner is None else inner + ("[]",)
    return None


def arguments_overlap(args: list) -> bool:
    """Does any argument's storage contain or share another's (p4c FindLocationSets)?"""
    paths = [p for p in map(access_path, args) if p is not None]
    return any(i != j and p[:len(q)] == q for i, p in enumerate(paths)
               for j, q in enumerate(paths))
