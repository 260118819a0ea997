"""Semantic types of the typed IR: what the type checker assigns to every expression.

Types are immutable values: two `BitsType(8)` are equal, so passes compare types with `==`.
Named aggregate types keep a reference to their declaration (ast node) for annotations and
source locations; equality of named types is by name, as P4 types are nominal.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


class P4Type:
    """Base class of all semantic types."""

    def width(self) -> int:
        """Width in bits of a fixed-width type (bits, bool, headers, structs of such)."""
        raise TypeError(f"type {self} has no fixed width")


@dataclass(frozen=True)
class BitsType(P4Type):
    """`bit<W>` or, with signed=True, `int<W>`."""
    w: int
    signed: bool = False

    def width(self) -> int:
        return self.w

    def __str__(self) -> str:
        return f"{'int' if self.signed else 'bit'}<{self.w}>"


@dataclass(frozen=True)
class VarbitType(P4Type):
    max_width: int

    def __str__(self) -> str:
        return f"varbit<{self.max_width}>"


@dataclass(frozen=True)
class IntType(P4Type):
    """Arbitrary-precision compile-time `int` (untyped integer literals)."""

    def __str__(self) -> str:
        return "int"


@dataclass(frozen=True)
class BoolType(P4Type):
    def width(self) -> int:
        return 1

    def __str__(self) -> str:
        return "bool"


@dataclass(frozen=True)
class StringType(P4Type):
    def __str__(self) -> str:
        return "string"


@dataclass(frozen=True)
class VoidType(P4Type):
    def __str__(self) -> str:
        return "void"


@dataclass(frozen=True)
class ErrorType(P4Type):
    """The single `error` type; its members are collected program-wide by the type checker."""

    def __str__(self) -> str:
        return "error"


@dataclass(frozen=True)
class MatchKindType(P4Type):
    def __str__(self) -> str:
        return "match_kind"


@dataclass(frozen=True)
class DontCareType(P4Type):
    def __str__(self) -> str:
        return "_"


@dataclass(frozen=True)
class TypeVariable(P4Type):
    """A generic type parameter (`T` in `extract<T>`) before specialisation."""
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Field:
    name: str
    type: P4Type


@dataclass(frozen=True)
class _Named(P4Type):
    """Nominal aggregate: equality and hashing by name only."""
    name: str
    decl: object = field(default=None, compare=False, hash=False, repr=False)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class StructLike(_Named):
    fields: tuple = field(default=(), compare=False, hash=False)

    def field(self, name: str) -> Optional[Field]:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def width(self) -> int:
        return sum(f.type.width() for f in self.fields)


@dataclass(frozen=True)
class HeaderType(StructLike):
    pass


@dataclass(frozen=True)
class HeaderUnionType(StructLike):
    pass


@dataclass(frozen=True)
class StructType(StructLike):
    pass


@dataclass(frozen=True)
class StackType(P4Type):
    """`H[size]`."""
    element: P4Type
    size: int

    def width(self) -> int:
        return self.element.width() * self.size

    def __str__(self) -> str:
        return f"{self.element}[{self.size}]"


@dataclass(frozen=True)
class TupleType(P4Type):
    elements: tuple

    def width(self) -> int:
        return sum(e.width() for e in self.elements)

    def __str__(self) -> str:
        return "tuple<" + ", ".join(map(str, self.elements)) + ">"


@dataclass(frozen=True)
class EnumType(_Named):
    """`enum E {...}`; with `underlying` a serializable enum whose members have values."""
    members: tuple = field(default=(), compare=False, hash=False)
    underlying: Optional[BitsType] = field(default=None, compare=False, hash=False)
    values: tuple = field(default=(), compare=False, hash=False)

    def width(self) -> int:
        if self.underlying is None:
            raise TypeError(f"enum {self.name} is not serializable")
        return self.underlying.width()


@dataclass(frozen=True)
class NewType(_Named):
    """`type T N;`: a distinct type with T's representation (P4Runtime translation applies)."""
    underlying: P4Type = field(default=None, compare=False, hash=False)

    def width(self) -> int:
        return self.underlying.width()


@dataclass(frozen=True)
class ExternType(_Named):
    """An extern (possibly specialised, e.g. register<bit<32>>)."""
    type_args: tuple = ()


@dataclass(frozen=True)
class ParserType(_Named):
    """A parser (declaration or type); `type_args` specialise a generic parser type."""
    type_args: tuple = field(default=(), compare=False, hash=False)


@dataclass(frozen=True)
class ControlType(_Named):
    """A control (declaration or type); `type_args` specialise a generic control type."""
    type_args: tuple = field(default=(), compare=False, hash=False)


@dataclass(frozen=True)
class PackageType(_Named):
    """A package type; `type_args` specialise a generic one (`V1Switch<H, M>`)."""
    type_args: tuple = field(default=(), compare=False, hash=False)


@dataclass(frozen=True)
class TableType(_Named):
    """Type of a table instance; `apply()` returns its `apply_result`."""


@dataclass(frozen=True)
class ActionType(_Named):
    pass


@dataclass(frozen=True)
class FunctionType(P4Type):
    params: tuple
    return_type: P4Type

    def __str__(self) -> str:
        return "(" + ", ".join(map(str, self.params)) + f") -> {self.return_type}"


def base_type(t: P4Type) -> P4Type:
    """The representation type: strips NewType and serializable enums to their bit type."""
    while True:
        if isinstance(t, NewType):
            t = t.underlying
        elif isinstance(t, EnumType) and t.underlying is not None:
            t = t.underlying
        else:
            return t


@dataclass(frozen=True)
class SetType(P4Type):
    """`set<T>`: keysets in select/entries (`a &&& m`, `lo .. hi`) and value_set instances."""
    element: P4Type

    def __str__(self) -> str:
        return f"set<{self.element}>"


@dataclass(frozen=True)
class ParserStateType(_Named):
    """A parser state used as a transition target."""


@dataclass(frozen=True)
class ActionEnumType(_Named):
    """`t.apply().action_run`: an enum whose members are the table's action names (name is the
    table's name)."""
    members: tuple = field(default=(), compare=False, hash=False)

    def __str__(self) -> str:
        return f"action_list({self.name})"


@dataclass(frozen=True)
class ListType(P4Type):
    """`list<T>` (P4-16 1.2.4): a compile-time list of any length."""
    element: P4Type

    def __str__(self) -> str:
        return f"list<{self.element}>"
