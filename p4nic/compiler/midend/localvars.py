"""Storage: where every P4 variable lives once the program runs on BMv2.

BMv2 has only header instances (and stacks/unions of them). Structs are taken apart field by
field, every scalar — user metadata, locals, temporaries — becomes a field of the one metadata
header `scalars` (as p4c does, backends/bmv2/common/header.cpp), headers become header
instances. A `Loc` says where a P4 value of some type is stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from p4nic.compiler import types as T
from p4nic.compiler.errors import CompileError
from p4nic.compiler.midend import ir

SCALARS = "scalars"
SCALARS_TYPE = "scalars_0"
STANDARD_METADATA = "standard_metadata"
ENUM_WIDTH = 32  # p4c stores non-serializable enums and errors in 32-bit fields


class Loc:
    """Where a value lives (or, for compile-time bindings, what it is)."""


@dataclass
class ScalarLoc(Loc):
    """A bit/bool/enum value: an lvalue Field (or access_field expression), or an rvalue."""
    expr: ir.LExpr
    type: T.P4Type


@dataclass
class HeaderLoc(Loc):
    """A header: `ref` is HeaderRef for a fixed instance, or an expression yielding a header
    (a stack element at a run-time index)."""
    ref: ir.LExpr
    type: T.HeaderType

    @property
    def name(self) -> Optional[str]:
        return self.ref.name if isinstance(self.ref, ir.HeaderRef) else None


@dataclass
class StackLoc(Loc):
    name: str
    type: T.StackType
    elements: list  # HeaderLoc or UnionLoc per index
    of_unions: bool = False


@dataclass
class UnionLoc(Loc):
    """A header union: a fixed instance (`name`), or an element of a union stack at a
    run-time index (`dynamic`, an expression yielding the union)."""
    name: Optional[str]
    type: T.HeaderUnionType
    members: dict  # member name -> HeaderLoc
    dynamic: Optional[ir.LExpr] = None

    @property
    def ref(self) -> ir.LExpr:
        return self.dynamic if self.dynamic is not None else ir.UnionRef(self.name)


@dataclass
class StructLoc(Loc):
    """A struct or tuple taken apart: member name (or index, for tuples) -> Loc."""
    type: T.P4Type
    fields: dict


@dataclass
class InvalidLoc(Loc):
    """The `{#}` value."""
    type: T.P4Type


@dataclass
class CompileTimeLoc(Loc):
    """A binding that is not run-time storage: an extern instance, a table, a control/parser
    instance, a value set, or a constant."""
    kind: str
    value: object
    type: Optional[T.P4Type] = None


def scalar_width(t: T.P4Type) -> int:
    b = T.base_type(t)
    if isinstance(b, (T.ErrorType, T.EnumType)):
        return ENUM_WIDTH
    if isinstance(b, T.BoolType):
        return 1
    if isinstance(b, T.BitsType):
        return b.w
    raise TypeError(f"{t} is not a scalar type")


def is_scalar(t: T.P4Type) -> bool:
    return isinstance(T.base_type(t), (T.BitsType, T.BoolType, T.ErrorType, T.EnumType))


def is_signed(t: T.P4Type) -> bool:
    b = T.base_type(t)
    return isinstance(b, T.BitsType) and b.signed


def width_of(t: T.P4Type) -> Optional[int]:
    """Bit width of a scalar type; None for `int` and aggregates."""
    b = T.base_type(t)
    if isinstance(b, T.BitsType):
        return b.w
    if is_scalar(b):
        return scalar_width(b)
    return None


def const_for(v: int, t: T.P4Type) -> ir.LExpr:
    """The constant v as a value of type t."""
    if isinstance(T.base_type(t), T.BoolType):
        return ir.BoolConst(bool(v))
    return ir.Const(v, width_of(t), is_signed(t))


class Names:
    """Hands out names unique within one namespace, p4c style: `x`, `x_0`, `x_1`, ..."""

    def __init__(self, taken=()):
        self.taken = set(taken)

    def fresh(self, base: str) -> str:
        if base not in self.taken:
            self.taken.add(base)
            return base
        return self.numbered(base)

    def numbered(self, base: str) -> str:
        """`base_0`, `base_1`, ...: for compiler-made tables and actions, so that no user
        table name is a suffix of one (STF and runtime CLIs find tables by suffix)."""
        i = 0
        while f"{base}_{i}" in self.taken:
            i += 1
        self.taken.add(f"{base}_{i}")
        return f"{base}_{i}"


class Storage:
    """Allocates header types, header instances, stacks, unions and `scalars` fields."""

    def __init__(self, lowered: ir.LoweredProgram):
        self.out = lowered
        self.header_type_names: dict = {}
        self.instances = Names()
        self.scalar_fields: list = []
        self.scalar_names = Names()
        self.union_types: set = set()

    # -- types ---------------------------------------------------------------------------------
    def header_type(self, t: T.HeaderType) -> str:
        if t.name in self.header_type_names:
            return self.header_type_names[t.name]
        fields, varbit = [], None
        for name, ftype in header_fields(t):
            ft = T.base_type(ftype)
            if isinstance(ft, T.VarbitType):
                fields.append([name, "*"])
                varbit = ft.max_width
            elif isinstance(ft, T.BitsType) and ft.signed and ft.w >= 2:  # BMv2: signed needs 2+
                fields.append([name, ft.w, True])
            elif is_scalar(ft):
                fields.append([name, scalar_width(ftype), False])
            else:
                raise CompileError(f"header field '{name}' of type {ftype} is not supported on "
                                   "BMv2", getattr(t.decl, "loc", None), "unsupported")
        fixed = sum(w for _, w, *_ in fields if w != "*")
        max_bytes = (fixed + varbit) // 8 if varbit is not None else None
        self.header_type_names[t.name] = t.name
        self.out.header_types.append(ir.HeaderTypeDef(t.name, fields, max_bytes))
        return t.name

    def union_type(self, t: T.HeaderUnionType) -> str:
        if t.name not in self.union_types:
            self.union_types.add(t.name)
            self.out.header_union_types.append(ir.HeaderUnionTypeDef(
                t.name, [(f.name, self.header_type(T.base_type(f.type))) for f in t.fields]))
        return t.name

    # -- instances -----------------------------------------------------------------------------
    def scalar(self, hint: str, t: T.P4Type) -> ScalarLoc:
        name = self.scalar_names.fresh(hint)
        self.scalar_fields.append((name, scalar_width(t), is_signed(t) and scalar_width(t) >= 2))
        return ScalarLoc(ir.Field(SCALARS, name, scalar_width(t), is_signed(t)), t)

    def header(self, hint: str, t: T.HeaderType, metadata: bool = False) -> HeaderLoc:
        name = self.instances.fresh(hint.replace(".", "_"))
        self.out.headers.append(ir.HeaderInstance(name, self.header_type(t), metadata))
        return HeaderLoc(ir.HeaderRef(name), t)

    def union(self, hint: str, t: T.HeaderUnionType) -> UnionLoc:
        name = self.instances.fresh(hint.replace(".", "_"))
        members = {f.name: self.header(f"{name}.{f.name}", T.base_type(f.type)) for f in t.fields}
        self.out.header_unions.append(ir.HeaderUnionDef(
            name, self.union_type(t), [m.name for m in members.values()]))
        return UnionLoc(name, t, members)

    def stack(self, hint: str, t: T.StackType, loc=None) -> StackLoc:
        name = self.instances.fresh(hint.replace(".", "_"))
        elem = T.base_type(t.element)
        if isinstance(elem, T.HeaderUnionType):
            unions = [self.union(f"{name}[{i}]", elem) for i in range(t.size)]
            self.out.header_union_stacks.append(ir.HeaderUnionStackDef(
                name, self.union_type(elem), [u.name for u in unions]))
            return StackLoc(name, t, unions, of_unions=True)
        if not isinstance(elem, T.HeaderType):
            raise CompileError(f"arrays of {elem} are not supported on BMv2 (only stacks of "
                               "headers or header unions)", loc, "unsupported")
        headers = [self.header(f"{name}[{i}]", elem) for i in range(t.size)]
        self.out.header_stacks.append(ir.HeaderStackDef(
            name, self.header_type(elem), [h.name for h in headers]))
        return StackLoc(name, t, headers)

    def varbit(self, hint: str, t: T.VarbitType) -> ScalarLoc:
        """A varbit local: BMv2 keeps variable-length values only in header fields, so it
        gets a header instance of its own with one varbit field `value`."""
        type_name = f"varbit_{t.max_width}_t"
        if type_name not in self.header_type_names:
            self.header_type_names[type_name] = type_name
            self.out.header_types.append(ir.HeaderTypeDef(type_name, [["value", "*"]],
                                                          t.max_width // 8))
        name = self.instances.fresh(hint.replace(".", "_"))
        self.out.headers.append(ir.HeaderInstance(name, type_name, False))
        return ScalarLoc(ir.Field(name, "value", 0), t)

    def alloc(self, hint: str, t: T.P4Type, loc=None) -> Loc:
        """Storage for a value of type t, named after hint (struct members join with '.')."""
        b = T.base_type(t)
        if is_scalar(b):
            return self.scalar(hint, t)
        if isinstance(b, T.VarbitType):
            return self.varbit(hint, b)
        if isinstance(b, T.HeaderType):
            return self.header(hint, b)
        if isinstance(b, T.HeaderUnionType):
            return self.union(hint, b)
        if isinstance(b, T.StackType):
            return self.stack(hint, b, loc)
        if isinstance(b, T.StructType):
            return StructLoc(b, {f.name: self.alloc(f"{hint}.{f.name}" if hint else f.name,
                                                    f.type, loc) for f in b.fields})
        if isinstance(b, T.TupleType):
            return StructLoc(b, {i: self.alloc(f"{hint}.{i}", e, loc)
                                 for i, e in enumerate(b.elements)})
        raise CompileError(f"cannot store a value of type {t} on BMv2", loc, "unsupported")

    def finish(self) -> None:
        """Declare the `scalars` header type and instance (first, as p4c lists them), padded
        to whole bytes as p4c pads it."""
        fields = [[n, w, s] for n, w, s in self.scalar_fields]
        pad_to_bytes(fields, self.scalar_names)
        self.out.header_types.insert(0, ir.HeaderTypeDef(SCALARS_TYPE, fields))
        self.out.headers.insert(0, ir.HeaderInstance(SCALARS, SCALARS_TYPE, True))


def header_fields(t: T.StructLike, prefix: str = "") -> list:
    """A header's fields as BMv2 sees them: (name, type), structs inside the header taken
    apart into `outer_inner` fields in bit order (p4c flattens them the same way)."""
    out = []
    for f in t.fields:
        ft = T.base_type(f.type)
        if isinstance(ft, T.StructType):
            out.extend(header_fields(ft, f"{prefix}{f.name}_"))
        else:
            out.append((prefix + f.name, f.type))
    return out


def check_byte_aligned(t: T.P4Type, node) -> None:
    """Headers that go to or from the packet must be whole bytes on BMv2 (p4c reports the
    same for its BMv2 back ends)."""
    b = T.base_type(t)
    if isinstance(b, T.HeaderType):
        bits = sum(scalar_width(ft) for _, ft in header_fields(b)
                   if not isinstance(T.base_type(ft), T.VarbitType))
        if bits % 8:
            raise CompileError(f"header {b.name} is {bits} bits, not a whole number of bytes, "
                               "so BMv2 cannot extract or emit it", getattr(node, "loc", None),
                               "unsupported")


def pad_to_bytes(fields: list, names: Names) -> None:
    """Append a `_padding` field so a metadata header type is a whole number of bytes."""
    bits = sum(f[1] for f in fields)
    if bits % 8:
        fields.append([names.fresh("_padding"), 8 - bits % 8, False])
