"""P4Info back end: `build_p4info(typed) -> p4.config.v1.p4info_pb2.P4Info`.

Writes what p4c's control-plane/p4RuntimeSerializer.cpp and the v1model handler of
p4RuntimeArchStandard.{h,cpp} write: tables, actions, action profiles, counters, meters,
registers, digests, value sets, controller packet metadata and type_info, with ids from
`ids.py` and names from `collect.py`.
"""
from __future__ import annotations

from p4.config.v1 import p4info_pb2

from p4nic.compiler import ast, types as T
from p4nic.compiler.consteval import NotConstant, evaluate
from p4nic.compiler.errors import CompileError
from p4nic.compiler.p4info import ids
from p4nic.compiler.p4info.annotations import (add_annotations, add_documentation, is_hidden,
                                               set_preamble, user_id)
from p4nic.compiler.p4info.naming import control_plane_name, external_name
from p4nic.compiler.p4info.collect import collect, instance_decl
from p4nic.compiler.p4info.typespec import (TypeSpecs, bytes_of, control_plane_width,
                                            flattened_fields, type_name)

DEFAULT_TABLE_SIZE = 1024  # p4c backends/bmv2/common/v1model.h tableAttributes.defaultTableSize

MATCH_TYPES = {"exact": p4info_pb2.MatchField.EXACT, "lpm": p4info_pb2.MatchField.LPM,
               "ternary": p4info_pb2.MatchField.TERNARY, "range": p4info_pb2.MatchField.RANGE,
               "optional": p4info_pb2.MatchField.OPTIONAL}

COUNTER_UNITS = {"packets": p4info_pb2.CounterSpec.PACKETS,
                 "bytes": p4info_pb2.CounterSpec.BYTES,
                 "packets_and_bytes": p4info_pb2.CounterSpec.BOTH}
METER_UNITS = {"packets": p4info_pb2.MeterSpec.PACKETS, "bytes": p4info_pb2.MeterSpec.BYTES}

EXTERN_KINDS = {"counter": ids.COUNTER, "direct_counter": ids.DIRECT_COUNTER,
                "meter": ids.METER, "direct_meter": ids.DIRECT_METER,
                "action_profile": ids.ACTION_PROFILE, "action_selector": ids.ACTION_PROFILE,
                "register": ids.REGISTER, "value_set": ids.VALUE_SET}


def build_p4info(typed) -> p4info_pb2.P4Info:
    return P4InfoBuilder(typed).build()


def _err(msg, node):
    return CompileError(msg, getattr(node, "loc", None), kind="type")


class P4InfoBuilder:
    def __init__(self, typed):
        self.typed = typed
        self.objects = collect(typed)
        self.symbols = ids.SymbolTable()
        self.p4info = p4info_pb2.P4Info()
        self.specs = TypeSpecs(self.p4info)
        self.controller_headers = [d for d in typed.program.declarations
                                   if isinstance(d, ast.HeaderTypeDeclaration)
                                   and d.annotation("controller_header") is not None]

    # -----------------------------------------------------------------------------------------
    def build(self) -> p4info_pb2.P4Info:
        self.add_symbols()
        self.symbols.assign()
        for t in self.objects.tables:
            self.table(t)
        for name, action in self.objects.actions.items():
            self.action(name, action)
        for inst in self.objects.instances:
            self.instance(inst)
        if self.objects.extern_function_called:
            self.specs.touch()
        for name, data_type in self.objects.digests:
            self.digest(name, data_type)
        for h in self.controller_headers:
            self.controller_header(h)
        self.pkg_info()
        return self.p4info

    def add_symbols(self) -> None:
        s = self.symbols
        self.check_unique_names()
        for t in self.objects.tables:
            s.add(ids.TABLE, t.name, user_id(t.decl), t.decl.loc)
            for prop, kind in (("implementation", ids.ACTION_PROFILE),
                               ("counters", ids.DIRECT_COUNTER), ("meters", ids.DIRECT_METER)):
                p = t.decl.prop(prop)
                if p is not None and isinstance(p.value, ast.ConstructorCall):
                    s.add(kind, self.in_place_name(t, p))
        for name, action in self.objects.actions.items():
            s.add(ids.ACTION, name, user_id(action), action.loc)
        for inst in self.objects.instances:
            kind = EXTERN_KINDS.get(inst.extern)
            if kind is not None:
                s.add(kind, inst.name, user_id(inst.decl), inst.decl.loc)
        for h in self.controller_headers:
            s.add(ids.CONTROLLER_HEADER, control_plane_name(h), user_id(h), h.loc)
        for name, _ in self.objects.digests:
            s.add(ids.DIGEST, name)

    def check_unique_names(self) -> None:
        """No two tables, nor two extern instances of one kind, share a name (p4c's
        serializer: "Name ... is used for multiple ... objects in the P4Info message")."""
        seen = {}
        for kind, name, node in [("table", t.name, t.decl) for t in self.objects.tables] + [
                (i.extern, i.name, i.decl) for i in self.objects.instances]:
            if (kind, name) in seen:
                raise _err(f"name '{name}' is used for multiple {kind} objects in the P4Info "
                           f"message (also at {seen[kind, name].loc})", node)
            seen[kind, name] = node

    def in_place_name(self, table, prop) -> str:
        """An extern constructed in a table property is named by the property's @name, which
        p4c leaves unprefixed (hierarchicalNames.h does not visit table properties)."""
        if prop.annotation("name") is None:
            raise _err(f"table '{table.name}' has an anonymous table property '{prop.name}' "
                       f"with no name annotation, which is not supported by P4Runtime", prop)
        return control_plane_name(prop)

    def preamble(self, msg, kind: int, name: str, node, skip=()) -> None:
        set_preamble(msg.preamble, self.symbols.id(kind, name), name, self.symbols.alias(name),
                     node, skip)

    @staticmethod
    def value(expr, constants: dict):
        """Compile-time value of `expr` where `constants` (constants and constructor parameters
        of the enclosing instance) are known."""
        try:
            return evaluate(expr, constants)
        except NotConstant as nc:
            raise _err("expected a compile-time constant", nc.expr or expr) from None

    # -----------------------------------------------------------------------------------------
    def table(self, t) -> None:
        d = t.decl
        if is_hidden(d):
            return
        msg = self.p4info.tables.add()
        self.preamble(msg, ids.TABLE, t.name, d)
        self.match_fields(msg, d)
        for _, action_name, ref_annotations in t.actions:
            ref = msg.action_refs.add()
            ref.id = self.symbols.id(ids.ACTION, action_name)
            names = {a.name for a in ref_annotations}
            add_annotations(ref, _Annotated(ref_annotations))
            if "tableonly" in names:
                ref.scope = p4info_pb2.ActionRef.TABLE_ONLY
            elif "defaultonly" in names:
                ref.scope = p4info_pb2.ActionRef.DEFAULT_ONLY
        default_prop = d.prop("default_action")
        default_action, args = t.default_action, t.default_args
        default_id = self.symbols.id(ids.ACTION, t.default_name)
        if default_prop is not None and default_prop.const:
            msg.const_default_action_id = default_id
        msg.initial_default_action.action_id = default_id
        # Only directionless parameters reach the control plane: p4c's RemoveActionParameters
        # turns the others into locals before P4Info is written.
        bound = [(p, a) for p, a in zip(default_action.params, args) if p.direction is None]
        params = [p for p in default_action.params if p.direction is None]
        param_ids = dict(zip(map(id, params), ids.field_ids(params, user_id)))
        for param, arg in bound:
            pid = param_ids[id(param)]
            if arg.value is None or isinstance(arg.value, ast.DontCare):
                continue
            v = self.value(arg.value, t.constants)
            if isinstance(v, bool):
                v = int(v)
            if not isinstance(v, int) or v < 0:
                continue
            width = control_plane_width(arg.value.type)  # translated types: their sdn width
            if width <= 0:
                continue
            a = msg.initial_default_action.arguments.add()
            a.param_id = pid
            a.value = bytes_of(v, width)
        self.table_properties(msg, t)
        size = d.prop("size")
        msg.size = (self.value(size.value, t.constants) or DEFAULT_TABLE_SIZE) if size \
            else DEFAULT_TABLE_SIZE
        entries = d.prop("entries")
        if entries is not None and entries.const:
            msg.is_const_table = True
        if entries is not None and entries.value:
            msg.has_initial_entries = True

    def match_fields(self, msg, d) -> None:
        key = d.prop("key")
        elements = key.value if key else []
        # Ids are allocated over every key element, `selector` ones included, although those
        # are not shown (p4RuntimeSerializer.cpp getMatchFields).
        for k, fid in zip(elements, ids.field_ids(elements, user_id)):
            if k.match_kind == "selector":
                continue
            f = msg.match_fields.add()
            f.id = fid
            f.name = key_name(k)
            add_annotations(f, k)
            add_documentation(f, k)
            t = k.expr.type
            self.specs.convert(t) if not isinstance(t, T.BoolType) else self.specs.touch()
            f.bitwidth = control_plane_width(t)
            if k.match_kind in MATCH_TYPES:
                f.match_type = MATCH_TYPES[k.match_kind]
            else:
                f.other_match_type = k.match_kind
            if type_name(t):
                f.type_name.name = type_name(t)
        self.specs.touch()

    def table_properties(self, msg, t) -> None:
        d = t.decl
        impl = d.prop("implementation")
        if impl is not None:
            name, inst = self.extern_of_property(t, impl)
            msg.implementation_id = self.symbols.id(ids.ACTION_PROFILE, name)
            if isinstance(impl.value, ast.ConstructorCall):
                self.action_profile(name, impl.value.type_ref.decl.name, impl.value.args,
                                    impl.value.type_ref.decl, impl, t.constants)
        for prop_name, kind, units, repeated in (
                ("counters", ids.DIRECT_COUNTER, COUNTER_UNITS, self.p4info.direct_counters),
                ("meters", ids.DIRECT_METER, METER_UNITS, self.p4info.direct_meters)):
            p = d.prop(prop_name)
            if p is None:
                continue
            name, inst = self.extern_of_property(t, p)
            wanted = "direct_counter" if prop_name == "counters" else "direct_meter"
            given = (p.value.type_ref.decl.name if isinstance(p.value, ast.ConstructorCall)
                     else instance_decl(inst).name)
            if given != wanted:
                raise _err(f"table property '{prop_name}' of table '{t.name}' must be a "
                           f"{wanted}, not a {given}", p.value)
            rid = self.symbols.id(kind, name)
            msg.direct_resource_ids.append(rid)
            args, extern, node = ((p.value.args, p.value.type_ref.decl, p)
                                  if isinstance(p.value, ast.ConstructorCall)
                                  else (inst.args, instance_decl(inst), inst))
            r = repeated.add()
            set_preamble(r.preamble, rid, name, self.symbols.alias(name), node)
            unit = self.ctor_arg(extern, args, "type")
            r.spec.unit = units.get(getattr(unit, "member", ""), 0)
            r.direct_table_id = self.symbols.id(ids.TABLE, t.name)
        if d.prop("support_timeout") is not None:
            v = d.prop("support_timeout").value
            if isinstance(v, ast.BoolLiteral) and v.value:
                msg.idle_timeout_behavior = p4info_pb2.Table.NOTIFY_CONTROL

    def extern_of_property(self, t, prop):
        """(control-plane name, Instantiation or None) of a table property naming an extern."""
        v = prop.value
        if isinstance(v, ast.ConstructorCall):
            return self.in_place_name(t, prop), None
        if isinstance(v, ast.Name) and isinstance(v.decl, ast.Instantiation):
            # the instance of this table's own control instance (a sub-control instantiated
            # twice has two), else the one declaration (a top-level or constructor argument)
            own = t.scope.name(v.decl)
            found = [inst.name for inst in self.objects.instances if inst.decl is v.decl]
            return (own if own in found or not found else found[0]), v.decl
        raise _err(f"table property '{prop.name}' must name an extern instance", prop)

    @staticmethod
    def ctor_arg(extern: ast.ExternDeclaration, args: list, param: str):
        """The argument given for constructor parameter `param` (overloads picked by arity)."""
        for ctor in (m for m in extern.methods if m.return_type is None and m.name == extern.name):
            if any(a.name for a in args):
                for a in args:
                    if a.name == param:
                        return a.value
                continue
            if len(args) != len(ctor.params):
                continue
            for p, a in zip(ctor.params, args):
                if p.name == param:
                    return a.value
        return None

    # -----------------------------------------------------------------------------------------
    def action(self, name: str, action: ast.ActionDeclaration) -> None:
        if is_hidden(action):
            return
        msg = self.p4info.actions.add()
        self.preamble(msg, ids.ACTION, name, action)
        if name in self.objects.called_directly:
            return
        params = [p for p in action.params if p.direction is None]
        for p, pid in zip(params, ids.field_ids(params, user_id)):
            m = msg.params.add()
            m.id = pid
            m.name = control_plane_name(p)
            add_annotations(m, p)
            add_documentation(m, p)
            t = p.type_ref.type
            if not isinstance(t, (T.BitsType, T.BoolType, T.NewType, T.EnumType)):
                raise _err(f"action parameter '{p.name}' has type {t}, which is not bit<>, "
                           f"int<>, bool, type or serializable enum", p)
            if not (isinstance(t, T.EnumType) and t.underlying is None):
                m.bitwidth = control_plane_width(t)
            self.specs.convert(t)
            if type_name(t):
                m.type_name.name = type_name(t)
            elif isinstance(t, T.EnumType) and t.underlying is None:
                m.type_name.name = control_plane_name(t.decl, t.name)

    def instance(self, inst) -> None:
        decl = inst.decl
        if inst.extern == "value_set":
            self.value_set(inst)
            return
        self.specs.touch()
        extern = instance_decl(decl)
        if inst.extern in ("counter", "meter"):
            repeated, kind, units = ((self.p4info.counters, ids.COUNTER, COUNTER_UNITS)
                                     if inst.extern == "counter"
                                     else (self.p4info.meters, ids.METER, METER_UNITS))
            msg = repeated.add()
            self.preamble(msg, kind, inst.name, decl)
            unit = self.ctor_arg(extern, decl.args, "type")
            msg.spec.unit = units.get(getattr(unit, "member", ""), 0)
            msg.size = self.value(self.ctor_arg(extern, decl.args, "size"), inst.constants)
        elif inst.extern == "register":
            msg = self.p4info.registers.add()
            self.preamble(msg, ids.REGISTER, inst.name, decl)
            msg.size = self.value(self.ctor_arg(extern, decl.args, "size"), inst.constants)
            msg.type_spec.CopyFrom(self.specs.convert(decl.type_ref.type.type_args[0]))
        elif inst.extern in ("action_profile", "action_selector"):
            self.action_profile(inst.name, inst.extern, decl.args, extern, decl, inst.constants)

    def action_profile(self, name, extern_name, args, extern, node, constants) -> None:
        msg = self.p4info.action_profiles.add()
        self.preamble(msg, ids.ACTION_PROFILE, name, node,
                      skip=("max_group_size", "selector_size_semantics", "max_member_weight"))
        for t in sorted(self.objects.tables, key=lambda t: t.name):
            impl = t.decl.prop("implementation")
            if impl is not None and self.extern_of_property(t, impl)[0] == name:
                if not msg.table_ids or msg.table_ids[-1] != self.symbols.id(ids.TABLE, t.name):
                    msg.table_ids.append(self.symbols.id(ids.TABLE, t.name))
        msg.with_selector = extern_name == "action_selector"
        msg.size = self.value(self.ctor_arg(extern, args, "size"), constants)
        mgs = node.annotation("max_group_size")
        if mgs is not None and msg.with_selector and mgs.args:
            msg.max_group_size = mgs.args[0].value

    def value_set(self, inst) -> None:
        decl = inst.decl
        msg = self.p4info.value_sets.add()
        self.preamble(msg, ids.VALUE_SET, inst.name, decl)
        msg.size = self.value(decl.size, inst.constants)
        et = decl.element_type.type
        if isinstance(et, T.BitsType):
            m = msg.match.add()
            m.id = 1
            m.bitwidth = et.w
            m.match_type = p4info_pb2.MatchField.EXACT
        elif isinstance(et, T.StructType):
            fdecls = list(et.decl.fields)
            for f, fid in zip(fdecls, ids.field_ids(fdecls, user_id)):
                m = msg.match.add()
                m.id = fid
                m.name = control_plane_name(f)
                m.bitwidth = T.base_type(f.type_ref.type).width()
                kind_ann = f.annotation("match")
                kind = "exact"
                if kind_ann is not None and kind_ann.args:
                    kind = getattr(kind_ann.args[0], "name", kind_ann.raw.strip())
                if kind in MATCH_TYPES:
                    m.match_type = MATCH_TYPES[kind]
                else:
                    m.other_match_type = kind
                add_annotations(m, f, skip=("match",))
                add_documentation(m, f)

    def digest(self, name: str, data_type) -> None:
        msg = self.p4info.digests.add()
        msg.preamble.id = self.symbols.id(ids.DIGEST, name)
        msg.preamble.name = name
        msg.preamble.alias = self.symbols.alias(name)
        msg.type_spec.CopyFrom(self.specs.convert(data_type))

    def controller_header(self, h: ast.HeaderTypeDeclaration) -> None:
        if is_hidden(h):
            return
        header_type = self.typed_header(h)
        ann = h.annotation("controller_header")
        name = ann.args[0].value if ann.args else ann.raw.strip().strip('"')
        msg = self.p4info.controller_packet_metadata.add()
        set_preamble(msg.preamble, self.symbols.id(ids.CONTROLLER_HEADER, control_plane_name(h)),
                     name, name, h)
        fields = [(n, ft, fd) for n, ft, fd in flattened_fields(header_type)
                  if fd is None or not is_hidden(fd)]
        fids = ids.field_ids([fd for _, _, fd in fields],
                             lambda fd: user_id(fd) if fd is not None else None)
        for (fname, ftype, fd), fid in zip(fields, fids):
            m = msg.metadata.add()
            m.id = fid
            m.name = fname
            add_annotations(m, fd)
            m.bitwidth = control_plane_width(ftype)
            self.specs.convert(ftype)
            if type_name(ftype):
                m.type_name.name = type_name(ftype)

    @staticmethod
    def typed_header(h) -> T.HeaderType:
        """The HeaderType of a header declaration, from its fields' resolved types."""
        return T.HeaderType(h.name, h, tuple(T.Field(f.name, f.type_ref.type) for f in h.fields))

    def pkg_info(self) -> None:
        pkg = self.p4info.pkg_info
        pkg.arch = "v1model"
        main = self.typed.main
        if main is None:
            return
        info = main.annotation("pkginfo")
        for k, v in (info.kv if info is not None else {}).items():
            if k in ("name", "version", "organization", "contact", "url", "arch"):
                if not isinstance(v, ast.StringLiteral):
                    raise _err(f"value for '{k}' key in @pkginfo annotation is not a string", v)
                setattr(pkg, k, v.value)
        props = main.annotation("platform_property")
        for k, v in (props.kv if props is not None else {}).items():
            if k in ("multicast_group_table_size", "multicast_group_table_total_replicas",
                     "multicast_group_table_max_replicas_per_entry"):
                if not isinstance(v, ast.IntLiteral):
                    raise _err(f"value for '{k}' key in @platform_property annotation is not "
                               f"an integer", v)
                setattr(pkg.platform_properties, k, v.value)
        add_annotations(pkg, main, skip=("pkginfo", "platform_property"))
        add_documentation(pkg, main)


class _Annotated:
    """Wraps a bare annotation list for add_annotations."""

    def __init__(self, annotations):
        self.annotations = annotations


def key_name(k: ast.KeyElement) -> str:
    """A match field's name: its @name, else the key expression's text (p4c
    frontends/p4/tableKeyNames.cpp: `isValid()` becomes `$valid$`)."""
    ann = k.annotation("name")
    if ann is not None and ann.args and isinstance(ann.args[0], ast.StringLiteral):
        return ann.args[0].value
    text = _key_text(k.expr)
    if text is None:
        raise _err("complex key expression requires a @name annotation", k.expr)
    return text


def _key_text(e):
    if isinstance(e, ast.Name):
        return ("." if e.global_scope else "") + e.name
    if isinstance(e, ast.Member):
        t = e.expr.type
        member = e.member
        if isinstance(t, T.StructLike):
            f = next((f for f in getattr(t.decl, "fields", []) if f.name == member), None)
            if f is not None:
                member = external_name(f)
                if member.startswith("."):
                    return member[1:]
        inner = _key_text(e.expr)
        return None if inner is None else inner + "." + member
    if isinstance(e, ast.MethodCall) and isinstance(e.callee, ast.Member) and \
            e.callee.member == "isValid" and not e.args and \
            isinstance(e.callee.expr.type, (T.HeaderType, T.HeaderUnionType)):
        inner = _key_text(e.callee.expr)
        return None if inner is None else inner + ".$valid$"
    if isinstance(e, ast.Index):
        a, b = _key_text(e.expr), _key_text(e.index)
        return None if a is None or b is None else f"{a}[{b}]"
    if isinstance(e, ast.IntLiteral):
        return _int_text(e)
    if isinstance(e, ast.Slice):
        a, hi, lo = _key_text(e.expr), _key_text(e.hi), _key_text(e.lo)
        return None if None in (a, hi, lo) else f"{a}[{hi}:{lo}]"
    if isinstance(e, ast.Binary) and e.op == "&":
        a, b = _key_text(e.left), _key_text(e.right)
        return None if a is None or b is None else f"{a} & {b}"
    return None


def _int_text(e: ast.IntLiteral) -> str:
    """p4c prints key constants as Util::toString(value, 0, false, base): the value in its
    source base, with 0x/0o/0b prefixes and no width."""
    v = e.value
    if e.base == 16:
        return hex(v) if v >= 0 else "-" + hex(-v)
    if e.base == 8:
        return "0o" + format(v, "o") if v else "0"
    if e.base == 2:
        return bin(v)
    return str(v)
