"""Compile a loaded BMv2 program into specialised Python functions, once per program.

Every packet lives in one flat Python list, the PHV `h`: one slot per header field, one validity
slot per header (BMv2 keeps metadata headers always valid), the `next` index of every stack and a
few per-packet registers (payload, exit flag, clone/resubmit/recirculate requests, ...). Field
slots are compile-time constants, so a field read is `h[17]` and copying a PHV is `h[:]`.

Parsers, controls, actions, checksums and the deparser are emitted as Python source text (one
module per program, compiled with compile()/exec) in which every JSON reference is already
resolved to a slot number, a constant or a bound method of a RuntimeState object. No JSON is
looked at per packet. With a tracer, the same generator adds trace calls; without one, the code
contains none.

Semantics follow BMv2 (docs/JSON_format.md; src/bm_sim/parser.cpp, expressions.cpp,
actions.cpp, core/primitives.cpp, targets/simple_switch/primitives.cpp): arithmetic is
unbounded and results are truncated to the destination field's width on assignment, parser
errors stop parsing and land in standard_metadata.parser_error.
"""

from __future__ import annotations

import random
import re
import struct
from collections import Counter

from . import packet as _packet
from .hashing import csum16, make_hash
from .program import HeaderType, Program, ProgramError, parse_hexstr
from .trace import source_fragment, source_prefix

# PktInstanceType, targets/simple_switch/simple_switch.h
PKT_INSTANCE_TYPE_NORMAL = 0
PKT_INSTANCE_TYPE_INGRESS_CLONE = 1
PKT_INSTANCE_TYPE_EGRESS_CLONE = 2
PKT_INSTANCE_TYPE_COALESCED = 3
PKT_INSTANCE_TYPE_RECIRC = 4
PKT_INSTANCE_TYPE_REPLICATION = 5
PKT_INSTANCE_TYPE_RESUBMIT = 6

# Fields simple_switch reads or writes, by the name it expects (field aliases may rename them).
STD_FIELDS = (
    "standard_metadata.ingress_port",
    "standard_metadata.packet_length",
    "standard_metadata.instance_type",
    "standard_metadata.egress_spec",
    "standard_metadata.egress_port",
    "standard_metadata.parser_error",
    "standard_metadata.checksum_error",
    "intrinsic_metadata.ingress_global_timestamp",
    "intrinsic_metadata.egress_global_timestamp",
    "intrinsic_metadata.mcast_grp",
    "intrinsic_metadata.egress_rid",
    "intrinsic_metadata.priority",
    "queueing_metadata.enq_timestamp",
    "queueing_metadata.enq_qdepth",
    "queueing_metadata.deq_timedelta",
    "queueing_metadata.deq_qdepth",
    "queueing_metadata.qid",
)
# Those simple_switch computes from its clock and queues; the others it reads or writes itself.
CLOCK_FIELDS = STD_FIELDS[7:9] + STD_FIELDS[12:]
REQUIRED_STD_FIELDS = STD_FIELDS[:5]  # simple_switch cannot run without these

# Per-packet registers kept in the PHV after the headers (BMv2 keeps them in Packet registers).
# Generated code nests no deeper than this (CPython's tokenizer stops at 100 levels); deeper
# parsers and controls continue in a separate function.
MAX_INDENT = 60

# Parser loop iterations after which a looping parser gives up with ParserTimeout.
MAX_PARSER_STEPS = 4096

REGISTERS = (
    "PAYLOAD",  # bytes after the parsed headers
    "EXIT",  # exit primitive called
    "CLONE",  # clone session id requested in this pipeline, or None
    "CLONE_FL",  # field list id of that clone
    "RESUBMIT",  # field list id of a resubmit request, or None
    "RECIRC",  # field list id of a recirculate request, or None
    "LEARN",  # learn list id of generate_digest, 0 for none
    "TRUNC",  # truncate length, None for none
    "PKT_LEN",  # packet length register (updated by add_header/remove_header)
    "ING_LEN",  # length at ingress, what counters and meters count
    "PKT_ID",  # (packet id, copy id) for traces
)


CSUM16_ALGOS = ("csum16", "cksum16")  # BMv2 names of the Internet checksum


class ParserError(Exception):
    """Raised inside generated parser code; `code` is the error value for parser_error."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


_STRUCT_CODES = ((8, "Q"), (4, "I"), (2, "H"), (1, "B"))


def wire_units(fields) -> list:
    """A fixed-width header's fields as byte-aligned units, for struct to read and write:
    [(part widths in bytes, [(field index, shift in the unit, width)])]. A unit closes where
    the fields reach a byte boundary, so most fields are one part of their own and the rest
    share a small unit (IPv4's version and ihl); struct then does what big-int shifts did."""
    units, members, bits = [], [], 0
    for i, f in enumerate(fields):
        members.append((i, f.width))
        bits += f.width
        if bits % 8 == 0 and bits:
            units.append((bits, members))
            members, bits = [], 0
    if members:  # zero-width fields after the last byte boundary
        units.append((0, members))
    planned = []
    for bits, members in units:
        parts, left = [], bits // 8
        for size, _ in _STRUCT_CODES:
            while left >= size:
                parts.append(size)
                left -= size
        shift = bits
        placed = []
        for i, width in members:
            shift -= width
            placed.append((i, shift, width))
        planned.append((parts, placed))
    return planned


def struct_format(units) -> str:
    codes = dict((size, code) for size, code in _STRUCT_CODES)
    return "!" + "".join(codes[size] for parts, _ in units for size in parts)


class PacketAbort(Exception):
    """An assert/assume primitive failed. BMv2 aborts the switch; we drop the packet."""


class Layout:
    """Where every header, field and register lives in the PHV list."""

    def __init__(self, program: Program):
        self.program = program
        init = []
        self.base = {}  # header instance name -> validity slot; field i is at base + 1 + i
        headers = list(program.headers.values())
        # Metadata first, so resetting metadata (BMv2 PHV::reset_metadata) is one slice.
        for inst in [x for x in headers if x.metadata]:
            self.base[inst.name] = len(init)
            init.extend(self._block(inst.type, valid=1))
        self._hidden(init, program)
        self.meta_end = len(init)
        for inst in [x for x in headers if not x.metadata]:
            self.base[inst.name] = len(init)
            init.extend(self._block(inst.type, valid=0))
        self.stack_next = {}
        for name in list(program.stacks) + list(program.union_stacks):
            self.stack_next[name] = len(init)
            init.append(0)
        # A scratch header per stack (and per union-stack member) absorbs out-of-range accesses:
        # BMv2 would throw std::out_of_range there and stop; we read zeros and drop writes.
        self.stack_scratch = {}
        for stack in program.stacks.values():
            self.stack_scratch[stack.name] = len(init)
            init.extend(self._block(stack.type, valid=0))
        self.ustack_scratch = {}
        for ustack in program.union_stacks.values():
            bases = []
            for _, htype in ustack.type.members:
                bases.append(len(init))
                init.extend(self._block(htype, valid=0))
            self.ustack_scratch[ustack.name] = tuple(bases)
        self.reg = {}
        for name in REGISTERS:
            self.reg[name] = len(init)
            init.append(None if name in ("CLONE", "RESUBMIT", "RECIRC", "TRUNC") else 0)
        init[self.reg["PAYLOAD"]] = b""
        self.init = init
        self.size = len(init)

    def _hidden(self, init, program):
        """Slots for simple_switch fields the program does not declare (writes go nowhere)."""
        self.std = {}
        self.std_width = {}
        self.std_declared = set()
        for target in STD_FIELDS:
            ref = program.field_aliases.get(target)
            if ref is None:
                hname, _, fname = target.partition(".")
                inst = program.headers.get(hname)
                if inst is not None and inst.type.field_index(fname) is not None:
                    ref = (hname, fname)
            if ref is None:
                if target in REQUIRED_STD_FIELDS:
                    raise ProgramError(f"simple_switch needs field {target} (declare it or "
                                       "alias it in field_aliases)")
                self.std[target] = len(init)
                self.std_width[target] = 64
                init.append(0)
            else:
                self.std[target] = ref  # resolved to a slot once all headers are placed
                self.std_declared.add(target)

    def finish(self):
        for target, ref in list(self.std.items()):
            if isinstance(ref, tuple):
                inst = self.program.headers[ref[0]]
                idx = inst.type.field_index(ref[1])
                self.std[target] = self.base[ref[0]] + 1 + idx
                self.std_width[target] = inst.type.fields[idx].width or 64

    @staticmethod
    def _block(htype: HeaderType, valid: int) -> list:
        block = [valid] + [0] * len(htype.fields)
        if htype.varbit_index is not None:
            block.append(0)  # current width in bits of the varbit field
        return block

    @staticmethod
    def block_size(htype: HeaderType) -> int:
        return 1 + len(htype.fields) + (htype.varbit_index is not None)


class Val:
    """A compiled expression: Python source `code` plus what the generator knows about it.

    kind: 'data', 'bool', 'header', 'stack', 'union', 'ustack', 'string', 'register'.
    width: for data, an upper bound on the bit width of a value known to be non-negative.
    slot: for a field, the source of its PHV index (so it can be assigned).
    """

    __slots__ = ("code", "kind", "width", "slot", "const", "info", "hbase", "htype")

    def __init__(self, code, kind="data", width=None, slot=None, const=None, info=None,
                 hbase=None, htype=None):
        self.code = code
        self.kind = kind
        self.width = width
        self.slot = slot
        self.const = const
        self.info = info
        self.hbase = hbase  # for a field: source of its header's base slot
        self.htype = htype  # and that header's type


def _const(value: int) -> Val:
    return Val(repr(value), "data", value.bit_length() if value >= 0 else None, const=value)


def _add(base: str, offset: int) -> str:
    """Source for `base + offset`, folded when base is a literal."""
    if base.isdigit():
        return str(int(base) + offset)
    return f"{base} + {offset}" if offset else base


class _Writer:
    def __init__(self):
        self.lines = []
        self.depth = 0

    def __call__(self, line: str):
        self.lines.append("    " * self.depth + line)

    def indent(self):
        self.depth += 1

    def dedent(self):
        self.depth -= 1


class _Ctx:
    """Where code is being generated: for error messages and what references are legal."""

    def __init__(self, where: str, params=None, parser: bool = False):
        self.where = where
        self.params = params or []
        self.parser = parser


class CompiledProgram:
    """The generated functions of one program, plus the layout the pipeline needs.

    parse(h, data): fills h from packet bytes (headers, payload, parser_error, checksum_error).
    ingress(h), egress(h): the control pipelines. deparse(h) -> bytes (updates checksums).
    field_lists[id](dst, src): copies a field list's fields between PHVs.
    learn_lists[id] = (name, sample(h) -> tuple).
    """

    def __init__(self, layout, namespace, source, learn_names):
        self.layout = layout
        self.init = layout.init
        self.source = source
        self.parse = namespace["parse"]
        self.ingress = namespace["ingress"]
        self.egress = namespace["egress"]
        self.deparse = namespace["deparse"]
        self.field_lists = namespace["FIELD_LISTS"]
        self.learn_lists = {lid: (learn_names[lid], fn)
                            for lid, fn in namespace["LEARN_LISTS"].items()}
        # the pipeline reads its registers and every standard field it does not compute
        pipeline_reads = set(layout.reg.values()) | {
            slot for name, slot in layout.std.items() if name not in CLOCK_FIELDS}
        self._live_slots = live_slots(source, pipeline_reads)

    def reads(self, slot: int) -> bool:
        """Whether the generated code may read PHV slot `slot` for any purpose but copying it
        to slots nobody reads (p4c's copy-in of a control's parameters). The pipeline skips
        computing metadata nobody reads (queueing fields, timestamps): unread, a value cannot
        be seen."""
        return self._live_slots is None or slot in self._live_slots


_PHV_INDEX = re.compile(r"\b(h|dst|src)\[([^\]]*)\]")
_HEADER_COPY = re.compile(r"_copy_hdr\(h, ([^,]+), ([^,]+), ([^,]+),")
_SLOT_COPY = re.compile(r"^\s*h\[(\d+)\] = h\[(\d+)\]$", re.M)


def live_slots(source: str, read_elsewhere=frozenset()):
    """The PHV slots `source` may read, or None when it also indexes computed slots (header
    stacks, copies of computed headers), which could be any. A slot counts when it is named
    anywhere except as the source of a plain copy `h[a] = h[b]`, or when it is copied to a slot
    that counts or that is in `read_elsewhere`."""
    copies = _SLOT_COPY.findall(source)
    named = set(read_elsewhere)
    for _, index in _PHV_INDEX.findall(_SLOT_COPY.sub("", source)):
        low, colon, high = index.partition(":")
        if not colon and index.strip().isdigit():
            named.add(int(index))
        elif colon and low.strip().isdigit() and high.strip().isdigit():
            named.update(range(int(low), int(high)))
        else:
            return None
    for copy in _HEADER_COPY.findall(source):
        if not all(x.strip().isdigit() for x in copy):
            return None
        dst, src, count = (int(x) for x in copy)
        named.update(range(dst, dst + count + 1))
        named.update(range(src, src + count + 1))
    sources_of: dict[int, set] = {}
    for dst, src in copies:
        sources_of.setdefault(int(dst), set()).add(int(src))
    live, work = set(), list(named)
    while work:
        slot = work.pop()
        if slot not in live:
            live.add(slot)
            work.extend(sources_of.get(slot, ()))
    return live


def compile_program(program: Program, state, drop_port: int = 511, tracer=None) -> CompiledProgram:
    """Generate and compile the Python for `program`, bound to runtime `state`."""
    try:
        return _Generator(program, state, drop_port, tracer).build()
    except ProgramError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as e:
        # JSON shaped in a way no check above anticipated (or nested absurdly deep): still an
        # error message, not a crash
        raise ProgramError(f"malformed BMv2 JSON: {type(e).__name__}: {e}") from None


class _Generator:
    """Emits the Python module of one program: actions, parser, controls, checksums, deparser.

    `ns` is the module namespace: runtime objects (tables, externs, hash functions) and helper
    functions are bound into it by name, so generated code reaches them as globals.
    """

    def __init__(self, program: Program, state, drop_port: int, tracer):
        self.p = program
        self.state = state
        self.drop_port = drop_port
        self.tracer = tracer
        self.layout = Layout(program)
        self.layout.finish()
        self.L = self.layout
        if tracer is not None:
            tracer.bind(program, self.layout, state)
        self.ns = {
            "_PE": ParserError,
            "_Abort": PacketAbort,
            "_ib": int.from_bytes,
            "_tcm": _packet.two_comp,
            "_div": _packet.trunc_div,
            "_mod": _packet.trunc_mod,
            "_randint": random.randint,
            "_la": _lookahead,
            "_copy_hdr": _copy_header,
            "_set_valid": _set_valid,
            "_push": _stack_push,
            "_pop": _stack_pop,
            "_vs_match": _vset_match,
            "_hdr_eq": _header_eq,
            "_tr": tracer,
        }
        self.names = Counter()
        self.w = _Writer()
        # union member siblings: header base -> bases of the other members of its union
        sib = {}
        for union in program.unions.values():
            bases = [self.L.base[m.name] for m in union.headers]
            for b in bases:
                sib[b] = tuple(x for x in bases if x != b)
        for bases in self.L.ustack_scratch.values():
            for b in bases:
                sib[b] = tuple(x for x in bases if x != b)
        self.ns["_SIB"] = sib
        self.errors = program.errors
        self.calc_fns = {}
        self.structs = {}  # header type name -> (wire units, bound struct.Struct name)
        self.calc_lines = []

    # ---- helpers ---------------------------------------------------------------------------

    def bind(self, value, hint: str) -> str:
        """Put `value` in the module namespace under a fresh name; returns the name."""
        hint = "".join(c if c.isalnum() else "_" for c in hint)[:40]
        self.names[hint] += 1
        name = f"_{hint}_{self.names[hint]}"
        self.ns[name] = value
        return name

    def err(self, ctx: _Ctx, msg: str):
        raise ProgramError(f"{ctx.where}: {msg}")

    def reg(self, name: str) -> int:
        return self.L.reg[name]

    def std(self, name: str) -> int:
        return self.L.std[name]

    # ---- expressions -----------------------------------------------------------------------

    def field(self, ref, ctx: _Ctx) -> Val:
        if not isinstance(ref, list) or len(ref) != 2 or not all(isinstance(x, str) for x in ref):
            self.err(ctx, f"bad field reference {ref!r}")
        hname, fname = ref
        inst = self.p.headers.get(hname)
        if inst is None:
            alias = self.p.field_aliases.get(f"{hname}.{fname}")
            if alias is None:
                self.err(ctx, f"unknown header {hname!r}")
            hname, fname = alias
            inst = self.p.headers[hname]
        base = self.L.base[hname]
        if fname == "$valid$":
            return Val(f"h[{base}]", "data", 1, slot=None)
        idx = inst.type.field_index(fname)
        if idx is None:
            self.err(ctx, f"header {hname!r} has no field {fname!r}")
        return self.field_at(str(base), inst.type, idx)

    def field_at(self, base: str, htype: HeaderType, idx: int) -> Val:
        spec = htype.fields[idx]
        slot = _add(base, 1 + idx)
        width = None if spec.signed else spec.width
        return Val(f"h[{slot}]", "data", width, slot=slot, info=spec, hbase=base, htype=htype)

    def header_val(self, name, ctx) -> Val:
        inst = self.p.headers.get(name) if isinstance(name, str) else None
        if inst is None:
            self.err(ctx, f"unknown header {name!r}")
        return Val(str(self.L.base[name]), "header", info=inst.type)

    def stack_elem(self, stack, index_code: str) -> Val:
        """Header base of stack[index] (scratch header when out of range)."""
        bases = self.bind({i: self.L.base[x.name] for i, x in enumerate(stack.headers)},
                          f"S_{stack.name}")
        code = f"{bases}.get({index_code}, {self.L.stack_scratch[stack.name]})"
        return Val(code, "header", info=stack.type)

    def ustack_elem(self, ustack, index_code: str) -> Val:
        table = {i: tuple(self.L.base[m.name] for m in u.headers)
                 for i, u in enumerate(ustack.unions)}
        name = self.bind(table, f"U_{ustack.name}")
        scratch = self.bind(self.L.ustack_scratch[ustack.name], f"UX_{ustack.name}")
        return Val(f"{name}.get({index_code}, {scratch})", "union", info=ustack.type)

    def expr(self, tv, ctx: _Ctx) -> Val:
        if not isinstance(tv, dict):
            self.err(ctx, f"expected a type/value object, got {tv!r}")
        if "op" in tv and "type" not in tv:
            return self.op(tv, ctx)
        t = tv.get("type")
        v = tv.get("value")
        if t == "field":
            return self.field(v, ctx)
        if t == "hexstr":
            return _const(parse_hexstr(v, ctx.where))
        if t == "bool":
            if not isinstance(v, bool):
                self.err(ctx, f"bool value must be true/false, got {v!r}")
            return Val(repr(v), "bool", const=v)
        if t in ("runtime_data", "local"):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < len(ctx.params):
                self.err(ctx, f"{t} index {v!r} out of range (action has {len(ctx.params)} "
                              "parameter(s))")
            return Val(f"d[{v}]", "data", ctx.params[v][1])
        if t == "header":
            return self.header_val(v, ctx)
        if t == "header_stack":
            if not _is_name(v, self.p.stacks):
                self.err(ctx, f"unknown header stack {v!r}")
            return Val(None, "stack", info=self.p.stacks[v])
        if t == "header_union":
            union = self.p.unions.get(v) if isinstance(v, str) else None
            if union is None:
                self.err(ctx, f"unknown header union {v!r}")
            bases = tuple(self.L.base[m.name] for m in union.headers)
            return Val(repr(bases), "union", info=union.type, const=bases)
        if t == "header_union_stack":
            if not _is_name(v, self.p.union_stacks):
                self.err(ctx, f"unknown header union stack {v!r}")
            return Val(None, "ustack", info=self.p.union_stacks[v])
        if t == "stack_field":
            if not isinstance(v, list) or len(v) != 2 or not _is_name(v[0], self.p.stacks):
                self.err(ctx, f"bad stack_field {v!r}")
            stack = self.p.stacks[v[0]]
            idx = stack.type.field_index(v[1])
            if idx is None:
                self.err(ctx, f"stack {v[0]!r} has no field {v[1]!r}")
            last = self.stack_elem(stack, f"h[{self.L.stack_next[stack.name]}] - 1")
            return self.field_at(last.code, stack.type, idx)
        if t == "union_stack_field":
            if not isinstance(v, list) or len(v) != 3 or not _is_name(v[0], self.p.union_stacks):
                self.err(ctx, f"bad union_stack_field {v!r}")
            ustack = self.p.union_stacks[v[0]]
            members = [m for m, _ in ustack.type.members]
            if v[1] not in members:
                self.err(ctx, f"union stack {v[0]!r} has no member {v[1]!r}")
            midx = members.index(v[1])
            htype = ustack.type.members[midx][1]
            idx = htype.field_index(v[2])
            if idx is None:
                self.err(ctx, f"union member {v[1]!r} has no field {v[2]!r}")
            u = self.ustack_elem(ustack, f"h[{self.L.stack_next[ustack.name]}] - 1")
            return self.field_at(f"{u.code}[{midx}]", htype, idx)
        if t == "expression":
            if not isinstance(v, dict):
                self.err(ctx, f"expression value must be an object, got {v!r}")
            return self.expr(v, ctx) if "type" in v else self.op(v, ctx)
        if t == "register":
            if not isinstance(v, list) or len(v) != 2:
                self.err(ctx, f"bad register reference {v!r}")
            reg, size, width = self.register(v[0], ctx)
            idx = self.data(v[1], ctx)
            return Val(f"({reg}.read(_i) if 0 <= (_i := {idx.code}) < {size} else 0)", "data",
                       width, info=(reg, size, width, idx.code))
        if t == "lookahead":
            if not ctx.parser:
                self.err(ctx, "lookahead is only allowed in parsers")
            off, width = self.lookahead_args(v, ctx)
            return Val(f"_la(data, pos, {off}, {width})", "data", width)
        if t == "string":
            return Val(repr(str(v)), "string", const=v)
        self.err(ctx, f"unsupported type/value object type {t!r}")

    def lookahead_args(self, v, ctx):
        if (not isinstance(v, list) or len(v) != 2 or not all(isinstance(x, int) for x in v)
                or v[0] < 0 or v[1] <= 0):
            self.err(ctx, f"bad lookahead [offset, bitwidth] {v!r}")
        return v[0], v[1]

    def data(self, tv, ctx) -> Val:
        val = self.expr(tv, ctx)
        if val.kind == "bool":
            return Val(f"(1 if {val.code} else 0)", "data", 1)
        if val.kind != "data":
            self.err(ctx, f"expected a data value, got a {val.kind}")
        return val

    def boolean(self, tv, ctx) -> Val:
        val = self.expr(tv, ctx)
        if val.kind != "bool":
            self.err(ctx, f"expected a boolean expression, got a {val.kind}")
        return val

    def op(self, e, ctx: _Ctx) -> Val:
        op = e.get("op")
        left, right = e.get("left"), e.get("right")

        def D(x):
            if x is None:
                self.err(ctx, f"operator {op!r} is missing an operand")
            return self.data(x, ctx)

        def B(x):
            if x is None:
                self.err(ctx, f"operator {op!r} is missing an operand")
            return self.boolean(x, ctx)

        if op in ("+", "*", "|", "^", "&", "-", "<<", ">>", "/", "%"):
            a, b = D(left), D(right)
            if a.const is not None and b.const is not None and op not in ("/", "%"):
                return _const(_fold(op, a.const, b.const))
            ws = (a.width, b.width)
            known = all(x is not None for x in ws)
            if op == "+":
                return Val(f"({a.code} + {b.code})", "data", max(ws) + 1 if known else None)
            if op == "*":
                return Val(f"({a.code} * {b.code})", "data", sum(ws) if known else None)
            if op == "-":
                return Val(f"({a.code} - {b.code})", "data")
            if op == "&":
                bounded = [x for x in ws if x is not None]
                return Val(f"({a.code} & {b.code})", "data", min(bounded) if bounded else None)
            if op in ("|", "^"):
                return Val(f"({a.code} {op} {b.code})", "data", max(ws) if known else None)
            if op == ">>":
                return Val(f"({a.code} >> {b.code})", "data", a.width if b.const is None or
                           b.const >= 0 else None)
            if op == "<<":
                if b.const is not None:
                    if b.const < 0:
                        self.err(ctx, "negative shift amount")
                    return Val(f"({a.code} << {b.const})", "data",
                               a.width + b.const if a.width is not None else None)
                # A shift amount read from the packet could be huge; P4 results are masked to
                # the field width, so cap it at a bound no real field reaches.
                return Val(f"({a.code} << min({b.code}, 65536))", "data")
            if op == "/":
                return Val(f"_div({a.code}, {b.code})", "data", a.width)
            return Val(f"_mod({a.code}, {b.code})", "data", b.width)
        if op in ("==", "!="):
            a, b = self.expr(left, ctx), self.expr(right, ctx)
            if a.kind == "header" and b.kind == "header":
                n = Layout.block_size(a.info)
                code = f"_hdr_eq(h, {a.code}, {b.code}, {n})"
                return Val(code if op == "==" else f"(not {code})", "bool")
            if a.kind == "union" and b.kind == "union":
                n = [Layout.block_size(t) for _, t in a.info.members]
                # HeaderUnion::cmp: the same member valid in both, and equal
                code = (f"any(h[x] and h[y] and _hdr_eq(h, x, y, n) "
                        f"for x, y, n in zip({a.code}, {b.code}, {n!r}))")
                return Val(f"({code})" if op == "==" else f"(not ({code}))", "bool")
            if a.kind == "bool" and b.kind == "bool":
                return Val(f"(bool({a.code}) {op} bool({b.code}))", "bool")
            a, b = self.as_data(a, ctx), self.as_data(b, ctx)
            return Val(f"({a.code} {op} {b.code})", "bool")
        if op in (">", "<", ">=", "<="):
            a, b = D(left), D(right)
            return Val(f"({a.code} {op} {b.code})", "bool")
        if op in ("and", "or"):
            a, b = B(left), B(right)
            return Val(f"({a.code} {op} {b.code})", "bool")
        if op == "not":
            a = B(right)
            return Val(f"(not {a.code})", "bool")
        if op == "~":
            a = D(right)
            return Val(f"(~{a.code})", "data")
        if op == "valid":
            a = self.expr(right, ctx)
            if a.kind == "union":
                return Val(f"any(h[x] for x in {a.code})", "bool")
            if a.kind != "header":
                self.err(ctx, "valid() needs a header")
            return Val(f"h[{a.code}]", "bool")
        if op == "valid_union":
            a = self.expr(right, ctx)
            if a.kind != "union":
                self.err(ctx, "valid_union() needs a header union")
            return Val(f"any(h[x] for x in {a.code})", "bool")
        if op == "?":
            c = B(e.get("cond"))
            a, b = self.expr(left, ctx), self.expr(right, ctx)
            if a.kind == "bool" and b.kind == "bool":
                return Val(f"({a.code} if {c.code} else {b.code})", "bool")
            a, b = self.as_data(a, ctx), self.as_data(b, ctx)
            ws = (a.width, b.width)
            return Val(f"({a.code} if {c.code} else {b.code})", "data",
                       max(ws) if None not in ws else None)
        if op == "d2b":
            a = D(right)
            return Val(f"({a.code} != 0)", "bool")
        if op == "b2d":
            a = B(right)
            return Val(f"(1 if {a.code} else 0)", "data", 1)
        if op in ("two_comp_mod", "sat_cast", "usat_cast"):
            a, b = D(left), D(right)
            if b.const is None:
                if op == "two_comp_mod":
                    return Val(f"_tcm({a.code}, {b.code})", "data")
                self.err(ctx, f"{op} needs a constant width")
            w = b.const
            if op == "two_comp_mod":
                if a.const is not None:
                    return _const(_packet.two_comp(a.const, w))
                return Val(f"_tcm({a.code}, {w})", "data")
            if op == "usat_cast":
                return Val(f"min(max({a.code}, 0), {(1 << w) - 1})", "data", w)
            lo, hi = -(1 << (w - 1)), (1 << (w - 1)) - 1
            return Val(f"min(max({a.code}, {lo}), {hi})", "data")
        if op in ("dereference_header_stack", "dereference_stack"):
            s = self.expr(left, ctx)
            if s.kind != "stack":
                self.err(ctx, f"{op} needs a header stack on the left")
            i = D(right)
            return self.stack_elem(s.info, i.code)
        if op == "dereference_union_stack":
            s = self.expr(left, ctx)
            if s.kind != "ustack":
                self.err(ctx, f"{op} needs a header union stack on the left")
            i = D(right)
            return self.ustack_elem(s.info, i.code)
        if op in ("last_stack_index", "size_stack"):
            s = self.expr(right if right is not None else left, ctx)
            if s.kind not in ("stack", "ustack"):
                self.err(ctx, f"{op} needs a stack")
            nxt = self.L.stack_next[s.info.name]
            return Val(f"(h[{nxt}] - 1)" if op == "last_stack_index" else f"h[{nxt}]", "data")
        if op == "access_field":
            hv = self.expr(left, ctx)
            if hv.kind != "header":
                self.err(ctx, "access_field needs a header on the left")
            if isinstance(right, bool) or not isinstance(right, int) or not (
                    0 <= right < len(hv.info.fields)):
                self.err(ctx, f"access_field offset {right!r} out of range for {hv.info.name}")
            return self.field_at(hv.code, hv.info, right)
        if op == "access_union_header":
            uv = self.expr(left, ctx)
            if uv.kind != "union":
                self.err(ctx, "access_union_header needs a header union on the left")
            if isinstance(right, bool) or not isinstance(right, int) or not (
                    0 <= right < len(uv.info.members)):
                self.err(ctx, f"access_union_header offset {right!r} out of range")
            htype = uv.info.members[right][1]
            if uv.const is not None:  # a union known at compile time
                return Val(str(uv.const[right]), "header", info=htype)
            return Val(f"{uv.code}[{right}]", "header", info=htype)
        self.err(ctx, f"unsupported expression operator {op!r}")

    def as_data(self, v: Val, ctx) -> Val:
        if v.kind == "bool":
            return Val(f"(1 if {v.code} else 0)", "data", 1)
        if v.kind != "data":
            self.err(ctx, f"expected a data value, got a {v.kind}")
        return v

    def fit(self, src: Val, width: int, signed: bool = False) -> str:
        """Source of `src` truncated to a `width`-bit field (BMv2 Field::set)."""
        if signed:
            if src.const is not None:
                return repr(_packet.two_comp(src.const, width))
            return f"_tcm({src.code}, {width})"
        if src.const is not None:
            return repr(src.const & ((1 << width) - 1))
        if src.width is not None and src.width <= width:
            return src.code
        return f"({src.code}) & {(1 << width) - 1}"

    def register(self, name, ctx):
        arr = self.p.registers.get(name) if isinstance(name, str) else None
        if arr is None:
            self.err(ctx, f"unknown register array {name!r}")
        obj = self.runtime("registers", name, ctx)
        return self.bind(obj, f"R_{name}"), arr.size, arr.json["bitwidth"]

    def runtime(self, attr, name, ctx):
        objs = getattr(self.state, attr, None)
        if objs is None or name not in objs:
            self.err(ctx, f"runtime state has no {attr[:-1]} {name!r}")
        return objs[name]

    # ---- lvalues and assignment ------------------------------------------------------------

    def lvalue(self, tv, ctx) -> Val:
        val = self.expr(tv, ctx)
        is_register = isinstance(val.info, tuple)  # a register element: (reg, size, width, idx)
        if val.kind == "data" and (val.slot is not None or is_register):
            return val
        self.err(ctx, f"cannot assign to {tv!r}")

    def assign(self, dst: Val, src: Val, ctx) -> str:
        if dst.slot is None:  # register element
            reg, size, width, idx = dst.info
            return (f"if 0 <= (_i := {idx}) < {size}: {reg}.write(_i, "
                    f"{self.fit(src, width)})")
        spec = dst.info
        if spec.width is None:
            self.err(ctx, "use assign_VL to assign a variable-length field")
        return f"h[{dst.slot}] = {self.fit(src, spec.width, spec.signed)}"

    def header_arg(self, tv, ctx) -> Val:
        v = self.expr(tv, ctx)
        if v.kind != "header":
            self.err(ctx, f"expected a header, got {tv!r}")
        return v

    def validate_code(self, base: str) -> list:
        """Statements making the header at `base` valid (invalidating union siblings)."""
        if base.isdigit():
            out = [f"h[{base}] = 1"]
            for s in self.ns["_SIB"].get(int(base), ()):
                out.append(f"h[{s}] = 0")
            return out
        return [f"_set_valid(h, {base}, _SIB)"]

    # ---- primitives ------------------------------------------------------------------------

    def primitive(self, prim, ctx: _Ctx, w: _Writer, in_action: bool = True):
        if not isinstance(prim, dict) or not isinstance(prim.get("op"), str):
            self.err(ctx, f"bad primitive {prim!r}")
        name = prim["op"]
        params = prim.get("parameters", [])
        if not isinstance(params, list):
            self.err(ctx, f"primitive {name}: 'parameters' must be a list")
        pctx = _Ctx(f"{ctx.where}, primitive '{name}'", ctx.params, ctx.parser)
        if self.tracer is not None and in_action:
            # actions.cpp: `file(line) Primitive fragment`, or `Primitive (no source info)`
            si = prim.get("source_info")
            text = (f"{source_prefix(si)}Primitive {source_fragment(si)}" if source_fragment(si)
                    else "Primitive (no source info)")
            w(f"_tr.trace(h, {text!r})")
        handler = getattr(self, "p_" + name.lstrip("_"), None)
        if handler is None:
            self.err(pctx, "unsupported primitive")
        arity = _ARITY.get(name)
        if arity is not None and len(params) != arity:
            self.err(pctx, f"takes {arity} parameter(s), got {len(params)}")
        handler(params, pctx, w)

    def p_assign(self, ps, ctx, w):
        dst = self.lvalue(ps[0], ctx)
        src = self.expr(ps[1], ctx)
        w(self.assign(dst, self.as_data(src, ctx), ctx))

    p_modify_field = p_assign

    def p_assign_VL(self, ps, ctx, w):
        dst, src = self.expr(ps[0], ctx), self.expr(ps[1], ctx)
        if dst.slot is None or src.slot is None or dst.hbase is None or src.hbase is None:
            self.err(ctx, "assign_VL needs two variable-length fields")
        for v in (dst, src):
            if v.info.width is not None:
                self.err(ctx, "assign_VL needs two variable-length fields")
        nd, ns = len(dst.htype.fields), len(src.htype.fields)
        w(f"h[{dst.slot}] = h[{src.slot}]")
        w(f"h[{_add(dst.hbase, 1 + nd)}] = h[{_add(src.hbase, 1 + ns)}]")

    def p_assign_header(self, ps, ctx, w):
        dst, src = self.header_arg(ps[0], ctx), self.header_arg(ps[1], ctx)
        if dst.info is not src.info:
            self.err(ctx, f"header types differ ({dst.info.name} vs {src.info.name})")
        n = Layout.block_size(dst.info)
        w(f"_copy_hdr(h, {dst.code}, {src.code}, {n}, _SIB)")

    p_copy_header = p_assign_header

    def p_assign_union(self, ps, ctx, w):
        dst, src = self.expr(ps[0], ctx), self.expr(ps[1], ctx)
        if dst.kind != "union" or src.kind != "union" or dst.info is not src.info:
            self.err(ctx, "assign_union needs two header unions of the same type")
        sizes = [Layout.block_size(t) for _, t in dst.info.members]
        w(f"for _d, _s, _n in zip({dst.code}, {src.code}, {sizes!r}): "
          "_copy_hdr(h, _d, _s, _n, _SIB)")

    def p_assign_header_stack(self, ps, ctx, w):
        dst, src = self.expr(ps[0], ctx), self.expr(ps[1], ctx)
        if dst.kind != "stack" or src.kind != "stack" or dst.info.type is not src.info.type or \
                len(dst.info.headers) != len(src.info.headers):
            self.err(ctx, "assign_header_stack needs two stacks of the same type and size")
        n = Layout.block_size(dst.info.type)
        w(f"h[{self.L.stack_next[dst.info.name]}] = h[{self.L.stack_next[src.info.name]}]")
        for d, s in zip(dst.info.headers, src.info.headers):
            w(f"_copy_hdr(h, {self.L.base[d.name]}, {self.L.base[s.name]}, {n}, _SIB)")

    def p_assign_union_stack(self, ps, ctx, w):
        dst, src = self.expr(ps[0], ctx), self.expr(ps[1], ctx)
        if dst.kind != "ustack" or src.kind != "ustack" or dst.info.type is not src.info.type \
                or len(dst.info.unions) != len(src.info.unions):
            self.err(ctx, "assign_union_stack needs two union stacks of the same type and size")
        w(f"h[{self.L.stack_next[dst.info.name]}] = h[{self.L.stack_next[src.info.name]}]")
        for du, su in zip(dst.info.unions, src.info.unions):
            for dm, sm in zip(du.headers, su.headers):
                w(f"_copy_hdr(h, {self.L.base[dm.name]}, {self.L.base[sm.name]}, "
                  f"{Layout.block_size(dm.type)}, _SIB)")

    def stack_elements(self, v: Val, ctx):
        """(list of element header-base tuples, block sizes, next slot) of a stack value."""
        if v.kind == "stack":
            elems = [(self.L.base[x.name],) for x in v.info.headers]
            sizes = (Layout.block_size(v.info.type),)
        elif v.kind == "ustack":
            elems = [tuple(self.L.base[m.name] for m in u.headers) for u in v.info.unions]
            sizes = tuple(Layout.block_size(t) for _, t in v.info.type.members)
        else:
            self.err(ctx, "expected a header stack")
        return elems, sizes, self.L.stack_next[v.info.name]

    def p_push(self, ps, ctx, w):
        elems, sizes, nxt = self.stack_elements(self.expr(ps[0], ctx), ctx)
        num = self.data(ps[1], ctx)
        w(f"_push(h, {self.bind(elems, 'stk')}, {sizes!r}, {nxt}, {num.code})")

    def p_pop(self, ps, ctx, w):
        elems, sizes, nxt = self.stack_elements(self.expr(ps[0], ctx), ctx)
        num = self.data(ps[1], ctx)
        w(f"_pop(h, {self.bind(elems, 'stk')}, {sizes!r}, {nxt}, {num.code})")

    def p_add_header(self, ps, ctx, w):
        hv = self.header_arg(ps[0], ctx)
        n = Layout.block_size(hv.info)
        nbytes = self.header_nbytes_code(hv)
        b = hv.code
        if not b.isdigit():
            w(f"_b = {b}")
            b = "_b"
        # BMv2 add_header: only an invalid header is reset, made valid and counted in the length
        w(f"if not h[{b}]:")
        w.indent()
        if len(hv.info.fields):
            w(f"h[{_add(b, 1)}:{_add(b, n)}] = {[0] * (n - 1)!r}")
        for line in self.validate_code(b):
            w(line)
        w(f"h[{self.reg('PKT_LEN')}] += {nbytes.replace(hv.code, b)}")
        w.dedent()

    def header_nbytes_code(self, hv: Val) -> str:
        htype = hv.info
        if htype.varbit_index is None:
            return str(htype.fixed_bits // 8)
        return f"({htype.fixed_bits} + h[{_add(hv.code, 1 + len(htype.fields))}]) // 8"

    def p_add_header_fast(self, ps, ctx, w):
        hv = self.header_arg(ps[0], ctx)
        for line in self.validate_code(hv.code):
            w(line)

    def p_remove_header(self, ps, ctx, w):
        hv = self.header_arg(ps[0], ctx)
        b = hv.code
        if not b.isdigit():
            w(f"_b = {b}")
            b = "_b"
        w(f"if h[{b}]:")
        w.indent()
        w(f"h[{self.reg('PKT_LEN')}] -= {self.header_nbytes_code(Val(b, 'header', info=hv.info))}")
        w(f"h[{b}] = 0")
        w.dedent()

    def p_mark_to_drop(self, ps, ctx, w):
        hv = self.header_arg(ps[0], ctx)
        # primitives.cpp mark_to_drop: egress_spec and mcast_grp of the given std header.
        idx = hv.info.field_index("egress_spec")
        if idx is None:
            self.err(ctx, "mark_to_drop needs the standard_metadata header (no egress_spec)")
        w(f"h[{_add(hv.code, 1 + idx)}] = {self.drop_port}")
        midx = hv.info.field_index("mcast_grp")
        if midx is not None:
            w(f"h[{_add(hv.code, 1 + midx)}] = 0")

    def p_drop(self, ps, ctx, w):
        w(f"h[{self.std('standard_metadata.egress_spec')}] = {self.drop_port}")
        w(f"h[{self.std('intrinsic_metadata.mcast_grp')}] = 0")

    def p_exit(self, ps, ctx, w):
        w(f"h[{self.reg('EXIT')}] = 1")

    def p_no_op(self, ps, ctx, w):
        w("pass")

    def _clone(self, ps, ctx, w):
        sid, fl = self.data(ps[0], ctx), self.data(ps[1], ctx)
        # primitives.cpp reads both as uint16
        w(f"h[{self.reg('CLONE')}] = {self.fit(sid, 16)}")
        w(f"h[{self.reg('CLONE_FL')}] = {self.fit(fl, 16)}")

    p_clone_ingress_pkt_to_egress = _clone
    p_clone_egress_pkt_to_egress = _clone

    def p_resubmit(self, ps, ctx, w):
        w(f"h[{self.reg('RESUBMIT')}] = {self.fit(self.data(ps[0], ctx), 16)}")

    def p_recirculate(self, ps, ctx, w):
        w(f"h[{self.reg('RECIRC')}] = {self.fit(self.data(ps[0], ctx), 16)}")

    def p_generate_digest(self, ps, ctx, w):
        self.data(ps[0], ctx)  # receiver: ignored, as BMv2
        w(f"h[{self.reg('LEARN')}] = {self.fit(self.data(ps[1], ctx), 16)}")

    def p_truncate(self, ps, ctx, w):
        n = self.data(ps[0], ctx)
        t = self.reg("TRUNC")
        w(f"_n = {n.code}")
        w(f"h[{t}] = _n if h[{t}] is None else min(h[{t}], _n)")

    def p_modify_field_with_hash_based_offset(self, ps, ctx, w):
        dst = self.lvalue(ps[0], ctx)
        base = self.data(ps[1], ctx)
        calc = ps[2]
        if not isinstance(calc, dict) or calc.get("type") != "calculation":
            self.err(ctx, "third parameter must be a calculation")
        fn = self.calculation(calc.get("value"), ctx)
        size = self.data(ps[3], ctx)
        w(f"_sz = {size.code}")
        # primitives.cpp: a max of 0 is treated as 1
        w(self.assign(dst, Val(f"({base.code} + {fn}(h) % (_sz or 1))", "data"), ctx))

    def p_modify_field_rng_uniform(self, ps, ctx, w):
        dst = self.lvalue(ps[0], ctx)
        lo, hi = self.data(ps[1], ctx), self.data(ps[2], ctx)
        w(f"_lo = {lo.code}")
        w(f"_hi = {hi.code}")
        w("if _lo <= _hi:")  # BMv2 leaves the field alone when lo > hi
        w.indent()
        w(self.assign(dst, Val("_randint(_lo, _hi)", "data"), ctx))
        w.dedent()

    def _arith(op):
        def handler(self, ps, ctx, w):
            dst = self.lvalue(ps[0], ctx)
            if len(ps) == 2:
                a, b = dst, self.data(ps[1], ctx)
            else:
                a, b = self.data(ps[1], ctx), self.data(ps[2], ctx)
            if op == "<<":
                code = f"({a.code} << min({b.code}, 65536))"
            else:
                code = f"({a.code} {op} {b.code})"
            w(self.assign(dst, Val(code, "data"), ctx))

        return handler

    p_add_to_field = _arith("+")
    p_subtract_from_field = _arith("-")
    p_add = _arith("+")
    p_subtract = _arith("-")
    p_bit_xor = _arith("^")
    p_bit_or = _arith("|")
    p_bit_and = _arith("&")
    p_shift_left = _arith("<<")
    p_shift_right = _arith(">>")
    del _arith

    def array_index(self, kind, tv, ctx):
        arr_map = {"counter_array": self.p.counters, "meter_array": self.p.meters,
                   "register_array": self.p.registers}[kind]
        if not isinstance(tv, dict) or tv.get("type") != kind or tv.get("value") not in arr_map:
            self.err(ctx, f"expected a known {kind}, got {tv!r}")
        return arr_map[tv["value"]]

    def p_count(self, ps, ctx, w):
        arr = self.array_index("counter_array", ps[0], ctx)
        obj = self.bind(self.runtime("counters", arr.name, ctx), f"C_{arr.name}")
        i = self.data(ps[1], ctx)
        w(f"if 0 <= (_i := {i.code}) < {arr.size}: {obj}.count(_i, h[{self.reg('ING_LEN')}])")

    def p_execute_meter(self, ps, ctx, w):
        arr = self.array_index("meter_array", ps[0], ctx)
        obj = self.bind(self.runtime("meters", arr.name, ctx), f"M_{arr.name}")
        i = self.data(ps[1], ctx)
        dst = self.lvalue(ps[2], ctx)
        w(f"if 0 <= (_i := {i.code}) < {arr.size}:")
        w.indent()
        w(self.assign(dst, Val(f"{obj}.execute(_i, h[{self.reg('ING_LEN')}])", "data"), ctx))
        w.dedent()

    def p_register_read(self, ps, ctx, w):
        dst = self.lvalue(ps[0], ctx)
        arr = self.array_index("register_array", ps[1], ctx)
        reg, size, width = self.register(arr.name, ctx)
        i = self.data(ps[2], ctx)
        w(f"if 0 <= (_i := {i.code}) < {size}:")
        w.indent()
        w(self.assign(dst, Val(f"{reg}.read(_i)", "data", width), ctx))
        w.dedent()

    def p_register_write(self, ps, ctx, w):
        arr = self.array_index("register_array", ps[0], ctx)
        reg, size, width = self.register(arr.name, ctx)
        i = self.data(ps[1], ctx)
        src = self.data(ps[2], ctx)
        w(f"if 0 <= (_i := {i.code}) < {size}: {reg}.write(_i, {self.fit(src, width)})")

    def p_log_msg(self, ps, ctx, w):
        fmt = self.expr(ps[0], ctx)
        if fmt.kind != "string":
            self.err(ctx, "first parameter must be a string")
        vec = ps[1]
        if not isinstance(vec, dict) or vec.get("type") != "parameters_vector" or not isinstance(
                vec.get("value"), list):
            self.err(ctx, "second parameter must be a parameters_vector")
        args = [self.data(x, ctx).code for x in vec["value"]]
        if self.tracer is not None:
            w(f"_tr.log_msg(h, {fmt.code}, ({''.join(a + ', ' for a in args)}))")

    def _check(self, label):
        def handler(self, ps, ctx, w):
            v = self.expr(ps[0], ctx)
            cond = v.code if v.kind == "bool" else f"({self.as_data(v, ctx).code} != 0)"
            w(f"if not {cond}: raise _Abort({(label + ' error in ' + ctx.where)!r})")

        return handler

    p_assert = _check(None, "Assert")
    p_assume = _check(None, "Assume")
    del _check

    def p_jump(self, ps, ctx, w):
        # Reached only outside an action body (action() handles jumps itself).
        self.err(ctx, "_jump/_jump_if_zero are only allowed in actions")

    p_jump_if_zero = p_jump

    # ---- calculations and checksums -----------------------------------------------------------

    def calculation(self, name, ctx) -> str:
        """Name of a generated `fn(h) -> int` computing named calculation `name`."""
        if name in self.calc_fns:
            return self.calc_fns[name]
        calc = self.p.calculations.get(name) if isinstance(name, str) else None
        if calc is None:
            self.err(ctx, f"unknown calculation {name!r}")
        cctx = _Ctx(f"calculation '{name}'")
        runtime_hash = self.runtime("calculations", name, cctx).hash
        fname = self.bind(None, f"calc_{name}")
        self.calc_fns[name] = fname
        w = _Writer()  # emitted apart: we may be in the middle of another function
        w(f"def {fname}(h):")
        w.indent()
        summed = self.summed_csum16(calc, runtime_hash, cctx) if calc.algo in CSUM16_ALGOS else None
        if summed is not None:
            # The checksum of a header's fields straight from the packed number: no bytes made
            # and read back (hashing.csum16_of_sum says why the remainder is the sum).
            valid, number = summed
            if valid is not None:
                w(f"if not h[{valid}]: return 65535")  # csum16 of no bytes
            w(f"_v = {number}")
            w("return (_v % 65535 or (65535 if _v else 0)) ^ 65535")
        else:
            alg = self.bind(runtime_hash, f"alg_{calc.algo}")
            w(f"_buf = {self.packed_bytes(calc.inputs, cctx, w)}")
            w(f"return {alg}(_buf)")
        self.calc_lines.extend(w.lines)
        return fname

    def summed_csum16(self, calc, runtime_hash, ctx):
        """(validity slot or None, code of a number congruent to the data modulo 0xFFFF, zero
        only when the data is) when a csum16 calculation reads at most one header's fields and
        constants, all of static width, and its runtime hash is the plain one; else None.

        2^16 = 1 modulo 0xFFFF, so a field shifted left by s counts as shifted by s % 16: the
        sum of the fields so shifted is small-int arithmetic, where packing them is a big one."""
        if runtime_hash is not csum16:
            return None
        static = self.static_number(*self.calc_groups(calc.inputs, ctx))
        if static is None:
            return None
        valid, pieces, nbytes = static
        pad = 8 if nbytes & 1 else 0  # csum16 pads an odd byte count with a zero byte
        terms = [f"({code} << {(shift + pad) % 16})" if (shift + pad) % 16 else code
                 for code, shift in pieces]
        return valid, " + ".join(terms)

    def calc_groups(self, inputs, ctx):
        """`inputs` as ([(validity slot or None, [(value code, width code)])], payload?):
        consecutive pieces from the same header grouped under one validity test."""
        groups = []  # (validity slot or None, [(value code, width code)])
        payload = False
        for item in inputs:
            if not isinstance(item, dict):
                self.err(ctx, f"bad calculation input {item!r}")
            t = item.get("type")
            if payload:
                self.err(ctx, "payload must be the last calculation input")
            if t == "field":
                v = self.field(item.get("value"), ctx)
                hname = item["value"][0]
                inst = self.p.headers.get(hname)
                if inst is None:
                    inst = self.p.headers[self.p.field_aliases[".".join(item["value"])][0]]
                valid = None if inst.metadata else self.L.base[inst.name]
                if v.slot is None:  # $valid$
                    pieces = [(v.code, "1")]
                else:
                    pieces = [self.field_piece(v)]
                self.add_pieces(groups, valid, pieces)
            elif t == "hexstr":
                bw = item.get("bitwidth")
                if isinstance(bw, bool) or not isinstance(bw, int) or bw <= 0:
                    self.err(ctx, "hexstr calculation input needs a positive 'bitwidth'")
                value = parse_hexstr(item.get("value"), ctx.where) & ((1 << bw) - 1)
                self.add_pieces(groups, None, [(repr(value), str(bw))])
            elif t == "header":
                hv = self.header_val(item.get("value"), ctx)
                inst = self.p.headers[item["value"]]
                pieces = [self.field_piece(self.field_at(hv.code, inst.type, i))
                          for i in range(len(inst.type.fields))]
                self.add_pieces(groups, None if inst.metadata else int(hv.code), pieces)
            elif t == "payload":
                payload = True
            else:
                self.err(ctx, f"unsupported calculation input type {t!r}")
        return groups, payload

    @staticmethod
    def static_number(groups, payload):
        """(validity slot or None, [(value code, its left shift in the packed number)], byte
        count) for one header (or constants) of static width; None otherwise."""
        if len(groups) != 1 or payload or not all(wc.isdigit() for _, wc in groups[0][1]):
            return None
        valid, pieces = groups[0]
        total = sum(int(wc) for _, wc in pieces)
        pad = -total % 8
        shift = total + pad
        shifted = []
        for code, wc in pieces:
            shift -= int(wc)
            shifted.append((code, shift))
        return valid, shifted, (total + pad) // 8

    def packed_bytes(self, inputs, ctx, w) -> str:
        """Emit statements building BufBuilder bytes for `inputs`; returns the bytes source."""
        groups, payload = self.calc_groups(inputs, ctx)
        static = self.static_number(groups, payload)
        if static is not None:  # a single int to bytes
            valid, pieces, nbytes = static
            number = " | ".join(f"({code} << {shift})" if shift else code for code, shift in pieces)
            value = f"({number}).to_bytes({nbytes}, 'big')"
            return value if valid is None else f"{value} if h[{valid}] else b''"
        w("_a = 0")
        w("_n = 0")
        for valid, pieces in groups:
            if valid is not None:
                w(f"if h[{valid}]:")
                w.indent()
            static = all(wc.isdigit() for _, wc in pieces)
            if static:
                total = sum(int(wc) for _, wc in pieces)
                shift = total
                terms = []
                for code, wc in pieces:
                    shift -= int(wc)
                    terms.append(f"({code} << {shift})" if shift else code)
                w(f"_a = (_a << {total}) | {' | '.join(terms)}")
                w(f"_n += {total}")
            else:
                for code, wc in pieces:
                    w(f"_w = {wc}")
                    w(f"_a = (_a << _w) | {code}")
                    w("_n += _w")
            if valid is not None:
                w.dedent()
        w("_p = -_n % 8")
        out = "(_a << _p).to_bytes((_n + _p) >> 3, 'big')"
        if payload:
            out += f" + h[{self.reg('PAYLOAD')}]"
        return out

    def field_piece(self, v: Val):
        spec = v.info
        if spec.width is None:  # varbit: its current width sits after the fields
            return v.code, f"h[{_add(v.hbase, 1 + len(v.htype.fields))}]"
        code = f"({v.code} & {(1 << spec.width) - 1})" if spec.signed else v.code
        return code, str(spec.width)

    @staticmethod
    def add_pieces(groups, valid, pieces):
        if groups and groups[-1][0] == valid:
            groups[-1][1].extend(pieces)
        else:
            groups.append((valid, list(pieces)))

    # ---- actions -------------------------------------------------------------------------------

    def action(self, action) -> str:
        """Emit `def _act_<id>(h, d)`; returns its name."""
        ctx = _Ctx(f"action '{action.name}' (id {action.id})", action.params)
        name = f"_act_{action.id}"
        w = self.w
        w(f"def {name}(h, d):")
        w.indent()
        if self.tracer is not None:
            text = f"{source_prefix(action.source_info)}Action {action.name}"
            w(f"_tr.trace(h, {text!r})")
        prims = action.primitives
        jumps = any(isinstance(p, dict) and p.get("op") in ("_jump", "_jump_if_zero")
                    for p in prims)
        if not jumps:
            for i, prim in enumerate(prims):
                self.primitive(prim, _Ctx(f"{ctx.where} primitive #{i}", ctx.params), w)
            w("return")
        else:
            self.jumping_action(prims, ctx, w)
        w.dedent()
        return name

    def inline_action(self, aid, args, w):
        """The body of action `aid` with constant `args`, written in place of a call (p4c turns
        every statement outside a table into such a call; a call costs more than most bodies).
        Actions with jumps stay calls. The body's primitives write no `return`."""
        action = self.p.actions[aid]
        prims = action.primitives
        if any(isinstance(p, dict) and p.get("op") in ("_jump", "_jump_if_zero") for p in prims):
            w(f"_act_{aid}(h, {args!r})")
            return
        ctx = _Ctx(f"action '{action.name}' (id {action.id})", action.params)
        if args:
            w(f"d = {args!r}")
        before = len(w.lines)
        for i, prim in enumerate(prims):
            self.primitive(prim, _Ctx(f"{ctx.where} primitive #{i}", ctx.params), w)
        if len(w.lines) == before:
            w("pass")

    def jumping_action(self, prims, ctx, w):
        """An action body with _jump/_jump_if_zero (BMv2 ActionFnEntry::execute jumps to a
        primitive index): a loop over basic blocks, dispatched on `pc`."""
        targets = []  # per primitive: the jump target code, or None
        leaders = {0}
        for i, prim in enumerate(prims):
            op = prim.get("op") if isinstance(prim, dict) else None
            ps = prim.get("parameters", []) if isinstance(prim, dict) else []
            target = None
            if op in ("_jump", "_jump_if_zero"):
                want = 1 if op == "_jump" else 2
                if len(ps) != want:
                    self.err(_Ctx(f"{ctx.where} primitive #{i}"), f"{op} takes {want} parameter(s)")
                target = self.data(ps[-1], _Ctx(f"{ctx.where} primitive #{i}", ctx.params))
                leaders.add(i + 1)
                if target.const is not None:
                    leaders.add(target.const)
                else:  # a computed target: every primitive may be one
                    leaders.update(range(len(prims)))
            targets.append(target)
        starts = sorted(x for x in leaders if 0 <= x < len(prims))
        w("pc = 0")
        w("while True:")
        w.indent()
        for n, start in enumerate(starts):
            end = starts[n + 1] if n + 1 < len(starts) else len(prims)
            w(f"{'if' if n == 0 else 'elif'} pc == {start}:")
            w.indent()
            for i in range(start, end):
                prim = prims[i]
                pctx = _Ctx(f"{ctx.where} primitive #{i}", ctx.params)
                target = targets[i]
                if target is None:
                    self.primitive(prim, pctx, w)
                elif prim["op"] == "_jump":
                    w(f"pc = {target.code}")
                    w("continue")
                else:
                    cond = self.data(prim["parameters"][0], pctx)
                    w(f"if {cond.code} == 0:")
                    w.indent()
                    w(f"pc = {target.code}")
                    w("continue")
                    w.dedent()
            if end >= len(prims):
                w("return")
            elif targets[end - 1] is None or prims[end - 1]["op"] != "_jump":
                w(f"pc = {end}")
            w.dedent()
        w("else:")
        w.indent()
        w("return")
        w.dedent()
        w.dedent()

    # ---- parser ----------------------------------------------------------------------------

    def parser(self, parser) -> None:
        """Emit `def parse(h, data)`."""
        w = self.w
        L = self.L
        states = parser.states
        perr = L.std["standard_metadata.parser_error"]
        ckerr = L.std["standard_metadata.checksum_error"]
        w("def parse(h, data):")
        w.indent()
        self.parser_name = parser.name
        w("n = len(data)")
        w("pos = 0")
        w(f"h[{perr}] = {self.errors['NoError']}")
        w(f"h[{ckerr}] = 0")
        if self.tracer is not None:
            w(f"_tr.parser_start(h, {parser.name!r})")
        if parser.init_state is not None:
            edges = Counter()
            for s in states.values():
                for t in s.transitions:
                    if t.next_state is not None:
                        edges[t.next_state] += 1
            entries = [parser.init_state] + [s for s in states if edges[s] > 1
                                             and s != parser.init_state]
            self.parse_entries = {s: i for i, s in enumerate(entries)}
            self.parse_order = entries
            w("try:")
            w.indent()
            w("st = 0")
            looping = self.parser_loops(states, parser.init_state)
            if looping:
                w("_steps = 0")
            w("while True:")
            w.indent()
            if looping:
                # BMv2 would spin forever in a parser loop that consumes nothing; we stop it
                w("_steps += 1")
                w(f"if _steps > {MAX_PARSER_STEPS}: raise _PE({self.errors['ParserTimeout']})")
            i = 0
            while i < len(entries):  # goto_state may add entries for very deep parsers
                w(f"{'if' if i == 0 else 'elif'} st == {i}:")
                w.indent()
                self.parse_state(states[entries[i]], states, w)
                w.dedent()
                i += 1
            w.dedent()
            w.dedent()
            w("except _PE as e:")
            w.indent()
            w(f"h[{perr}] = e.code")
            if self.tracer is not None:
                w("_tr.parser_error(h, e.code)")
            w.dedent()
        w(f"h[{L.reg['PAYLOAD']}] = data[pos:]")
        for ck in self.p.checksums:
            if ck.verify:
                self.checksum(ck, w, verify=True)
        if self.tracer is not None:
            w(f"_tr.parser_done(h, {parser.name!r})")
        w.dedent()

    @staticmethod
    def parser_loops(states, init) -> bool:
        """Can the parse graph reach a state twice (a cycle reachable from `init`)?"""
        color = {}

        def visit(name):
            color[name] = 1
            for t in states[name].transitions:
                nxt = t.next_state
                if nxt is None:
                    continue
                if color.get(nxt) == 1 or (nxt not in color and visit(nxt)):
                    return True
            color[name] = 2
            return False

        return visit(init)

    def goto_state(self, target, states, w):
        if target is None:
            w("break")
        elif target in self.parse_entries or w.depth > MAX_INDENT:
            if target not in self.parse_entries:
                self.parse_entries[target] = len(self.parse_entries)
                self.parse_order.append(target)
            w(f"st = {self.parse_entries[target]}")
            w("continue")
        else:
            self.parse_state(states[target], states, w)

    def parse_state(self, s, states, w):
        ctx = _Ctx(f"parse state '{s.name}'", parser=True)
        tr = self.tracer is not None
        if tr:
            w(f"_tr.parser_state(h, {self.parser_name!r}, {s.name!r})")
        for i, op in enumerate(s.ops):
            self.parser_op(op, _Ctx(f"{ctx.where} op #{i}", parser=True), w)
        default = None
        cases = []
        for t in s.transitions:
            if t.type == "default":
                default = t
            else:
                cases.append(t)
        if not cases or not s.key:
            if tr:
                w(f"_tr.parser_no_switch(h, {s.name!r})")
                w("_tr.bytes_parsed(h, pos)")
            self.goto_state(default.next_state if default else None, states, w)
            return
        widths = self.select_key(s.key, ctx, w)
        if tr:
            w(f"_tr.parser_key(h, {s.name!r}, _k, {sum((x + 7) // 8 for x in widths)})")
            w("_tr.bytes_parsed(h, pos)")
        first = True
        for t in cases:
            if t.type == "hexstr":
                value = parse_hexstr(t.value, ctx.where)
                if t.mask is None:
                    cond = f"_k == {value}"
                else:
                    mask = parse_hexstr(t.mask, ctx.where)
                    cond = f"_k & {mask} == {value & mask}"
            else:
                vs = self.runtime("value_sets", t.value, ctx) if isinstance(t.value, str) else None
                if vs is None or t.value not in self.p.parse_vsets:
                    self.err(ctx, f"unknown parse value set {t.value!r}")
                ck = self.compressed_key(widths)
                vsn = self.bind(vs, "vs_" + t.value)
                if t.mask is None:
                    cond = f"{vsn}.contains({ck})"
                else:
                    # ParseVSetMask: the JSON mask applies to the key and to every member
                    cmask = _compress(parse_hexstr(t.mask, ctx.where), widths)
                    cond = f"_vs_match({vsn}, {ck}, {cmask})"
            w(f"{'if' if first else 'elif'} {cond}:")
            first = False
            w.indent()
            self.goto_state(t.next_state, states, w)
            w.dedent()
        w("else:")
        w.indent()
        # BMv2 ParseState: no matching case and no default -> parsing ends without error.
        self.goto_state(default.next_state if default else None, states, w)
        w.dedent()

    def select_key(self, key, ctx, w):
        """Emit `_k = ...` (fields byte-padded and concatenated, as BMv2's key builder)."""
        parts = []
        widths = []
        for i, k in enumerate(key):
            if not isinstance(k, dict):
                self.err(ctx, f"bad transition key element {k!r}")
            t = k.get("type")
            if t == "lookahead":
                off, width = self.lookahead_args(k.get("value"), ctx)
                v = Val(f"_la(data, pos, {off}, {width})", "data", width)
            elif t in ("field", "stack_field", "union_stack_field"):
                v = self.expr(k, ctx)
                width = v.info.width
                if width is None:
                    self.err(ctx, "a variable-length field cannot be a select key")
                if v.info.signed:
                    v = Val(f"({v.code} & {(1 << width) - 1})", "data", width)
            else:
                self.err(ctx, f"unsupported transition key type {t!r}")
            w(f"_k{i} = {v.code}")
            parts.append(f"_k{i}")
            widths.append(width)
        if len(parts) == 1:
            w("_k = _k0")
            return widths
        shift = sum((x + 7) // 8 * 8 for x in widths)
        terms = []
        for part, width in zip(parts, widths):
            shift -= (width + 7) // 8 * 8
            terms.append(f"({part} << {shift})" if shift else part)
        w(f"_k = {' | '.join(terms)}")
        return widths

    @staticmethod
    def compressed_key(widths):
        shift = sum(widths)
        terms = []
        for i, width in enumerate(widths):
            shift -= width
            terms.append(f"(_k{i} << {shift})" if shift else f"_k{i}")
        return "(" + " | ".join(terms) + ")"

    def trace_parser_set(self, dst, src, ctx, w):
        """parser.cpp's ParserOpSet lines, worded by the kind of source."""
        def name(ref):
            value = ref.get("value") if isinstance(ref, dict) else None
            return ".".join(map(str, value)) if isinstance(value, list) else str(value)
        text = f"Parser set: setting field '{name(dst)}' "
        kind = src.get("type") if isinstance(src, dict) else None
        after = ""
        if kind == "field":
            text += f"from field '{name(src)}' ("
            after = ")"
        elif kind == "hexstr":
            text += "to "
        elif kind == "lookahead":
            off, width = self.lookahead_args(src.get("value"), ctx)
            text += f"from lookahead ({off}, {width}), new value is "
        else:
            text += "from expression, new value is "
        w(f"_tr.parser_set(h, {text!r}, {self.expr(dst, ctx).code}, {after!r})")

    def parser_op(self, op, ctx, w):
        if not isinstance(op, dict) or not isinstance(op.get("op"), str):
            self.err(ctx, f"bad parser op {op!r}")
        kind = op["op"]
        ps = op.get("parameters", [])
        if not isinstance(ps, list):
            self.err(ctx, "'parameters' must be a list")
        ctx = _Ctx(f"{ctx.where} ({kind})", parser=True)
        if kind in ("extract", "extract_VL"):
            if len(ps) != (1 if kind == "extract" else 2):
                self.err(ctx, "wrong number of parameters")
            self.extract(ps[0], ps[1] if kind == "extract_VL" else None, ctx, w)
        elif kind == "set":
            if len(ps) != 2:
                self.err(ctx, "set takes 2 parameters")
            dst = self.lvalue(ps[0], ctx)
            src = ps[1]
            if isinstance(src, dict) and src.get("type") == "lookahead":
                off, width = self.lookahead_args(src.get("value"), ctx)
                nbytes = (off % 8 + width + 7) // 8
                # ParserOpSet<ParserLookAhead>: checks nbytes from the current position
                w(f"if n - pos < {nbytes}: raise _PE({self.errors['PacketTooShort']})")
            w(self.assign(dst, self.as_data(self.expr(src, ctx), ctx), ctx))
            if self.tracer is not None:
                self.trace_parser_set(ps[0], src, ctx, w)
        elif kind == "verify":
            if len(ps) != 2:
                self.err(ctx, "verify takes 2 parameters")
            cond = self.boolean(ps[0], ctx)
            code = self.data(ps[1], ctx)
            w(f"if not {cond.code}: raise _PE({code.code})")
        elif kind in ("shift", "advance"):
            if len(ps) != 1:
                self.err(ctx, f"{kind} takes 1 parameter")
            amount = ps[0]
            if isinstance(amount, int) and not isinstance(amount, bool):
                amount = _const(amount)
            else:
                amount = self.data(amount, ctx)
            if kind == "shift":
                w(f"_nb = {amount.code}")
            else:
                w(f"_nb = {amount.code}")
                w(f"if _nb % 8: raise _PE({self.errors['ParserInvalidArgument']})")
                w("_nb >>= 3")
            w(f"if n - pos < _nb: raise _PE({self.errors['PacketTooShort']})")
            w("pos += _nb")
        elif kind == "primitive":
            if len(ps) != 1:
                self.err(ctx, "primitive takes 1 parameter")
            self.primitive(ps[0], ctx, w)
        else:
            self.err(ctx, f"unsupported parser op {kind!r}")

    def extract(self, target, vl_expr, ctx, w):
        if not isinstance(target, dict):
            self.err(ctx, f"bad extract target {target!r}")
        t, v = target.get("type"), target.get("value")
        perr = self.errors
        after = []  # statements after the fields are written
        if t == "regular":
            inst = self.p.headers.get(v) if isinstance(v, str) else None
            if inst is None:
                self.err(ctx, f"unknown header {v!r}")
            base = str(self.L.base[v])
            htype = inst.type
            valid = self.validate_code(base)
            label = repr(v)
        elif t == "stack":
            stack = self.p.stacks.get(v) if isinstance(v, str) else None
            if stack is None:
                self.err(ctx, f"unknown header stack {v!r}")
            nxt = self.L.stack_next[v]
            w(f"_i = h[{nxt}]")
            w(f"if _i >= {len(stack.headers)}: raise _PE({perr['StackOutOfBounds']})")
            bases = self.bind([self.L.base[x.name] for x in stack.headers], f"S_{v}")
            w(f"_b = {bases}[_i]")
            base, htype = "_b", stack.type
            valid = ["h[_b] = 1"]
            after = [f"h[{nxt}] = _i + 1"]
            label = f"{v!r} + '[' + str(_i) + ']'"
        elif t == "union_stack":
            if not isinstance(v, list) or len(v) != 2 or not _is_name(v[0], self.p.union_stacks):
                self.err(ctx, f"bad union_stack extract target {v!r}")
            ustack = self.p.union_stacks[v[0]]
            members = [m for m, _ in ustack.type.members]
            if v[1] not in members:
                self.err(ctx, f"union stack {v[0]!r} has no member {v[1]!r}")
            midx = members.index(v[1])
            nxt = self.L.stack_next[v[0]]
            w(f"_i = h[{nxt}]")
            w(f"if _i >= {len(ustack.unions)}: raise _PE({perr['StackOutOfBounds']})")
            table = self.bind([tuple(self.L.base[m.name] for m in u.headers)
                               for u in ustack.unions], f"U_{v[0]}")
            w(f"_b = {table}[_i][{midx}]")
            base, htype = "_b", ustack.type.members[midx][1]
            valid = ["_set_valid(h, _b, _SIB)"]
            after = [f"h[{nxt}] = _i + 1"]
            label = f"{v[0]!r} + '[' + str(_i) + '].' + {v[1]!r}"
        else:
            self.err(ctx, f"unsupported extract target type {t!r}")
        vbi = htype.varbit_index
        if vl_expr is not None and vbi is None:
            self.err(ctx, f"extract_VL of {htype.name}, which has no variable-length field")
        fixed = htype.fixed_bits
        if fixed % 8:
            self.err(ctx, f"header type {htype.name} is {fixed} bits, not a whole number of bytes")
        if vl_expr is None and vbi is not None:
            # Plain extract of a variable-length header (P4_14 JSON): the header type's
            # length_exp, which may read fields before the varbit one (Header::extract_VL).
            if htype.length_exp is None:
                self.err(ctx, f"header type {htype.name} has a variable-length field but no "
                              "length_exp: use extract_VL")
            prefix = sum(f.width for f in htype.fields[:vbi])
            w(f"if n - pos < {fixed // 8}: raise _PE({perr['PacketTooShort']})")
            if prefix:
                nbytes = (prefix + 7) // 8
                w(f"_v = _ib(data[pos:pos + {nbytes}], 'big')")
                shift = nbytes * 8
                for i, f in enumerate(htype.fields[:vbi]):
                    shift -= f.width
                    self.emit_field_from(w, f"h[{_add(base, 1 + i)}]", f, "_v", str(shift),
                                         first=False)
            vl_expr = htype.length_exp
        if vbi is None:
            nbytes = fixed // 8
            w(f"if n - pos < {nbytes}: raise _PE({perr['PacketTooShort']})")
            self.unpack_fields(base, htype, w)
            w(f"pos += {nbytes}")
        else:
            nb = self.data(vl_expr, ctx)
            w(f"_nb = {nb.code}")
            # parser.cpp extract_VL: error order as BMv2
            w(f"if _nb % 8: raise _PE({perr['ParserInvalidArgument']})")
            w(f"_t = {fixed // 8} + (_nb >> 3)")
            w(f"if n - pos < _t: raise _PE({perr['PacketTooShort']})")
            if htype.max_length:
                w(f"if {htype.max_length} < _t: raise _PE({perr['HeaderTooShort']})")
            w("_v = _ib(data[pos:pos + _t], 'big')")
            after_bits = sum(f.width for f in htype.fields[vbi + 1:])
            shift_after = after_bits
            for i, f in enumerate(htype.fields):
                slot = f"h[{_add(base, 1 + i)}]"
                if i < vbi:
                    before_rest = sum(x.width for x in htype.fields[i + 1:vbi])
                    self.emit_field_from(w, slot, f, "_v", f"(_nb + {before_rest + after_bits})",
                                         first=(i == 0))
                elif i == vbi:
                    w(f"{slot} = (_v >> {after_bits}) & ((1 << _nb) - 1)")
                else:
                    shift_after -= f.width
                    self.emit_field_from(w, slot, f, "_v", str(shift_after), first=False)
            w(f"h[{_add(base, 1 + len(htype.fields))}] = _nb")
            w("pos += _t")
        for line in valid + after:
            w(line)
        if self.tracer is not None:
            w(f"_tr.extract(h, {label})")

    def struct_of(self, htype) -> tuple:
        """(units, bound struct.Struct name) of a fixed-width header type, made once."""
        known = self.structs.get(htype.name)
        if known is None:
            units = wire_units(htype.fields)
            known = self.structs[htype.name] = (
                units, self.bind(struct.Struct(struct_format(units)), f"st_{htype.name}"))
        return known

    def unpack_fields(self, base, htype, w):
        """Fields of the fixed-width header at `base` from data[pos:], through struct."""
        units, st = self.struct_of(htype)
        nparts = sum(len(parts) for parts, _ in units)
        if nparts:
            names = [f"_p{k}" for k in range(nparts)]
            w(f"{', '.join(names)}{',' if nparts == 1 else ''} = {st}.unpack_from(data, pos)")
        k = 0
        for parts, placed in units:
            value = self.joined_parts(parts, k)
            k += len(parts)
            if len(placed) > 1 and len(parts) > 1:
                w(f"_v = {value}")
                value = "_v"
            for i, shift, width in placed:
                spec = htype.fields[i]
                code = value if len(placed) == 1 else (
                    f"({value} >> {shift}) & {(1 << width) - 1}" if shift else
                    f"{value} & {(1 << width) - 1}")
                if not width:
                    code = "0"
                elif spec.signed:
                    code = f"_tcm({code}, {width})"
                w(f"h[{_add(base, 1 + i)}] = {code}")

    @staticmethod
    def joined_parts(parts, first) -> str:
        """Source of a unit's value from its struct parts _p{first}..."""
        if len(parts) == 1:
            return f"_p{first}"
        shift = sum(parts) * 8
        terms = []
        for k, size in enumerate(parts):
            shift -= size * 8
            terms.append(f"(_p{first + k} << {shift})" if shift else f"_p{first + k}")
        return f"({' | '.join(terms)})"

    @staticmethod
    def emit_field_from(w, slot, spec, var, shift, first):
        mask = (1 << spec.width) - 1
        value = f"{var} >> {shift}" if shift != "0" else var
        if not (first and spec.width and shift.isdigit()):
            value = f"({value}) & {mask}" if shift != "0" else f"{var} & {mask}"
        if spec.signed:
            value = f"_tcm({value}, {spec.width})"
        w(f"{slot} = {value}")

    def checksum(self, ck, w, verify: bool):
        """Verify (in the parser) or update (in the deparser) one JSON checksum
        (src/bm_sim/checksums.cpp)."""
        ctx = _Ctx(f"checksum '{ck.name}'")
        target = self.field(list(ck.target), ctx)
        inst = self.p.headers[ck.target[0]]
        conds = []
        if verify and not inst.metadata:
            # Checksum::verify: an invalid target header passes
            conds.append(f"h[{self.L.base[inst.name]}]")
        if ck.if_cond is not None:
            conds.append(self.boolean(ck.if_cond, ctx).code)
        if ck.type == "ipv4":
            # IPv4Checksum: cksum16 over the valid header with its bytes 10..11 zeroed
            if inst.metadata or inst.type.varbit_index is not None:
                self.err(ctx, "an ipv4 checksum needs a fixed-size packet header")
            conds.append(f"h[{self.L.base[inst.name]}]")
            csum = self.bind(make_hash("csum16"), "cksum16")
            w(f"if {' and '.join(conds)}:")
            w.indent()
            w(f"_b = {self.header_bytes(self.L.base[inst.name], inst.type, w)}")
            value = f"{csum}(_b[:10] + bytes(2) + _b[12:])"
        else:
            fn = self.calculation(ck.calculation, ctx)
            value = f"{fn}(h)"
            if conds:
                w(f"if {' and '.join(conds)}:")
                w.indent()
        if verify:
            # verify_ compares the whole calculation output with the field
            error = self.L.std["standard_metadata.checksum_error"]
            w(f"if {value} != {target.code}: h[{error}] = 1")
        else:
            w(self.assign(target, Val(value, "data"), ctx))
        if conds:
            w.dedent()

    # ---- deparser --------------------------------------------------------------------------

    def deparser(self, dep) -> None:
        w = self.w
        w("def deparse(h):")
        w.indent()
        if self.tracer is not None:
            w(f"_tr.deparser(h, {dep.name!r})")
        for ck in self.p.checksums:
            if ck.update:
                self.checksum(ck, w, verify=False)
        ctx = _Ctx(f"deparser '{dep.name}'")
        for i, prim in enumerate(dep.primitives):
            self.primitive(prim, _Ctx(f"{ctx.where} primitive #{i}"), w, in_action=False)
        w("r = b''")
        for hname in dep.order:
            inst = self.p.headers[hname]
            base = self.L.base[hname]
            htype = inst.type
            if htype.fixed_bits % 8:
                self.err(ctx, f"header {hname} is not a whole number of bytes")
            if not htype.fields and self.tracer is None:
                continue  # `header h {}` puts no bytes on the wire: nothing to emit
            if not inst.metadata:
                w(f"if h[{base}]:")
                w.indent()
            if htype.fields:
                w(f"r += {self.header_bytes(base, htype, w)}")
            if self.tracer is not None:
                w(f"_tr.emit(h, {hname!r})")
            if not inst.metadata:
                w.dedent()
        if self.tracer is not None:
            w(f"_tr.deparser_done(h, {dep.name!r})")
        w(f"return r + h[{self.reg('PAYLOAD')}]")
        w.dedent()

    def header_bytes(self, base: int, htype: HeaderType, w) -> str:
        """Source of the wire bytes of the header at `base` (statements for varbit ones)."""
        vbi = htype.varbit_index
        if vbi is None:
            units, st = self.struct_of(htype)
            args = []
            for parts, placed in units:
                terms = []
                for i, shift, width in placed:
                    if not width:
                        continue
                    v = f"h[{base + 1 + i}]"
                    if htype.fields[i].signed:
                        v = f"({v} & {(1 << width) - 1})"
                    terms.append(f"({v} << {shift})" if shift else v)
                value = " | ".join(terms)
                rest = sum(parts) * 8
                for size in parts:
                    rest -= size * 8
                    part = f"({value}) >> {rest}" if rest else (
                        value if len(parts) == 1 else f"({value})")
                    if len(parts) > 1 and size * 8 + rest < sum(parts) * 8:
                        part = f"({part}) & {(1 << size * 8) - 1}"
                    args.append(part)
            return f"{st}.pack({', '.join(args)})"
        w(f"_nb = h[{base + 1 + len(htype.fields)}]")
        w("_a = 0")
        for i, f in enumerate(htype.fields):
            v = f"h[{base + 1 + i}]"
            width = "_nb" if i == vbi else str(f.width)
            if f.signed:
                v = f"({v} & {(1 << f.width) - 1})"
            w(f"_a = (_a << {width}) | {v}")
        return f"_a.to_bytes(({htype.fixed_bits} + _nb) >> 3, 'big')"

    # ---- control pipelines -----------------------------------------------------------------

    def pipeline(self, pipe, fname: str) -> None:
        """Emit `def <fname>(h)` running control pipeline `pipe`."""
        self.pipe = pipe
        succ = {}
        for name in list(pipe.tables) + list(pipe.conditionals) + list(pipe.action_calls):
            succ[name] = self.successors(pipe, name)
        preds = Counter()
        seen = set()
        order = []
        stack = [pipe.init_table] if pipe.init_table else []
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            order.append(n)
            for s in succ[n]:
                preds[s] += 1
                stack.append(s)
        self.check_acyclic(pipe, succ)
        mark, depth = len(self.w.lines), self.w.depth
        try:
            # Structured: one function, each branch rejoining at its immediate post-dominator.
            self.structured = True
            self.ipdom = self.post_dominators(pipe, order)
            self.emit_budget = 8 * len(order) + 64
            self.blocks = {pipe.init_table: f"_blk_{pipe.id}_0"} if pipe.init_table else {}
            self.emit_blocks()
        except _Unstructured:
            # Too tangled to nest (or too deep): a function per join node, run by a trampoline.
            del self.w.lines[mark:]
            self.w.depth = depth
            self.structured = False
            self.blocks = {}
            if pipe.init_table:
                self.blocks[pipe.init_table] = f"_blk_{pipe.id}_0"
            for n in order:
                if preds[n] > 1 and n not in self.blocks:
                    self.blocks[n] = f"_blk_{pipe.id}_{len(self.blocks)}"
            self.emit_blocks()
        self.pipeline_function(pipe, fname)

    def emit_blocks(self):
        self.pending = list(self.blocks)
        done = set()
        while self.pending:
            n = self.pending.pop(0)
            if n in done:
                continue
            done.add(n)
            w = self.w
            w(f"def {self.blocks[n]}(h):")
            w.indent()
            self.node(n, w, start=True)
            w.dedent()

    def pipeline_function(self, pipe, fname):
        w = self.w
        exits = any(self.action_exits(a) for a in self.p.actions)
        if not pipe.init_table and self.tracer is None:
            w(f"{fname} = None")  # nothing to run: the pipeline skips the call
        elif len(self.blocks) == 1 and not exits and self.tracer is None:
            w(f"{fname} = {self.blocks[pipe.init_table]}")
        else:
            w(f"def {fname}(h):")
            w.indent()
            if self.tracer is not None:
                w(f"_tr.pipeline(h, {pipe.name!r})")
            if pipe.init_table:
                w(f"b = {self.blocks[pipe.init_table]}(h)")
                if len(self.blocks) > 1:
                    w("while b is not None:")
                    w.indent()
                    w("b = b(h)")
                    w.dedent()
            if exits and self.tracer is not None:
                w(f"if h[{self.reg('EXIT')}]: _tr.pipeline_exit(h)")
            if self.tracer is not None:
                w(f"_tr.pipeline_end(h, {pipe.name!r})")
            if exits:
                # the exit flag lasts one pipeline (simple_switch.cpp resets it after ingress)
                w(f"h[{self.reg('EXIT')}] = 0")
            w("return")
            w.dedent()

    def post_dominators(self, pipe, order) -> dict:
        """Immediate post-dominator of every reachable node (None: the end of the pipeline),
        over every next node a node may take."""
        pdom = {None: frozenset([None])}

        def compute(n):
            if n in pdom:
                return pdom[n]
            sets = [compute(x) for x in self.next_nodes(pipe, n)]
            pdom[n] = frozenset([n]).union(frozenset.intersection(*sets))
            return pdom[n]

        ipdom = {}
        for n in order:
            strict = compute(n) - {n}
            ipdom[n] = max(strict, key=lambda x: len(pdom[x]))
        return ipdom

    def next_nodes(self, pipe, name) -> list:
        """Every next node of a control node, None (end of pipeline) included."""
        if name in pipe.tables:
            t = pipe.tables[name]
            cands = list(t.next_tables.values()) + [t.base_default_next]
        elif name in pipe.conditionals:
            c = pipe.conditionals[name]
            cands = [c.true_next, c.false_next]
        else:
            cands = [pipe.action_calls[name].next_node]
        return list(dict.fromkeys(cands))

    def check_acyclic(self, pipe, succ):
        color = {}

        def visit(n):
            color[n] = 1
            for s in succ[n]:
                if color.get(s) == 1:
                    raise ProgramError(f"pipeline '{pipe.name}': control flow loops through "
                                       f"'{s}'")
                if s not in color:
                    visit(s)
            color[n] = 2

        for n in succ:
            if n not in color:
                visit(n)

    def successors(self, pipe, name) -> list:
        """Distinct next nodes of a control node (None excluded), in a stable order."""
        return [n for n in self.next_nodes(pipe, name) if n is not None]

    def join(self, name, stop):
        """Where the branches of `name` meet again: its immediate post-dominator when emitting
        structured code, else nowhere (each branch ends in a return)."""
        return self.ipdom[name] if self.structured else stop

    def branch(self, target, w, stop):
        """An indented branch running from `target` up to `stop`."""
        w.indent()
        before = len(w.lines)
        self.goto_node(target, w, stop)
        if len(w.lines) == before:
            if w.lines[-1].strip() == "else:":
                w.lines.pop()  # an empty else branch: leave it out
            else:
                w("pass")
        w.dedent()

    def goto_node(self, target, w, stop=None):
        if self.structured:
            if target == stop:
                return  # the code after the enclosing branch continues from here
            if target is None:
                w("return None")
                return
            self.emit_budget -= 1
            if w.depth > MAX_INDENT or self.emit_budget < 0:
                raise _Unstructured()
            self.node(target, w, stop=stop)
            return
        if target is None:
            w("return None")
        elif target in self.blocks or w.depth > MAX_INDENT:
            if target not in self.blocks:
                self.blocks[target] = f"_blk_{self.pipe.id}_{len(self.blocks)}"
                self.pending.append(target)
            w(f"return {self.blocks[target]}")
        else:
            self.node(target, w)

    def node(self, name, w, start=False, stop=None):
        pipe = self.pipe
        if not start and name in self.blocks:
            self.goto_node(name, w)
            return
        if name in pipe.conditionals:
            c = pipe.conditionals[name]
            ctx = _Ctx(f"conditional '{name}'")
            cond = self.boolean(c.expression, ctx)
            if self.tracer is not None:
                # conditionals.cpp: `file(line) Condition "fragment" (name) is true`
                shown = source_fragment(c.source_info) or name
                text = f'{source_prefix(c.source_info)}Condition "{shown}" ({name}) is '
                w(f"_c = bool({cond.code})")
                w(f"_tr.condition(h, {text!r}, _c)")
                cond = Val("_c", "bool")
            if c.true_next == c.false_next:
                self.goto_node(c.true_next, w, stop)
                return
            join = self.join(name, stop)
            w(f"if {cond.code}:")
            self.branch(c.true_next, w, join)
            w("else:")
            self.branch(c.false_next, w, join)
            if self.structured:
                self.goto_node(join, w, stop)
            return
        if name in pipe.action_calls:
            call = pipe.action_calls[name]
            w(f"_act_{call.action_id}(h, ())")
            if self.action_exits(call.action_id):
                w(f"if h[{self.reg('EXIT')}]: return None")
            self.goto_node(call.next_node, w, stop)
            return
        self.table(pipe.tables[name], w, stop)

    def action_exits(self, aid) -> bool:
        return any(isinstance(p, dict) and p.get("op") == "exit"
                   for p in self.p.actions[aid].primitives)

    def table(self, t, w, stop=None):
        ctx = _Ctx(f"table '{t.name}'")
        mt = self.runtime("tables", t.name, ctx)
        T = self.bind(mt, f"T_{t.name}")
        selector = ""
        if t.type == "indirect_ws":
            sel = self.p.action_profile(t.action_profile).get("selector") or {}
            codes = []
            for item in sel.get("input", []):
                if not isinstance(item, dict) or item.get("type") != "field":
                    self.err(ctx, f"action selector input must be fields, got {item!r}")
                codes.append(self.field(item.get("value"), ctx).code)
            selector = f", ({''.join(c + ', ' for c in codes)})"
        keys = []
        for k in t.key:
            if k.match_type == "valid":
                code = f"h[{self.L.base[k.target]}]"
            else:
                v = self.field(k.target, ctx)
                if v.info is not None and v.info.width is None:
                    self.err(ctx, "a variable-length field cannot be a table key")
                code = v.code
                if v.info is not None and v.info.signed:
                    code = f"({code} & {(1 << v.info.width) - 1})"
            if k.mask is not None:
                code = f"({code} & {k.mask})"
            keys.append(code)
        exits = any(self.action_exits(a) for a in t.action_ids)
        tr = self.tracer is not None
        hit_miss = "__HIT__" in t.next_tables or "__MISS__" in t.next_tables
        join = self.join(t.name, stop) if keys else stop
        nbytes = f"h[{self.reg('ING_LEN')}]"
        if keys:
            lk = self.bind(mt.lookup, f"lk_{t.name}")
            if tr:
                w(f"_k = ({', '.join(keys)},)")
                w(f"_tr.lookup(h, {t.name!r}, _k)")
                w(f"_e = {lk}(_k{selector})")
            else:  # an empty table (most slots, most of the time) builds no key
                installed = self.bind(mt.installed, f"installed_{t.name}")
                w(f"_e = {lk}(({', '.join(keys)},){selector}) if {installed} else None")
            w("if _e is not None:")
            w.indent()
            if t.with_counters or t.support_timeout:
                # BMv2 direct counters and ageing see hits only (match_tables.cpp)
                w(f"{self.bind(mt.record_hit, 'hit_' + t.name)}(_e, {nbytes})")
            if t.direct_meters is not None:
                self.direct_meter(t, mt, w, ctx)
            if tr:
                w(f"_tr.hit(h, {t.name!r}, _e)")
            w("_a = _e.action_id")
            if t.type == "indirect_ws":  # an empty group runs no action
                w("if _a is not None: _ACT[_a](h, _e.args)")
            else:
                w("_ACT[_a](h, _e.args)")
            if exits:
                w(f"if h[{self.reg('EXIT')}]: return None")
            if hit_miss:
                self.goto_node(t.next_tables.get("__HIT__", t.base_default_next), w, join)
            w.dedent()
            w("else:")
            w.indent()
        if tr and not keys:
            w(f"_tr.lookup(h, {t.name!r}, ())")
        default = t.default_entry or {}
        if not keys and default.get("action_const") and default.get("action_entry_const"):
            # A keyless table with a const default (p4c's way to call an action directly):
            # the control plane cannot change it, so call the action itself.
            aid = default["action_id"]
            args = tuple(parse_hexstr(v, ctx.where) for v in default.get("action_data", []))
            if tr:
                w(f"_tr.miss(h, {t.name!r}, {aid}, {args!r})")
                w(f"_act_{aid}(h, {args!r})")
            else:
                self.inline_action(aid, args, w)
            if self.action_exits(aid):
                w(f"if h[{self.reg('EXIT')}]: return None")
            # always a miss running this action: the next node is known now
            if hit_miss:
                target = t.next_tables.get("__MISS__", t.base_default_next)
            else:
                target = t.next_tables.get(self.p.actions[aid].name, t.base_default_next)
            self.goto_node(target, w, stop)
            return
        else:
            w(f"_e = {T}.default_entry")
            if tr:
                w(f"_tr.miss(h, {t.name!r}, _e.action_id, _e.args)")
            w("_a = _e.action_id")
            w("if _a is not None:")
            w.indent()
            w("_ACT[_a](h, _e.args)")
            if exits:
                w(f"if h[{self.reg('EXIT')}]: return None")
            w.dedent()
        if hit_miss:
            # MatchTableAbstract::get_next_node_default: __MISS__ when present
            self.goto_node(t.next_tables.get("__MISS__", t.base_default_next), w, join)
            if len(w.lines) and w.lines[-1].endswith("else:"):
                w("pass")
        if keys:
            w.dedent()
        if hit_miss:
            if keys and self.structured:
                self.goto_node(join, w, stop)
            return
        by_target = {}
        for aid in t.action_ids:
            aname = self.p.actions[aid].name
            target = t.next_tables.get(aname, t.base_default_next)
            by_target.setdefault(target, []).append(aid)
        targets = list(by_target)
        if len(targets) == 1 and (targets[0] == t.base_default_next or
                                  t.has_default_entry):
            self.goto_node(targets[0], w, stop)
            return
        join = self.join(t.name, stop)
        first = True
        for target, aids in by_target.items():
            if target == t.base_default_next:
                continue
            cond = f"_a == {aids[0]}" if len(aids) == 1 else f"_a in {tuple(aids)!r}"
            w(f"{'if' if first else 'elif'} {cond}:")
            first = False
            self.branch(target, w, join)
        if first:
            self.goto_node(t.base_default_next, w, stop)
            return
        w("else:")
        self.branch(t.base_default_next, w, join)
        if self.structured:
            self.goto_node(join, w, stop)

    def direct_meter(self, t, mt, w, ctx):
        meter = self.p.meters.get(t.direct_meters)
        if meter is None:
            self.err(ctx, f"unknown direct meter {t.direct_meters!r}")
        target = meter.json.get("result_target")
        dst = self.lvalue({"type": "field", "value": target}, ctx)
        fn = self.bind(mt.execute_direct_meter, f"dm_{t.name}")
        w(self.assign(dst, Val(f"{fn}(_e, h[{self.reg('ING_LEN')}])", "data"), ctx))

    # ---- everything ----------------------------------------------------------------------------

    def build(self) -> CompiledProgram:
        p = self.p
        for name, kind in (("parser", p.parsers), ("deparser", p.deparsers),
                           ("ingress", p.pipelines), ("egress", p.pipelines)):
            if name not in kind:
                what = "pipeline" if kind is p.pipelines else name
                raise ProgramError(f"simple_switch needs a {what} named '{name}'")
        if p.extern_instances:
            raise ProgramError("extern instances are not supported by simple_switch: "
                               + ", ".join(sorted(p.extern_instances)))
        acts = {}
        for action in p.actions.values():
            acts[action.id] = self.action(action)
        self.parser(p.parsers["parser"])
        self.pipeline(p.pipelines["ingress"], "ingress")
        self.pipeline(p.pipelines["egress"], "egress")
        self.deparser(p.deparsers["deparser"])
        w = self.w
        w("FIELD_LISTS = {}")
        for fl in p.field_lists.values():
            w(f"def _fl_{fl.id}(dst, src):")
            w.indent()
            fctx = _Ctx(f"field list '{fl.name}'")
            slots = [self.field(list(ref), fctx).slot for ref in fl.fields]
            for s in slots:
                if s is not None:
                    w(f"dst[{s}] = src[{s}]")
            w("return")
            w.dedent()
            w(f"FIELD_LISTS[{fl.id}] = _fl_{fl.id}")
        w("LEARN_LISTS = {}")
        for ll in p.learn_lists.values():
            codes = [self.field(list(ref), _Ctx(f"learn list '{ll.name}'")).code
                     for ref in ll.fields]
            w(f"LEARN_LISTS[{ll.id}] = lambda h: ({''.join(c + ', ' for c in codes)})")
        w("_ACT = {" + ", ".join(f"{aid}: {fn}" for aid, fn in acts.items()) + "}")
        source = "\n".join(self.calc_lines + w.lines) + "\n"
        try:
            code = compile(source, f"<p4nic program {id(self):x}>", "exec")
        except (SyntaxError, RecursionError) as e:  # a bug in this generator, reported clearly
            raise ProgramError(f"internal error compiling the program: {e}") from None
        exec(code, self.ns)
        return CompiledProgram(self.layout, self.ns, source,
                               {ll.id: ll.name for ll in p.learn_lists.values()})


_ARITY = {
    "assign": 2, "modify_field": 2, "assign_VL": 2, "assign_header": 2, "copy_header": 2,
    "assign_union": 2, "assign_header_stack": 2, "assign_union_stack": 2, "push": 2, "pop": 2,
    "add_header": 1, "add_header_fast": 1, "remove_header": 1, "mark_to_drop": 1, "drop": 0,
    "exit": 0, "no_op": 0, "clone_ingress_pkt_to_egress": 2, "clone_egress_pkt_to_egress": 2,
    "resubmit": 1, "recirculate": 1, "generate_digest": 2, "truncate": 1,
    "modify_field_with_hash_based_offset": 4, "modify_field_rng_uniform": 3,
    "add_to_field": 2, "subtract_from_field": 2, "add": 3, "subtract": 3, "bit_xor": 3,
    "bit_or": 3, "bit_and": 3, "shift_left": 3, "shift_right": 3, "count": 2,
    "execute_meter": 3, "register_read": 3, "register_write": 3, "log_msg": 2, "assert": 1,
    "assume": 1,
}


class _Unstructured(Exception):
    """A control graph the structured emitter gives up on (the trampoline form is used)."""


def _is_name(key, names) -> bool:
    """Is `key` a string naming one of `names` (JSON may hold any type where a name belongs)?"""
    return isinstance(key, str) and key in names


def _fold(op, a, b):
    if op == "<<":
        if b > 65536:
            raise ProgramError(f"constant shift by {b} is too large")
        return a << b
    return {"+": a + b, "-": a - b, "*": a * b, "&": a & b, "|": a | b, "^": a ^ b,
            ">>": a >> b if b >= 0 else 0}[op]


def _compress(padded: int, widths) -> int:
    """A byte-padded select mask/value turned into the compressed (unpadded) form."""
    out = 0
    shift = sum((x + 7) // 8 * 8 for x in widths)
    for width in widths:
        shift -= (width + 7) // 8 * 8
        out = (out << width) | ((padded >> shift) & ((1 << width) - 1))
    return out


# ---- runtime helpers called from generated code (rare paths only) -----------------------------


def _lookahead(data, pos, off, width):
    """`width` bits at bit `off` after `pos`; zeros past the end (BMv2 peeks its buffer)."""
    start = pos + (off >> 3)
    nbytes = ((off & 7) + width + 7) >> 3
    chunk = data[start:start + nbytes]
    if len(chunk) < nbytes:
        chunk = chunk + bytes(nbytes - len(chunk))
    return (int.from_bytes(chunk, "big") >> (nbytes * 8 - (off & 7) - width)) & ((1 << width) - 1)


def _set_valid(h, base, sib):
    h[base] = 1
    for s in sib.get(base, ()):
        h[s] = 0


def _copy_header(h, dst, src, n, sib):
    """core::assign_header: an invalid source makes the destination invalid."""
    if h[src]:
        h[dst + 1:dst + n] = h[src + 1:src + n]
        _set_valid(h, dst, sib)
    else:
        h[dst] = 0


def _header_eq(h, a, b, n):
    """Header::cmp: both valid and all fields equal."""
    return bool(h[a] and h[b] and h[a + 1:a + n] == h[b + 1:b + n])


def _swap_elems(h, ea, eb, sizes):
    for x, y, n in zip(ea, eb, sizes):
        h[x:x + n], h[y:y + n] = h[y:y + n], h[x:x + n]


def _stack_push(h, elems, sizes, nxt, num):
    """StackP4_16::push_front(num): shift toward the end, first `num` become invalid."""
    if num <= 0:
        return
    size = len(elems)
    h[nxt] = min(size, h[nxt] + num)
    for i in range(size - 1, num - 1, -1):
        _swap_elems(h, elems[i], elems[i - num], sizes)
    for i in range(min(size, num)):
        for b in elems[i]:
            h[b] = 0


def _stack_pop(h, elems, sizes, nxt, num):
    """StackP4_16::pop_front(num): shift toward the front, last `num` become invalid."""
    if num <= 0:
        return
    size = len(elems)
    h[nxt] -= min(h[nxt], num)
    i = 0
    if num < size:
        while i < size - num:
            _swap_elems(h, elems[i], elems[i + num], sizes)
            i += 1
    while i < size:
        for b in elems[i]:
            h[b] = 0
        i += 1


def _vset_match(vs, key, mask):
    """Does the compressed select key match a member of parse value set `vs`?"""
    for value, vmask in vs.entries():
        m = mask if vmask is None else mask & vmask
        if key & m == value & m:
            return True
    return False
