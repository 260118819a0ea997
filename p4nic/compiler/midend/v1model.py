"""The v1model architecture: which block is which, and the parts BMv2 does not run as code.

`V1Switch(p, vr, ig, eg, ck, dep)`: the parser becomes BMv2's `parser`, ingress and egress its
two pipelines, the deparser's `emit` calls its `deparser` order, and the verify/compute checksum
controls its `checksums` list (p4c backends/bmv2/simple_switch/simpleSwitch.cpp
convertChecksum). Headers (parameter H) become header instances named after their fields, user
metadata (M) fields of `scalars`, `standard_metadata_t` the `standard_metadata` instance.
"""
from __future__ import annotations

import os

from p4nic.compiler import ast
from p4nic.compiler import types as T
from p4nic.compiler.errors import CompileError
from p4nic.compiler.midend import ir
from p4nic.compiler.midend.controls import ControlLowering
from p4nic.compiler.midend.externs import leaf_values
from p4nic.compiler.midend.flatten import Flattener, as_bool, unsupported
from p4nic.compiler.midend.inline import bind_call, constant_bindings
from p4nic.compiler.midend.localvars import (
    STANDARD_METADATA, CompileTimeLoc, HeaderLoc, Names, StackLoc, StructLoc, UnionLoc,
    pad_to_bytes, scalar_width)
from p4nic.compiler.midend.parsers import ParserLowering
from p4nic.compiler.p4info.naming import BlockPath

# Which apply parameter of each block is H, M and standard_metadata (v1model.p4 signatures).
ROOT_POSITIONS = {"p": (1, 2, 3), "vr": (0, 1, None), "ig": (0, 1, 2), "eg": (0, 1, 2),
                  "ck": (0, 1, None), "dep": (1, None, None)}
CHECKSUM_FUNCTIONS = {"verify_checksum": (True, False), "verify_checksum_with_payload": (True, True),
                      "update_checksum": (False, False),
                      "update_checksum_with_payload": (False, True)}

# simple_switch finds queueing and intrinsic metadata under these P4_14 names (JSON_format.md
# "field_aliases"); p4c's v1model back end maps them onto standard_metadata the same way.
FIELD_ALIASES = [
    ("queueing_metadata.enq_timestamp", "enq_timestamp"),
    ("queueing_metadata.enq_qdepth", "enq_qdepth"),
    ("queueing_metadata.deq_timedelta", "deq_timedelta"),
    ("queueing_metadata.deq_qdepth", "deq_qdepth"),
    ("intrinsic_metadata.ingress_global_timestamp", "ingress_global_timestamp"),
    ("intrinsic_metadata.egress_global_timestamp", "egress_global_timestamp"),
    ("intrinsic_metadata.mcast_grp", "mcast_grp"),
    ("intrinsic_metadata.egress_rid", "egress_rid"),
    ("intrinsic_metadata.priority", "priority"),
]


# The v1model generations p4c knows (backends/bmv2/common/v1model.h versionInitial/Current).
V1MODEL_VERSIONS = (20180101, 20200408)


def check_v1model_version(typed) -> None:
    """`__v1model_version` (V1MODEL_VERSION) names a generation p4c knows
    (frontends/p4/getV1ModelVersion.h)."""
    for d in typed.program.declarations:
        if isinstance(d, ast.ConstantDeclaration) and d.name == "__v1model_version":
            value = d.value.value if isinstance(d.value, ast.IntLiteral) else None
            if value is None or value < 0:
                raise CompileError("expected the v1model version to be a non-negative number",
                                   d.value.loc, "unsupported")
            if not V1MODEL_VERSIONS[0] <= value <= V1MODEL_VERSIONS[1]:
                raise CompileError(f"{value}: unknown v1model version; the first is "
                                   f"{V1MODEL_VERSIONS[0]}, the latest {V1MODEL_VERSIONS[1]}",
                                   d.value.loc, "unsupported")


def lower_v1model(ctx) -> None:
    typed = ctx.typed
    if typed.main is None:
        raise CompileError("the program has no 'main' instance", None, "unsupported")
    check_v1model_version(typed)
    blocks = {b.param: b for b in typed.blocks}
    missing = [p for p in ROOT_POSITIONS if p not in blocks]
    if missing:
        raise CompileError("main must be a V1Switch(parser, verifyChecksum, ingress, egress, "
                           "computeChecksum, deparser)", typed.main.loc, "unsupported")
    parser_decl = blocks["p"].decl
    if not isinstance(parser_decl, ast.ParserDeclaration) or len(parser_decl.params) < 4:
        raise CompileError("the V1Switch parser must have 4 parameters", typed.main.loc,
                           "unsupported")
    h_type = parser_decl.params[1].type_ref.type
    m_type = parser_decl.params[2].type_ref.type
    sm_type = parser_decl.params[3].type_ref.type
    roots = (ctx.storage.alloc("", h_type, parser_decl.loc),
             ctx.storage.alloc("userMetadata", m_type, parser_decl.loc),
             standard_metadata(ctx, sm_type))
    collect_field_lists(ctx, m_type, roots[1])

    def scope_for(param: str):
        b = blocks[param]
        decl = b.decl
        path = BlockPath(decl.name)  # p4c hierarchicalNames: the declaration's name
        consts = constant_bindings(ctx.globals, bind_call(ctx.globals, decl.ctor_params, b.args,
                                                          decl))
        block = {"p": "parser", "vr": "verify", "ig": "ingress", "eg": "egress",
                 "ck": "compute", "dep": "deparser"}[param]
        scope = ctx.globals.child(path=path, constants=consts, block=block)
        for i, p in enumerate(decl.params):
            if i in ROOT_POSITIONS[param]:
                scope.bind(p, roots[ROOT_POSITIONS[param].index(i)])
            else:
                scope.bind(p, CompileTimeLoc("packet", None, p.type_ref.type))
        return decl, scope

    decl, scope = scope_for("p")
    parser = ir.Parser("parser", "start", [])
    parser.init_state = ParserLowering(ctx, parser).instance(decl, scope, None, top=True)
    ctx.out.parsers.append(parser)

    for param, name in (("ig", "ingress"), ("eg", "egress")):
        decl, scope = scope_for(param)
        pipeline = ir.Pipeline(name, None)
        pipeline.init_table = ControlLowering(ctx, pipeline).instance(decl, scope, None)
        ctx.out.pipelines.append(pipeline)

    for param in ("vr", "ck"):
        decl, scope = scope_for(param)
        checksums(ctx, decl, scope)

    decl, scope = scope_for("dep")
    ctx.out.deparsers.append(ir.Deparser("deparser", deparser_order(ctx, decl, scope)))

    ctx.out.field_aliases = [(alias, ir.Field(STANDARD_METADATA, f, 0))
                             for alias, f in FIELD_ALIASES
                             if T.base_type(sm_type).field(f) is not None]
    ctx.out.errors = [(name, i) for i, name in enumerate(typed.errors)]
    for d in typed.program.declarations:
        if isinstance(d, ast.EnumDeclaration) and d.underlying is None:
            members = [m if isinstance(m, str) else (m[0] if isinstance(m, tuple) else m.name)
                       for m in d.members]
            ctx.out.enums.append((d.name, [(m, i) for i, m in enumerate(members)]))
    ctx.out.program_name = os.path.basename(typed.main.loc.file) if typed.main.loc else ""


def standard_metadata(ctx, sm_type) -> HeaderLoc:
    """The `standard_metadata` instance, with v1model's fields in order (padded as p4c pads)."""
    st = T.base_type(sm_type)
    if not isinstance(st, T.StructLike):
        raise CompileError("standard_metadata must be a struct", None, "unsupported")
    fields = [[f.name, scalar_width(f.type), False] for f in st.fields]
    pad_to_bytes(fields, Names(f[0] for f in fields))
    ctx.out.header_types.append(ir.HeaderTypeDef(STANDARD_METADATA, fields))
    ctx.out.headers.append(ir.HeaderInstance(STANDARD_METADATA, STANDARD_METADATA, True))
    ctx.storage.instances.taken.add(STANDARD_METADATA)
    return HeaderLoc(ir.HeaderRef(STANDARD_METADATA), st)


def collect_field_lists(ctx, m_type, meta: StructLoc) -> None:
    """User metadata fields tagged `@field_list(i, ...)` make up field list i (preserved by
    clone/resubmit/recirculate; simpleSwitch.cpp createRecirculateFieldsList)."""
    st = T.base_type(m_type)
    decl = getattr(st, "decl", None)
    if not isinstance(meta, StructLoc) or decl is None:
        return
    for f in getattr(decl, "fields", []):
        ann = f.annotation("field_list") if hasattr(f, "annotation") else None
        if ann is None or f.name not in meta.fields:
            continue
        values = leaf_values(None, meta.fields[f.name], f)
        for arg in ann.args:
            index = annotation_number(ctx, arg)
            ctx.preserved_fields.setdefault(index, []).extend(
                v for v in values if isinstance(v, ir.Field))


def annotation_number(ctx, e) -> int:
    """A number in an annotation whose body the type checker typed (annocheck.py): a literal,
    a constant, or a member of a serializable enum."""
    n = ctx.folder.try_number(e)
    if n is None:
        raise CompileError("expected a constant number here", e.loc, "unsupported")
    return n


def checksums(ctx, decl: ast.ControlDeclaration, scope) -> None:
    """verify_checksum/update_checksum calls; nothing else may run in these controls."""
    flat = Flattener(ctx, scope, [])
    for s in walk(decl.body.statements):
        if not isinstance(s, ast.MethodCallStatement):
            raise unsupported("only verify_checksum/update_checksum calls are supported in "
                              "the checksum controls", s)
        callee = s.call.callee
        fn = callee.decl if isinstance(callee, ast.Name) else None
        if not isinstance(fn, ast.ExternFunctionDeclaration) or fn.name not in CHECKSUM_FUNCTIONS:
            raise unsupported("only verify_checksum/update_checksum calls are supported in "
                              "the checksum controls", s)
        verify, payload = CHECKSUM_FUNCTIONS[fn.name]
        args = [v for _, v in bind_call(scope, fn.params, s.call.args, s.call)]
        algo = scope.folder.enum_member(args[3])
        calc = ctx.externs.calculation(flat, algo, args[1], s.call, payload, temps=False)
        target = flat.loc(args[2])
        cond = as_bool(flat.value(args[0]))
        if isinstance(cond, ir.BoolConst):
            if not cond.value:
                continue
            cond = None
        ctx.out.checksums.append(ir.Checksum(ctx.names.fresh("cksum"), target.expr, calc,
                                             verify, not verify, cond))


def walk(stmts):
    """Statements with blocks opened (the checksum controls and deparser are straight-line)."""
    for s in stmts:
        if isinstance(s, ast.BlockStatement):
            yield from walk(s.statements)
        elif isinstance(s, ast.EmptyStatement):
            continue
        else:
            yield s


def deparser_order(ctx, decl: ast.ControlDeclaration, scope) -> list:
    """Header instances in `emit` order; BMv2 emits only the valid ones, which is what
    `emit` means, so emits under an `if` are taken as unconditional."""
    flat = Flattener(ctx, scope, [])
    order: list = []

    def add(loc, node):
        if isinstance(loc, HeaderLoc) and loc.name is not None:
            if loc.name not in order:
                order.append(loc.name)
        elif isinstance(loc, StructLoc):
            for v in loc.fields.values():
                add(v, node)
        elif isinstance(loc, StackLoc):
            for h in loc.elements:
                add(h, node)
        elif isinstance(loc, UnionLoc):
            for h in loc.members.values():
                add(h, node)
        else:
            raise unsupported("emit needs a header, stack, union or struct of them", node)

    def visit(stmts):
        for s in walk(stmts):
            if isinstance(s, ast.IfStatement):
                visit([s.then] + ([s.else_] if s.else_ is not None else []))
            elif isinstance(s, ast.MethodCallStatement) and isinstance(s.call.callee, ast.Member) \
                    and s.call.callee.member == "emit":
                add(flat.loc(s.call.args[0].value), s)
            else:
                raise unsupported("only emit calls are supported in the deparser on BMv2", s)
    visit(decl.body.statements)
    return order
