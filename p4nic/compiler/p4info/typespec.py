"""P4 types as P4Info `P4DataTypeSpec`s, recording named types in `type_info` on the way.

Follows p4c's control-plane/typeSpecConverter.cpp: structs, headers, unions, enums,
serializable enums and `type` declarations are referred to by name and described once in
`type_info`; headers with struct-typed fields are flattened (flattenHeader.cpp, names joined
with '.'); a `type` with `@p4runtime_translation(uri, W or string)` records the translation
instead of its original type.
"""
from __future__ import annotations

import re

from p4nic.proto import p4types_pb2

from p4nic.compiler import ast, types as T
from p4nic.compiler.p4info.annotations import add_annotations
from p4nic.compiler.p4info.naming import control_plane_name, external_name


def translation(t):
    """(uri, sdn_bitwidth or "string") of a `type` with @p4runtime_translation, else None.
    The second argument may be an integer (legacy), `bit<W>` or `string` (typeSpecConverter.cpp
    hasTranslationAnnotation)."""
    decl = getattr(t, "decl", None)
    a = decl.annotation("p4runtime_translation") if isinstance(t, T.NewType) and decl else None
    if a is None:
        return None
    if len(a.args) == 2 and isinstance(a.args[0], ast.StringLiteral):
        second = a.args[1]
        if isinstance(second, ast.IntLiteral):
            return a.args[0].value, second.value
        if isinstance(second, (ast.StringLiteral, ast.StringTypeRef)):
            return a.args[0].value, "string"
        if isinstance(second, ast.BitsTypeRef) and isinstance(second.width, ast.IntLiteral):
            return a.args[0].value, second.width.value
    m = re.fullmatch(r'\s*"((?:[^"\\]|\\.)*)"\s*,\s*(.*?)\s*', a.raw or "", re.S)
    if m is None:
        return None
    rest = m.group(2)
    width = re.fullmatch(r"bit\s*<\s*(\d+)\s*>|(\d+)", rest)
    if width is not None:
        return m.group(1), int(width.group(1) or width.group(2))
    return m.group(1), "string"


def control_plane_width(t) -> int:
    """Bit width the controller sees: the translated width for translated `type`s (0 for
    string translations), else the representation's width."""
    tr = translation(t)
    if tr is not None:
        return 0 if tr[1] == "string" else tr[1]
    try:
        return T.base_type(t).width()
    except TypeError:
        return 0  # `error` and other types without a bit width (p4c writes 0)


def type_name(t) -> str | None:
    """The P4Info `type_name` of a value of type `t`: set only for `type` declarations."""
    return t.name if isinstance(t, T.NewType) else None


def bytes_of(value: int, width: int) -> bytes:
    """P4Runtime's padded big-endian byte string (p4c bytestrings.cpp stringReprConstant)."""
    return int(value).to_bytes(max(1, (width + 7) // 8), "big")


def flattened_fields(header: T.StructLike) -> list:
    """(control-plane name, type, StructField decl) of a header's fields, nested structs
    flattened into dotted names."""
    out = []

    def walk(struct, prefix):
        decls = {f.name: f for f in getattr(struct.decl, "fields", [])}
        for f in struct.fields:
            d = decls.get(f.name)
            name = (external_name(d) if d is not None else f.name).lstrip(".")
            if isinstance(f.type, T.StructType):
                walk(f.type, prefix + [name])
            else:
                out.append((".".join(prefix + [name]), f.type, d))

    walk(header, [])
    return out


class TypeSpecs:
    """Converts types against one P4Info's type_info (created on first use, as p4c does)."""

    def __init__(self, p4info):
        self.p4info = p4info

    @property
    def info(self):
        return self.p4info.type_info

    def touch(self) -> None:
        """Create `type_info` (empty) where p4c would call mutable_type_info()."""
        self.p4info.type_info.SetInParent()

    def convert(self, t) -> p4types_pb2.P4DataTypeSpec:
        self.touch()
        spec = p4types_pb2.P4DataTypeSpec()
        if isinstance(t, T.BitsType):
            if t.signed:
                spec.bitstring.int.bitwidth = t.w
            else:
                spec.bitstring.bit.bitwidth = t.w
        elif isinstance(t, T.VarbitType):
            spec.bitstring.varbit.max_bitwidth = t.max_width
        elif isinstance(t, T.BoolType):
            spec.bool.SetInParent()
        elif isinstance(t, T.ErrorType):
            spec.error.SetInParent()
        elif isinstance(t, T.TupleType):
            spec.tuple.SetInParent()
            for e in t.elements:
                spec.tuple.members.add().CopyFrom(self.convert(e))
        elif isinstance(t, T.StackType):
            name = control_plane_name(t.element.decl, t.element.name)
            if isinstance(t.element, T.HeaderUnionType):
                spec.header_union_stack.header_union.name = name
                spec.header_union_stack.size = t.size
            else:
                spec.header_stack.header.name = name
                spec.header_stack.size = t.size
            self.describe(t.element)
        elif isinstance(t, T.NewType):
            spec.new_type.name = control_plane_name(t.decl, t.name)
            self.describe(t)
        elif isinstance(t, T.EnumType):
            name = control_plane_name(t.decl, t.name)
            if t.underlying is not None:
                spec.serializable_enum.name = name
            else:
                getattr(spec, "enum").name = name
            self.describe(t)
        elif isinstance(t, T.HeaderType):
            spec.header.name = control_plane_name(t.decl, t.name)
            self.describe(t)
        elif isinstance(t, T.HeaderUnionType):
            spec.header_union.name = control_plane_name(t.decl, t.name)
            self.describe(t)
        elif isinstance(t, T.StructType):
            getattr(spec, "struct").name = control_plane_name(t.decl, t.name)
            self.describe(t)
        return spec

    def describe(self, t) -> None:
        """Add the `type_info` entry of a named type (once)."""
        info = self.info
        name = control_plane_name(t.decl, t.name)
        if isinstance(t, T.NewType):
            if name in info.new_types:
                return
            underlying = t.underlying
            while isinstance(underlying, T.NewType):
                underlying = underlying.underlying
            entry = p4types_pb2.P4NewTypeSpec()
            add_annotations(entry, t.decl, skip=("p4runtime_translation",))
            translated = translation(t)
            if translated is not None:
                entry.translated_type.uri = translated[0]
                if translated[1] == "string":
                    entry.translated_type.sdn_string.SetInParent()
                else:
                    entry.translated_type.sdn_bitwidth = translated[1]
            else:
                entry.original_type.CopyFrom(self.convert(underlying))
            info.new_types[name].CopyFrom(entry)
        elif isinstance(t, T.EnumType) and t.underlying is not None:
            if name in info.serializable_enums:
                return
            entry = info.serializable_enums[name]
            entry.underlying_type.bitwidth = t.underlying.w
            for member, value in zip(t.members, t.values):
                m = entry.members.add()
                m.name = member
                m.value = bytes_of(value & ((1 << t.underlying.w) - 1), t.underlying.w)
        elif isinstance(t, T.EnumType):
            if name in info.enums:
                return
            entry = info.enums[name]
            for member in t.members:
                entry.members.add().name = member
        elif isinstance(t, T.HeaderType):
            if name in info.headers:
                return
            entry = p4types_pb2.P4HeaderTypeSpec()
            for fname, ftype, _ in flattened_fields(t):
                m = entry.members.add()
                m.name = fname
                m.type_spec.CopyFrom(self.convert(ftype).bitstring)
            info.headers[name].CopyFrom(entry)
        elif isinstance(t, T.HeaderUnionType):
            if name in info.header_unions:
                return
            entry = p4types_pb2.P4HeaderUnionTypeSpec()
            for f in t.fields:
                m = entry.members.add()
                m.name = f.name
                m.header.CopyFrom(self.convert(f.type).header)
            info.header_unions[name].CopyFrom(entry)
        elif isinstance(t, T.StructType):
            if name in info.structs:
                return
            entry = p4types_pb2.P4StructTypeSpec()
            decls = {f.name: f for f in getattr(t.decl, "fields", [])}
            for f in t.fields:
                m = entry.members.add()
                d = decls.get(f.name)
                m.name = control_plane_name(d, f.name)
                m.type_spec.CopyFrom(self.convert(f.type))
            info.structs[name].CopyFrom(entry)

