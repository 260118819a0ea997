"""v1model externs: instances to BMv2 arrays and profiles, calls to simple_switch primitives.

The primitive names and argument orders are simple_switch's (docs/simple_switch.md and p4c's
backends/bmv2/simple_switch/simpleSwitch.cpp): `count`, `execute_meter`, `register_read`,
`register_write`, `modify_field_with_hash_based_offset`, `modify_field_rng_uniform`,
`generate_digest`, `clone_ingress_pkt_to_egress`, `clone_egress_pkt_to_egress`, `resubmit`,
`recirculate`, `mark_to_drop`, `truncate`, `log_msg`, `assert`, `assume`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from p4nic.compiler import ast
from p4nic.compiler import types as T
from p4nic.compiler.errors import CompileError
from p4nic.compiler.midend import ir
from p4nic.compiler.midend.flatten import as_bool, as_data, unsupported
from p4nic.compiler.midend.inline import bind_call
from p4nic.compiler.p4info.naming import control_plane_name
from p4nic.compiler.midend.localvars import (
    STANDARD_METADATA, CompileTimeLoc, HeaderLoc, ScalarLoc, StackLoc, StructLoc, UnionLoc,
    header_fields, is_scalar)

HASH_ALGORITHMS = {"crc32", "crc32_custom", "crc16", "crc16_custom", "random", "identity",
                   "csum16", "xor16"}


@dataclass
class ExternInstance:
    """One instantiated extern; direct counters/meters learn their table when one uses them."""
    kind: str
    name: str
    decl: object
    args: dict  # constructor parameter name -> argument expression
    type: object = None
    binding: Optional[str] = None
    size: int = 0
    result_target: Optional[ir.Field] = None
    read_at: object = None      # the direct_meter.read call that set result_target
    emitted: object = None
    meter_type: str = "packets"
    loc: object = None


def leaf_values(flat, loc, node) -> list:
    """The scalars of a value in order: struct members, header fields; headers as a whole."""
    if isinstance(loc, ScalarLoc):
        return [loc.expr]
    if isinstance(loc, HeaderLoc):
        return [flat.header_field(loc, name) for name, _ in header_fields(loc.type)]
    if isinstance(loc, StructLoc):
        out = []
        for v in loc.fields.values():
            out.extend(leaf_values(flat, v, node))
        return out
    if isinstance(loc, StackLoc):
        out = []
        for h in loc.elements:
            out.extend(leaf_values(flat, h, node))
        return out
    if isinstance(loc, UnionLoc):
        out = []
        for h in loc.members.values():
            out.extend(leaf_values(flat, h, node))
        return out
    raise unsupported("expected a list of fields", node)


def materialize(flat, v: ir.LExpr, node) -> ir.Field:
    """A computed value stored in a temporary field (field lists and calculations take only
    fields)."""
    value = as_data(v)
    tmp = flat.temp(T.BitsType(getattr(value, "width", None) or 32))
    flat.sink.append(ir.Primitive("assign", [tmp.expr, value], node.loc))
    return tmp.expr


class Externs:
    """Lowers extern instantiations and calls for one program."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.instances: list = []
        self.anonymous_digests: dict = {}  # id(digest call) -> its name
        self.field_list_by_index: dict = {}

    # -- instances -----------------------------------------------------------------------------
    def instantiate(self, scope, decl: ast.Instantiation, name: str) -> CompileTimeLoc:
        t = decl.type_ref.type
        kind = t.name if isinstance(t, T.ExternType) else decl.type_ref.name
        ext_decl = getattr(decl.type_ref, "decl", None)
        ctor = None
        if isinstance(ext_decl, ast.ExternDeclaration):
            ctors = [m for m in ext_decl.methods if m.return_type is None and m.name == kind
                     and len(m.params) == len(decl.args)]
            ctor = ctors[0] if ctors else None
        args = {}
        if ctor is not None:
            for p, v in bind_call(scope, ctor.params, decl.args, decl):
                args[p.name] = v
        else:
            args = {str(i): a.value for i, a in enumerate(decl.args)}
        inst = ExternInstance(kind, name, decl, args, t, loc=decl.loc)
        self.instances.append(inst)
        folder = scope.folder
        out = self.ctx.out
        if kind == "counter":
            inst.emitted = ir.CounterArray(name, folder.int_of(self._arg(inst, "size", 0)))
            out.counter_arrays.append(inst.emitted)
        elif kind == "meter":
            inst.emitted = ir.MeterArray(name, folder.int_of(self._arg(inst, "size", 0)),
                                         self._meter_type(scope, inst, 1))
            out.meter_arrays.append(inst.emitted)
        elif kind == "register":
            elem = t.type_args[0] if isinstance(t, T.ExternType) and t.type_args else None
            width = T.base_type(elem).width() if elem is not None else 32
            inst.emitted = ir.RegisterArray(name, folder.int_of(self._arg(inst, "size", 0)),
                                            width)
            out.register_arrays.append(inst.emitted)
        elif kind in ("action_profile", "action_selector"):
            size_arg = self._arg(inst, "size", 0 if kind == "action_profile" else 1)
            profile = ir.ActionProfile(name, folder.int_of(size_arg))
            if kind == "action_selector":
                profile.selector_algo = folder.enum_member(self._arg(inst, "algorithm", 0))
            inst.emitted = profile
        elif kind == "direct_meter":
            inst.meter_type = self._meter_type(scope, inst, 0)
        return CompileTimeLoc("extern", inst)

    @staticmethod
    def _arg(inst: ExternInstance, name: str, position: int):
        if name in inst.args:
            return inst.args[name]
        values = list(inst.args.values())
        if position < len(values):
            return values[position]
        raise CompileError(f"{inst.kind} '{inst.name}' needs a '{name}' argument", inst.loc,
                           "type")

    def _meter_type(self, scope, inst, position) -> str:
        member = scope.folder.enum_member(self._arg(inst, "type", position))
        return "bytes" if member == "bytes" else "packets"

    def finish(self) -> None:
        """Emit direct counters/meters now that their tables are known (p4c emits them with
        the table's size)."""
        for inst in self.instances:
            if inst.kind == "direct_meter" and inst.binding is None and inst.read_at:
                raise unsupported(f"direct meter '{inst.name}' is read, but no table names it "
                                  f"in its 'meters' property", inst.read_at)
            if inst.kind == "direct_counter" and inst.binding is not None:
                self.ctx.out.counter_arrays.append(ir.CounterArray(
                    inst.name, inst.size, True, inst.binding))
            elif inst.kind == "direct_meter" and inst.binding is not None:
                if inst.result_target is None:  # never read: BMv2 still needs somewhere to write
                    inst.result_target = self.ctx.storage.scalar(
                        "meter_color", T.BitsType(2)).expr
                self.ctx.out.meter_arrays.append(ir.MeterArray(
                    inst.name, inst.size, inst.meter_type, True, inst.binding,
                    inst.result_target))

    # -- calls ---------------------------------------------------------------------------------
    def call(self, lowering, call: ast.MethodCall) -> bool:
        callee = call.callee
        if isinstance(callee, ast.Name) and isinstance(callee.decl,
                                                       ast.ExternFunctionDeclaration):
            return self.function(lowering, callee.decl, call)
        if isinstance(callee, ast.Member):
            base = callee.expr
            if isinstance(base, ast.Name):
                loc = lowering.scope.find(base.decl)
                if isinstance(loc, CompileTimeLoc) and loc.kind == "extern":
                    return self.method(lowering, loc.value, callee.member, call)
        return False

    def params(self, lowering, decl, call) -> dict:
        return {p.name: v for p, v in bind_call(lowering.scope, decl.params, call.args, call)}

    def function(self, lowering, decl, call) -> bool:
        flat = lowering.flat
        name = decl.name
        args = self.params(lowering, decl, call)
        a = list(args.values())
        emit = lambda op, params: lowering.out.append(ir.Primitive(op, params, call.loc))
        if name == "mark_to_drop":
            target = flat.loc(a[0]).ref if a else ir.HeaderRef(STANDARD_METADATA)
            emit("mark_to_drop", [target])
        elif name in ("clone", "clone3", "clone_preserving_field_list"):
            kind = lowering.scope.folder.enum_member(a[0])
            op = "clone_ingress_pkt_to_egress" if kind == "I2E" else "clone_egress_pkt_to_egress"
            if name == "clone_preserving_field_list":
                fl = self.preserved_list(lowering.scope.folder.int_of(a[2], "field list index"))
            elif name == "clone3":
                fl = self.field_list(flat, a[2], call)
            else:
                fl = self.add_field_list("fl", [])
            emit(op, [as_data(flat.value(a[1])), ir.Const(fl, 32)])
        elif name in ("resubmit", "recirculate", "resubmit_preserving_field_list",
                      "recirculate_preserving_field_list"):
            if name.endswith("_preserving_field_list"):
                fl = self.preserved_list(lowering.scope.folder.int_of(a[0], "field list index"))
            elif a:
                fl = self.field_list(flat, a[0], call)
            else:
                fl = self.add_field_list("fl", [])
            emit(name.split("_")[0], [ir.Const(fl, 32)])
        elif name == "digest":
            emit("generate_digest", [as_data(flat.value(a[0])),
                                     ir.Const(self.learn_list(flat, call, a[1]), 32)])
        elif name == "hash":
            algo = lowering.scope.folder.enum_member(a[1])
            calc = self.calculation(flat, algo, a[3], call)
            emit("modify_field_with_hash_based_offset",
                 [flat.loc(a[0]).expr, as_data(flat.value(a[2])), ir.ObjectRef("calculation", calc),
                  as_data(flat.value(a[4]))])
        elif name == "random":
            emit("modify_field_rng_uniform", [flat.loc(a[0]).expr, as_data(flat.value(a[1])),
                                              as_data(flat.value(a[2]))])
        elif name == "truncate":
            emit("truncate", [as_data(flat.value(a[0]))])
        elif name == "static_assert":
            if not lowering.scope.folder.try_number(a[0]):
                message = a[1].value if len(a) > 1 and isinstance(a[1], ast.StringLiteral) \
                    else "static_assert failed"
                raise CompileError(message, call.loc, "type")
        elif name in ("assert", "assume"):
            emit(name, [as_bool(flat.value(a[0]))])
        elif name == "log_msg":
            msg = a[0].value if isinstance(a[0], ast.StringLiteral) else ""
            items = leaf_values(flat, flat.loc(a[1]), call) if len(a) > 1 else []
            emit("log_msg", [ir.StringConst(msg), ir.ParamVector(tuple(as_data(x) for x in items))])
        elif name == "verify" and lowering.in_parser:
            lowering.out.append(ir.ParserOp("verify", [as_bool(flat.value(a[0])),
                                                       as_data(flat.value(a[1]))], call.loc))
        elif name in ("verify_checksum", "update_checksum", "verify_checksum_with_payload",
                      "update_checksum_with_payload"):
            raise unsupported(f"{name} is only supported in the v1model checksum controls",
                              call)
        else:
            raise unsupported(f"extern function '{name}' is not supported on BMv2", call)
        return True

    def method(self, lowering, inst: ExternInstance, method: str, call) -> bool:
        flat = lowering.flat
        a = [x.value for x in call.args]
        emit = lambda op, params: lowering.out.append(ir.Primitive(op, params, call.loc))
        kind = inst.kind
        if kind == "counter" and method == "count":
            emit("count", [ir.ObjectRef("counter_array", inst.name), as_data(flat.value(a[0]))])
        elif kind == "direct_counter" and method == "count":
            pass  # BMv2 counts direct counters on every hit of the bound table
        elif kind == "meter" and method == "execute_meter":
            emit("execute_meter", [ir.ObjectRef("meter_array", inst.name),
                                   as_data(flat.value(a[0])), flat.loc(a[1]).expr])
        elif kind == "direct_meter" and method == "read":
            target = flat.loc(a[0]).expr
            if not isinstance(target, ir.Field):
                raise unsupported("direct_meter.read needs a field as its target", call)
            inst.result_target, inst.read_at = target, call
        elif kind == "register" and method == "read":
            target = flat.loc(a[0])
            if not isinstance(target, ScalarLoc):   # p4c: not supported on this target either
                raise unsupported("register.read into a structure: BMv2 registers hold bit<W> "
                                  "values", a[0])
            emit("register_read", [target.expr, ir.ObjectRef("register_array", inst.name),
                                   as_data(flat.value(a[1]))])
        elif kind == "register" and method == "write" and not is_scalar(a[1].type):
            raise unsupported("register.write of a structure: BMv2 registers hold bit<W> "
                              "values", a[1])
        elif kind == "register" and method == "write":
            emit("register_write", [ir.ObjectRef("register_array", inst.name),
                                    as_data(flat.value(a[0])), as_data(flat.value(a[1]))])
        else:
            raise unsupported(f"{kind}.{method} is not supported on BMv2", call)
        return True

    # -- lists and calculations ----------------------------------------------------------------
    def fields_of(self, flat, expr, node) -> list:
        """Fields holding the values of expr, copying computed values into temporaries."""
        return [v if isinstance(v, ir.Field) else materialize(flat, v, node)
                for v in leaf_values(flat, flat.loc(expr), node)]

    def add_field_list(self, name: str, fields: list) -> int:
        fl = ir.FieldList(self.ctx.names.fresh(name), fields)
        self.ctx.out.field_lists.append(fl)
        return len(self.ctx.out.field_lists)

    def field_list(self, flat, expr, node) -> int:
        return self.add_field_list("fl", self.fields_of(flat, expr, node))

    def preserved_list(self, index: int) -> int:
        """The id of `field_list<index>`: user metadata fields tagged @field_list(index)
        (simpleSwitch.cpp getFieldListById); empty when none are tagged."""
        if index not in self.field_list_by_index:
            fields = self.ctx.preserved_fields.get(index, [])
            fl = ir.FieldList(f"field_list{index}", fields)
            self.ctx.out.field_lists.append(fl)
            self.field_list_by_index[index] = len(self.ctx.out.field_lists)
        return self.field_list_by_index[index]

    def learn_list(self, flat, call, data) -> int:
        """A digest's learn list, named as the P4Info digest: the data struct's control-plane
        name, else `digest_<n>` for the n-th digest of an unnamed list (p4info/collect.py)."""
        t = T.base_type(data.type)
        if call.type_args and getattr(call.type_args[0], "type", None) is not None:
            t = T.base_type(call.type_args[0].type)
        if isinstance(t, T.StructType) and t.decl is not None:
            name = control_plane_name(t.decl, t.name)
        else:
            name = self.anonymous_digests.setdefault(id(call),
                                                     f"digest_{len(self.anonymous_digests)}")
        # BMv2 reads a digest's fields at the end of ingress; copies keep the values at the
        # call, as p4c's output does
        fields = [materialize(flat, v, call) for v in leaf_values(flat, flat.loc(data), call)]
        self.ctx.out.learn_lists.append(ir.FieldList(name, fields))
        return len(self.ctx.out.learn_lists)

    def calculation(self, flat, algo: str, data, node, payload: bool = False,
                    temps: bool = True) -> str:
        """A BMv2 calculation over data's fields; computed inputs go through temporaries
        first when `temps` (in actions; checksum controls run no code, so they cannot)."""
        if algo not in HASH_ALGORITHMS:
            raise unsupported(f"hash algorithm '{algo}' is not supported on BMv2", node)
        inputs = []
        for v in leaf_values(flat, flat.loc(data), node):
            if isinstance(v, ir.Const) and v.width is None:
                raise unsupported("hash and checksum constants need a width", node)
            if not isinstance(v, (ir.Field, ir.Const)):
                if not temps:
                    raise unsupported("checksum inputs must be fields or constants", node)
                v = materialize(flat, v, node)
            inputs.append(v)
        if payload:
            inputs.append("payload")
        name = self.ctx.names.fresh("calc")
        self.ctx.out.calculations.append(ir.Calculation(name, algo, inputs))
        return name
