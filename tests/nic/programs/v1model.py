"""Small builder for hand-written BMv2 JSON programs using simple_switch's v1model layout.

`V1Program` collects header types, headers, parser states, actions, tables and so on, and
`json()` returns the BMv2 JSON dict (docs/JSON_format.md). The standard_metadata header and
field aliases are laid out the way p4c's v1model back end declares them, so the programs
exercise the same names real compiler output uses.
"""

from __future__ import annotations

STANDARD_METADATA_FIELDS = [
    ["ingress_port", 9], ["egress_spec", 9], ["egress_port", 9], ["instance_type", 32],
    ["packet_length", 32], ["enq_timestamp", 32], ["enq_qdepth", 19], ["deq_timedelta", 32],
    ["deq_qdepth", 19], ["ingress_global_timestamp", 48], ["egress_global_timestamp", 48],
    ["mcast_grp", 16], ["egress_rid", 16], ["checksum_error", 1], ["parser_error", 32],
    ["priority", 3], ["_padding", 3],
]

ALIASES = [
    ["queueing_metadata.enq_timestamp", ["standard_metadata", "enq_timestamp"]],
    ["queueing_metadata.enq_qdepth", ["standard_metadata", "enq_qdepth"]],
    ["queueing_metadata.deq_timedelta", ["standard_metadata", "deq_timedelta"]],
    ["queueing_metadata.deq_qdepth", ["standard_metadata", "deq_qdepth"]],
    ["intrinsic_metadata.ingress_global_timestamp",
     ["standard_metadata", "ingress_global_timestamp"]],
    ["intrinsic_metadata.egress_global_timestamp",
     ["standard_metadata", "egress_global_timestamp"]],
    ["intrinsic_metadata.mcast_grp", ["standard_metadata", "mcast_grp"]],
    ["intrinsic_metadata.egress_rid", ["standard_metadata", "egress_rid"]],
    ["intrinsic_metadata.priority", ["standard_metadata", "priority"]],
]

ERRORS = [["NoError", 0], ["PacketTooShort", 1], ["NoMatch", 2], ["StackOutOfBounds", 3],
          ["HeaderTooShort", 4], ["ParserTimeout", 5], ["ParserInvalidArgument", 6]]

ETHERNET = [["dstAddr", 48], ["srcAddr", 48], ["etherType", 16]]
IPV4 = [["version", 4], ["ihl", 4], ["diffserv", 8], ["totalLen", 16], ["identification", 16],
        ["flags", 3], ["fragOffset", 13], ["ttl", 8], ["protocol", 8], ["hdrChecksum", 16],
        ["srcAddr", 32], ["dstAddr", 32]]


# ---- type/value objects ----------------------------------------------------------------------


def fld(header, field):
    return {"type": "field", "value": [header, field]}


def hexv(value):
    return {"type": "hexstr", "value": hex(value) if value >= 0 else "-" + hex(-value)}


def boolv(value):
    return {"type": "bool", "value": value}


def rt(index):
    return {"type": "runtime_data", "value": index}


def hdr(name):
    return {"type": "header", "value": name}


def stack(name):
    return {"type": "header_stack", "value": name}


def ex(op, left, right, cond=None):
    """An `expression` type/value object."""
    value = {"op": op, "left": left, "right": right}
    if cond is not None:
        value["cond"] = cond
    return {"type": "expression", "value": value}


def masked(op, left, right, width):
    """`(left op right) & (2**width - 1)`, as p4c wraps arithmetic for bit<width>."""
    return ex("&", ex(op, left, right), hexv((1 << width) - 1))


def valid(header):
    return ex("d2b", None, fld(header, "$valid$"))


def prim(op, *params):
    return {"op": op, "parameters": list(params)}


# ---- the program -----------------------------------------------------------------------------


class V1Program:
    def __init__(self):
        self.header_types = [{"name": "standard_metadata", "id": 0,
                              "fields": STANDARD_METADATA_FIELDS}]
        self.headers = [{"name": "standard_metadata", "id": 0,
                         "header_type": "standard_metadata", "metadata": True}]
        self.stacks = []
        self.states = []
        self.actions = []
        self.tables = {"ingress": [], "egress": []}
        self.conditionals = {"ingress": [], "egress": []}
        self.init = {"ingress": None, "egress": None}
        self.deparse_order = []
        self.calculations = []
        self.checksums = []
        self.field_lists = []
        self.learn_lists = []
        self.counters = []
        self.meters = []
        self.registers = []
        self.parse_vsets = []
        self.unions = []
        self.union_types = []
        self.union_stacks = []
        self._ids = {}
        self.action("NoAction")

    def _next(self, kind):
        self._ids[kind] = self._ids.get(kind, -1) + 1
        return self._ids[kind]

    def header_type(self, name, fields, **extra):
        self.header_types.append({"name": name, "id": len(self.header_types), "fields": fields,
                                  **extra})

    def header(self, name, type_name, metadata=False, deparse=True):
        hid = len(self.headers)
        self.headers.append({"name": name, "id": hid, "header_type": type_name,
                             "metadata": metadata})
        if deparse and not metadata:
            self.deparse_order.append(name)
        return hid

    def header_stack(self, name, type_name, size):
        ids = [self.header(f"{name}[{i}]", type_name) for i in range(size)]
        self.stacks.append({"name": name, "id": len(self.stacks), "header_type": type_name,
                            "header_ids": ids})

    def state(self, name, ops=(), key=(), transitions=None):
        """`transitions`: [(value or None for default, next_state), ...] or full dicts."""
        trans = []
        for t in transitions or [(None, None)]:
            if isinstance(t, dict):
                trans.append(t)
            elif t[0] is None:
                trans.append({"type": "default", "value": None, "mask": None, "next_state": t[1]})
            else:
                trans.append({"type": "hexstr", "value": t[0], "mask": None, "next_state": t[1]})
        self.states.append({"name": name, "id": self._next("state"), "parser_ops": list(ops),
                            "transition_key": list(key), "transitions": trans})

    def action(self, name, params=(), primitives=()):
        aid = len(self.actions)
        self.actions.append({"name": name, "id": aid,
                             "runtime_data": [{"name": n, "bitwidth": w} for n, w in params],
                             "primitives": list(primitives)})
        return aid

    def table(self, pipe, name, key, actions, default=None, next_tables=None,
              base_default_next=None, match_type=None, **extra):
        """`key`: [(match_type, target)], `actions`: action ids, `default`: (id, [args])."""
        kinds = [k[0] for k in key]
        if match_type is None:
            match_type = ("range" if "range" in kinds else "ternary" if "ternary" in kinds
                          else "lpm" if "lpm" in kinds else "exact")
        names = {a["id"]: a["name"] for a in self.actions}
        t = {
            "name": name, "id": self._next("table"), "match_type": match_type,
            "type": "simple", "max_size": 1024, "with_counters": False,
            "support_timeout": False, "direct_meters": None,
            "key": [{"match_type": k[0], "target": k[1], "mask": k[2] if len(k) > 2 else None}
                    for k in key],
            "actions": [names[a] for a in actions], "action_ids": list(actions),
            "next_tables": next_tables if next_tables is not None else
            {names[a]: base_default_next for a in actions},
            "base_default_next": base_default_next,
        }
        if default is not None:
            t["default_entry"] = {"action_id": default[0], "action_const": False,
                                  "action_data": [hex(v) for v in default[1]],
                                  "action_entry_const": False}
        t.update(extra)
        self.tables[pipe].append(t)
        if self.init[pipe] is None:
            self.init[pipe] = name
        return name

    def call(self, pipe, name, action, next_node=None):
        """A keyless table whose const default is `action` (how p4c calls actions directly)."""
        return self.table(pipe, name, [], [action], default=(action, []),
                          base_default_next=next_node)

    def conditional(self, pipe, name, expression, true_next, false_next):
        self.conditionals[pipe].append({"name": name, "id": self._next("cond"),
                                        "expression": expression, "true_next": true_next,
                                        "false_next": false_next})
        return name

    def json(self):
        return {
            "__meta__": {"version": [2, 23], "compiler": "p4nic tests"},
            "header_types": self.header_types,
            "headers": self.headers,
            "header_stacks": self.stacks,
            "header_union_types": self.union_types,
            "header_unions": self.unions,
            "header_union_stacks": self.union_stacks,
            "field_lists": self.field_lists,
            "errors": ERRORS,
            "enums": [],
            "parsers": [{"name": "parser", "id": 0, "init_state": self.states[0]["name"],
                         "parse_states": self.states}],
            "parse_vsets": self.parse_vsets,
            "deparsers": [{"name": "deparser", "id": 0, "order": self.deparse_order,
                           "primitives": []}],
            "meter_arrays": self.meters,
            "counter_arrays": self.counters,
            "register_arrays": self.registers,
            "calculations": self.calculations,
            "learn_lists": self.learn_lists,
            "actions": self.actions,
            "pipelines": [
                {"name": pipe, "id": i, "init_table": self.init[pipe],
                 "tables": self.tables[pipe], "action_profiles": [],
                 "conditionals": self.conditionals[pipe]}
                for i, pipe in enumerate(("ingress", "egress"))
            ],
            "checksums": self.checksums,
            "force_arith": [],
            "extern_instances": [],
            "field_aliases": ALIASES,
        }


def extract(name):
    return {"op": "extract", "parameters": [{"type": "regular", "value": name}]}


def ethernet_ipv4(p: V1Program, ipv4_next=None):
    """Ethernet + IPv4 headers and the parser: start -> (0x0800) parse_ipv4 -> ipv4_next."""
    p.header_type("ethernet_t", ETHERNET)
    p.header_type("ipv4_t", IPV4)
    p.header("ethernet", "ethernet_t")
    p.header("ipv4", "ipv4_t")
    p.state("start", [extract("ethernet")], [fld("ethernet", "etherType")],
            [("0x0800", "parse_ipv4"), (None, None)])
    p.state("parse_ipv4", [extract("ipv4")], transitions=[(None, ipv4_next)])


def ipv4_checksum(p: V1Program, verify=False, update=True):
    """csum16 over the IPv4 header fields except hdrChecksum, as p4c emits for v1model."""
    p.calculations.append({
        "name": "calc", "id": len(p.calculations), "algo": "csum16",
        "input": [fld("ipv4", f) for f, _ in IPV4 if f != "hdrChecksum"],
    })
    p.checksums.append({"name": f"cksum_{len(p.checksums)}", "id": len(p.checksums),
                        "target": ["ipv4", "hdrChecksum"], "type": "generic",
                        "calculation": "calc", "verify": verify, "update": update,
                        "if_cond": valid("ipv4")})


def l3_router() -> V1Program:
    """An IPv4 LPM router (the shape of the P4 tutorials' basic.p4)."""
    p = V1Program()
    ethernet_ipv4(p)
    drop = p.action("drop", primitives=[prim("mark_to_drop", hdr("standard_metadata"))])
    fwd = p.action("ipv4_forward", [("dstAddr", 48), ("port", 9)], [
        prim("assign", fld("standard_metadata", "egress_spec"), rt(1)),
        prim("assign", fld("ethernet", "srcAddr"), fld("ethernet", "dstAddr")),
        prim("assign", fld("ethernet", "dstAddr"), rt(0)),
        prim("assign", fld("ipv4", "ttl"), masked("+", fld("ipv4", "ttl"), hexv(0xff), 8)),
    ])
    p.conditional("ingress", "node_2", valid("ipv4"), "ipv4_lpm", None)
    p.init["ingress"] = "node_2"
    p.table("ingress", "ipv4_lpm", [("lpm", ["ipv4", "dstAddr"])], [fwd, drop, 0],
            default=(drop, []))
    ipv4_checksum(p)
    return p


def sm(field):
    return fld("standard_metadata", field)


def shl(value, bits):
    return ex("<<", value, hexv(bits))


def traffic_manager() -> V1Program:
    """A program to observe simple_switch's traffic manager.

    Ingress: a keyless table `ing` whose default action the test picks (to_port, mcast,
    clone_i2e, resub, digest, drop_it, set_prio); resubmitted or recirculated packets take table
    `again` (egress_spec 7, meta.count += 1). Egress: normal packets take `eg_first` (default
    picked by the test: stamp, clone_e2e, recirc) when meta.count is 0, everything else `eg`
    (stamp): BMv2 makes every unicast packet NORMAL again, so count tells passes apart.
    `stamp` writes ethernet.srcAddr = instance_type:8 egress_rid:16 meta.tag:8 meta.count:8
    egress_port:8, so a test reads what the traffic manager did from the output packet.
    Field list 1 = (meta.tag, meta.count); learn list 1 = (ethernet.srcAddr, ingress_port).
    """
    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header_type("meta_t", [["tag", 8], ["count", 8]])
    p.header("ethernet", "ethernet_t")
    p.header("meta", "meta_t", metadata=True)
    p.state("start", [extract("ethernet")])
    p.field_lists.append({"id": 1, "name": "fl", "elements": [fld("meta", "tag"),
                                                              fld("meta", "count")]})
    p.learn_lists.append({"id": 1, "name": "mac_learn",
                          "elements": [fld("ethernet", "srcAddr"), sm("ingress_port")]})
    to_port = p.action("to_port", [("port", 9)], [prim("assign", sm("egress_spec"), rt(0))])
    mcast = p.action("mcast", [("grp", 16)], [prim("assign", sm("mcast_grp"), rt(0))])
    clone_i2e = p.action("clone_i2e", [("session", 32), ("port", 9)], [
        prim("assign", sm("egress_spec"), rt(1)),
        prim("clone_ingress_pkt_to_egress", rt(0), hexv(1)),
        prim("assign", fld("meta", "tag"), hexv(0x77)),
        prim("assign", fld("ethernet", "etherType"), hexv(0x1234)),
    ])
    resub = p.action("resub", [], [prim("assign", fld("meta", "tag"), hexv(0x55)),
                                   prim("resubmit", hexv(1))])
    digest = p.action("digest", [("port", 9)], [prim("assign", sm("egress_spec"), rt(0)),
                                                prim("generate_digest", hexv(0x512), hexv(1))])
    drop_it = p.action("drop_it", [], [prim("mark_to_drop", hdr("standard_metadata"))])
    set_prio = p.action("set_prio", [("prio", 3), ("port", 9)], [
        prim("assign", sm("priority"), rt(0)), prim("assign", sm("egress_spec"), rt(1))])
    again = p.action("again", [], [
        prim("assign", sm("egress_spec"), hexv(7)),
        prim("assign", fld("meta", "count"), masked("+", fld("meta", "count"), hexv(1), 8)),
    ])
    stamp_prims = [prim("assign", fld("ethernet", "srcAddr"), ex("|", ex("|", ex("|", ex("|",
        shl(sm("instance_type"), 40), shl(sm("egress_rid"), 24)),
        shl(fld("meta", "tag"), 16)), shl(fld("meta", "count"), 8)),
        ex("&", sm("egress_port"), hexv(0xff))))]
    stamp = p.action("stamp", [], stamp_prims)
    clone_e2e = p.action("clone_e2e", [("session", 32)], stamp_prims + [
        prim("assign", fld("meta", "tag"), hexv(0x99)),
        prim("clone_egress_pkt_to_egress", rt(0), hexv(1))])
    recirc = p.action("recirc", [], stamp_prims + [
        prim("assign", fld("meta", "tag"), hexv(0x66)), prim("recirculate", hexv(1))])
    again_types = ex("or", ex("==", sm("instance_type"), hexv(6)),
                     ex("==", sm("instance_type"), hexv(4)))
    p.conditional("ingress", "is_again", again_types, "again_t", "ing")
    p.init["ingress"] = "is_again"
    p.table("ingress", "ing", [], [to_port, mcast, clone_i2e, resub, digest, drop_it, set_prio],
            default=(to_port, [1]))
    p.table("ingress", "again_t", [], [again], default=(again, []))
    first = ex("and", ex("==", sm("instance_type"), hexv(0)),
               ex("==", fld("meta", "count"), hexv(0)))
    p.conditional("egress", "is_first", first, "eg_first", "eg")
    p.init["egress"] = "is_first"
    p.table("egress", "eg_first", [], [stamp, clone_e2e, recirc], default=(stamp, []))
    p.table("egress", "eg", [], [stamp], default=(stamp, []))
    return p


SCRATCH = [["a", 8], ["b", 8], ["c", 16], ["d", 32], ["sg", 8, True], ["n1", 4], ["n2", 4],
           ["big", 64]]


def scratch(primitives, params=(), args=(), setup=None) -> dict:
    """A program running one action on scratch headers, for testing expressions/primitives.

    The parser extracts `s` and `s2` (both `s_t`: SCRATCH fields, 18 bytes each) after nothing
    else; ingress applies a keyless table whose const default is the action (egress_spec = 1,
    then `primitives`, with `params` given `args`). `setup(p)` may add more to the program
    before it is built. Deparse order: s, s2.
    """
    p = V1Program()
    p.header_type("s_t", SCRATCH)
    p.header("s", "s_t")
    p.header("s2", "s_t")
    p.state("start", [extract("s"), extract("s2")])
    act = p.action("act", params, [prim("assign", sm("egress_spec"), hexv(1))] + list(primitives))
    p.table("ingress", "t", [], [act], default=(act, list(args)))
    if setup is not None:
        setup(p)
    return p.json()


def pack_scratch(**values) -> bytes:
    """18 bytes of an `s_t` header from field values (missing fields are 0)."""
    acc = 0
    for name, width, *signed in SCRATCH:
        acc = (acc << width) | (values.get(name, 0) & ((1 << width) - 1))
    return acc.to_bytes(18, "big")


def unpack_scratch(data: bytes) -> dict:
    acc = int.from_bytes(data[:18], "big")
    out = {}
    shift = 144
    for name, width, *signed in SCRATCH:
        shift -= width
        v = (acc >> shift) & ((1 << width) - 1)
        if signed and v >> (width - 1):
            v -= 1 << width
        out[name] = v
    return out
