"""Control-plane names, as p4c's front end gives them; shared by the P4Info and BMv2 back ends.

* `external_name`: `@name("x")` if present, else the declaration's name
  (IDeclaration::externalName); `control_plane_name` drops the leading '.' of a global name.
* Inside parsers and controls p4c inlines sub-controls/sub-parsers, naming an object `t` of
  instance `c` as `c.t` (frontends/p4/inlining.cpp ComputeNewNames), then prefixes every name
  with the enclosing parser's or control's declaration name (hierarchicalNames.h). Names that
  start with '.' are global and stay as they are at every step.
"""
from __future__ import annotations

from dataclasses import dataclass

from p4nic.compiler import ast


def external_name(decl, default: str | None = None) -> str:
    """`@name("x")`'s string if the declaration has one, else its own name."""
    if decl is not None and hasattr(decl, "annotation"):
        a = decl.annotation("name")
        if a is not None and a.args and isinstance(a.args[0], ast.StringLiteral):
            return a.args[0].value
    return default if default is not None else decl.name


def control_plane_name(decl, default: str | None = None) -> str:
    """The external name without the leading '.' that marks a global name."""
    name = external_name(decl, default)
    return name[1:] if name.startswith(".") else name


@dataclass(frozen=True)
class BlockPath:
    """Where an object lives: `top` is the declaration name of the outermost parser/control
    (None at top level), `path` the external names of the sub-control/sub-parser instances from
    there. `BlockPath("MyIngress", ("c1",)).name(table_t)` is "MyIngress.c1.t"."""
    top: str | None
    path: tuple = ()

    def name(self, decl) -> str:
        """Fully qualified control-plane name of `decl` (a table, action, instance, value set)
        declared in this block."""
        name = external_name(decl)
        for inst in reversed(self.path):
            if not name.startswith("."):
                name = inst + "." + name
        if self.top is not None and not name.startswith("."):
            name = self.top + "." + name
        return name[1:] if name.startswith(".") else name

    def enter(self, instance_name: str) -> "BlockPath":
        """The path inside a sub-control/sub-parser instance of this block, given the instance's
        external name (`external_name(instantiation)`; for `C.apply()` on a type, p4c's
        directCalls.cpp names the anonymous instance after the type)."""
        return BlockPath(self.top, self.path + (instance_name,))
