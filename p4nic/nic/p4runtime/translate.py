"""P4Info ids <-> BMv2 JSON names, and P4Runtime bytestrings <-> ints.

`P4InfoIndex` is built once per pipeline config: it checks that the P4Info describes the BMv2
JSON (every table, action, extern the P4Info names exists in the JSON, with the same key shape),
and holds, per P4Info id, what the server needs to turn a P4Runtime entity into `RuntimeState`
calls. P4Info and BMv2 JSON objects are matched by fully qualified name, as p4c emits both
(P4Runtime spec "ID Allocation for P4Info Objects"; BMv2 docs/JSON_format.md).
"""
import re
from dataclasses import dataclass, field

import grpc
from p4.config.v1 import p4info_pb2

from p4nic.nic.p4runtime.errors import invalid, P4RuntimeError
from p4nic.nic.p4runtime.roles import RoleRules

MATCH_KIND_NAMES = {
    p4info_pb2.MatchField.EXACT: "exact",
    p4info_pb2.MatchField.LPM: "lpm",
    p4info_pb2.MatchField.TERNARY: "ternary",
    p4info_pb2.MatchField.RANGE: "range",
    p4info_pb2.MatchField.OPTIONAL: "optional",
}
# JSON key match types a P4Info match kind may stand for: p4c writes optional keys as ternary
# in the JSON, and a P4_14 `valid` key is exact in the P4Info (PI device_mgr.cpp set_valid_match).
JSON_KINDS = {"exact": ("exact", "valid"), "lpm": ("lpm",), "ternary": ("ternary",),
              "range": ("range",), "optional": ("optional", "ternary")}
# Match kinds that make a table need an entry priority (P4Runtime spec "TableEntry").
PRIORITY_KINDS = {"ternary", "range", "optional"}
ROLE_ANNOTATION = re.compile(r'^@p4runtime_role\(\s*"([^"]*)"\s*\)$')


def decode_bytes(value: bytes, bitwidth: int, what: str) -> int:
    """Bytestring -> int, accepting any length whose value fits (spec "Bytestrings")."""
    if not value:
        raise P4RuntimeError(grpc.StatusCode.OUT_OF_RANGE, f"{what}: empty bytestring")
    number = int.from_bytes(value, "big")
    if number >> bitwidth:
        raise P4RuntimeError(grpc.StatusCode.OUT_OF_RANGE,
                             f"{what}: value 0x{value.hex()} does not fit in {bitwidth} bits")
    return number


def encode_int(number: int) -> bytes:
    """int -> the canonical (shortest) bytestring, as the spec asks servers to reply."""
    return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")


def encode_signed(number: int, bitwidth: int) -> bytes:
    """A two's-complement `int<W>` value (given as its W-bit pattern) -> shortest bytestring."""
    if number >> (bitwidth - 1):
        number -= 1 << bitwidth
    length = 1
    while not -(1 << (8 * length - 1)) <= number < (1 << (8 * length - 1)):
        length += 1
    return number.to_bytes(length, "big", signed=True)


def role_of(preamble) -> str:
    """The `@p4runtime_role("name")` an object is annotated with; "" (default role) if none."""
    for annotation in preamble.annotations:
        found = ROLE_ANNOTATION.match(annotation.strip())
        if found:
            return found.group(1)
    return ""


@dataclass
class MatchFieldInfo:
    id: int
    name: str
    bitwidth: int
    kind: str            # exact, lpm, ternary, range, optional


@dataclass
class ActionInfo:
    id: int
    name: str
    params: list         # [(param_id, name, bitwidth)] in P4Info order = JSON runtime_data order
    json_ids: dict = field(default_factory=dict)  # table JSON name -> JSON action id


@dataclass
class TableInfo:
    id: int
    name: str
    role: str
    fields: list                 # [MatchFieldInfo] in P4Info order = JSON key order
    action_scopes: dict          # action id -> p4info ActionRef scope
    const_default_action_id: int
    is_const: bool
    size: int
    implementation_id: int       # action profile id, 0 for direct tables
    direct_counter_id: int = 0
    direct_meter_id: int = 0
    supports_idle_timeout: bool = False
    json_action_ids: dict = field(default_factory=dict)   # P4Info action id -> JSON action id
    p4info_action_ids: dict = field(default_factory=dict)  # JSON action id -> P4Info action id

    def __post_init__(self):
        self.p4info_action_ids = {json_id: p4_id for p4_id, json_id in self.json_action_ids.items()}

    @property
    def needs_priority(self) -> bool:
        return any(f.kind in PRIORITY_KINDS for f in self.fields)


@dataclass
class ExternInfo:
    """A counter, meter, register, value set, action profile or digest: id, JSON name, facts."""
    id: int
    name: str
    role: str
    size: int = 0
    bitwidth: int = 0           # registers: cell width; value sets: match width
    extra: dict = field(default_factory=dict)


@dataclass
class PacketMetadataInfo:
    fields: list                # [(id, name, bitwidth)] in header order

    @property
    def header_bytes(self) -> int:
        return (sum(width for _, _, width in self.fields) + 7) // 8


class P4InfoIndex:
    """Everything keyed by P4Info id that Write/Read/StreamChannel need, checked against the JSON."""

    def __init__(self, p4info: p4info_pb2.P4Info, bmv2_json: dict):
        self.p4info = p4info
        json_tables = {t["name"]: t for p in bmv2_json.get("pipelines", []) for t in p.get("tables", [])}
        json_profiles = {a["name"] for p in bmv2_json.get("pipelines", [])
                         for a in p.get("action_profiles", [])}
        # BMv2's older JSON names a table's profile inline (`act_prof_name`).
        json_profiles.update(t["act_prof_name"] for t in json_tables.values() if "act_prof_name" in t)
        json_actions = {a["id"]: a for a in bmv2_json.get("actions", [])}
        self.actions = {a.preamble.id: ActionInfo(
            a.preamble.id, a.preamble.name, [(p.id, p.name, p.bitwidth) for p in a.params])
            for a in p4info.actions}
        self.tables = {t.preamble.id: self._table(t, json_tables, json_actions) for t in p4info.tables}
        self.action_profiles = {}
        for prof in p4info.action_profiles:
            if prof.preamble.name not in json_profiles:
                raise invalid(f"P4Info action profile '{prof.preamble.name}' is not in the BMv2 JSON")
            roles = {self.tables[t].role for t in prof.table_ids if t in self.tables}
            self.action_profiles[prof.preamble.id] = ExternInfo(
                prof.preamble.id, prof.preamble.name, roles.pop() if len(roles) == 1 else "",
                size=prof.size, extra={"with_selector": prof.with_selector,
                                       "max_group_size": prof.max_group_size,
                                       "table_ids": list(prof.table_ids)})
        self.counters = self._externs(p4info.counters, bmv2_json, "counter_arrays", "counter")
        self.meters = self._externs(p4info.meters, bmv2_json, "meter_arrays", "meter")
        self.registers = self._externs(p4info.registers, bmv2_json, "register_arrays", "register")
        for reg in p4info.registers:
            # Only bit<W>/int<W> cells are served; other cell types stay in the P4Info but
            # RegisterEntry access to them is UNIMPLEMENTED (entities.py).
            kind = reg.type_spec.bitstring.WhichOneof("type_spec")
            info = self.registers[reg.preamble.id]
            if reg.type_spec.HasField("bitstring") and kind in ("bit", "int"):
                info.bitwidth = getattr(reg.type_spec.bitstring, kind).bitwidth
                info.extra["signed"] = kind == "int"
        self.value_sets = {}
        json_vsets = {v["name"]: v for v in bmv2_json.get("parse_vsets", [])}
        for vs in p4info.value_sets:
            if vs.preamble.name not in json_vsets:
                raise invalid(f"P4Info value set '{vs.preamble.name}' is not in the BMv2 JSON")
            self.value_sets[vs.preamble.id] = ExternInfo(
                vs.preamble.id, vs.preamble.name, role_of(vs.preamble), size=vs.size,
                extra={"fields": [MatchFieldInfo(m.id, m.name, m.bitwidth,
                                                 MATCH_KIND_NAMES.get(m.match_type, "exact"))
                                  for m in vs.match]})
        self.digests = {}
        json_learn = {l["name"]: l for l in bmv2_json.get("learn_lists", [])}
        for digest in p4info.digests:
            learn = json_learn.get(digest.preamble.name)
            if learn is None:
                raise invalid(f"P4Info digest '{digest.preamble.name}' is not in the BMv2 JSON learn_lists")
            self.digests[digest.preamble.id] = ExternInfo(
                digest.preamble.id, digest.preamble.name, role_of(digest.preamble),
                extra={"learn_list_id": learn["id"], "type_spec": digest.type_spec})
        self.digest_by_learn_list = {d.extra["learn_list_id"]: d for d in self.digests.values()}
        self._bind_direct(p4info, bmv2_json)
        # roles.py: the role model; `roles` names every role that exists
        self.role_rules = RoleRules(p4info, {obj.role for kind in (
            self.tables, self.counters, self.meters, self.registers, self.value_sets,
            self.digests) for obj in kind.values()})
        self.roles = self.role_rules.names
        self.packet_in = self._packet_metadata(p4info, "packet_in")
        self.packet_out = self._packet_metadata(p4info, "packet_out")

    # -- construction helpers ------------------------------------------------------------------

    def _table(self, table, json_tables, json_actions) -> TableInfo:
        name = table.preamble.name
        jt = json_tables.get(name)
        if jt is None:
            raise invalid(f"P4Info table '{name}' is not in the BMv2 JSON")
        fields = []
        for mf in table.match_fields:
            kind = MATCH_KIND_NAMES.get(mf.match_type)
            if kind is None:
                raise invalid(f"table '{name}': match field '{mf.name}' has an unsupported match kind")
            fields.append(MatchFieldInfo(mf.id, mf.name, mf.bitwidth, kind))
        json_key = jt.get("key", [])
        if len(json_key) != len(fields) or any(
                k.get("match_type") not in JSON_KINDS[f.kind] for k, f in zip(json_key, fields)):
            raise invalid(f"table '{name}': P4Info match fields do not match the BMv2 JSON key")
        json_ids_by_name = {}
        for action_id in jt.get("action_ids", []):
            action = json_actions.get(action_id)
            if action is not None:
                json_ids_by_name.setdefault(action["name"], action_id)
        json_action_ids = {}
        for ref in table.action_refs:
            action = self.actions.get(ref.id)
            if action is None:
                raise invalid(f"table '{name}' refers to unknown action id {ref.id}")
            json_id = json_ids_by_name.get(action.name)
            if json_id is None:
                raise invalid(f"table '{name}': action '{action.name}' is not in the BMv2 JSON table")
            json_widths = [p.get("bitwidth") for p in json_actions[json_id].get("runtime_data", [])]
            if json_widths != [width for _, _, width in action.params]:
                raise invalid(f"action '{action.name}': P4Info parameters do not match the "
                              "BMv2 JSON runtime_data")
            json_action_ids[ref.id] = json_id
            action.json_ids[name] = json_id
        return TableInfo(
            id=table.preamble.id, name=name, role=role_of(table.preamble), fields=fields,
            action_scopes={ref.id: ref.scope for ref in table.action_refs},
            const_default_action_id=table.const_default_action_id,
            is_const=table.is_const_table, size=table.size,
            implementation_id=table.implementation_id,
            supports_idle_timeout=(table.idle_timeout_behavior
                                   == p4info_pb2.Table.NOTIFY_CONTROL),
            json_action_ids=json_action_ids)

    @staticmethod
    def _externs(objects, bmv2_json, json_key, what) -> dict:
        json_objects = {o["name"]: o for o in bmv2_json.get(json_key, [])}
        index = {}
        for obj in objects:
            if obj.preamble.name not in json_objects:
                raise invalid(f"P4Info {what} '{obj.preamble.name}' is not in the BMv2 JSON {json_key}")
            index[obj.preamble.id] = ExternInfo(
                obj.preamble.id, obj.preamble.name, role_of(obj.preamble), size=obj.size,
                extra={"unit": obj.spec.unit} if hasattr(obj, "spec") else {})
        return index

    def _bind_direct(self, p4info, bmv2_json):
        """Attach direct counters/meters to their tables (P4Info direct_table_id)."""
        self.direct_counters = {}
        self.direct_meters = {}
        for direct, store, attr in ((p4info.direct_counters, self.direct_counters, "direct_counter_id"),
                                    (p4info.direct_meters, self.direct_meters, "direct_meter_id")):
            for obj in direct:
                table = self.tables.get(obj.direct_table_id)
                if table is None:
                    raise invalid(f"direct resource '{obj.preamble.name}' names unknown table "
                                  f"id {obj.direct_table_id}")
                setattr(table, attr, obj.preamble.id)
                store[obj.preamble.id] = ExternInfo(obj.preamble.id, obj.preamble.name, table.role,
                                                    extra={"table_id": table.id})

    @staticmethod
    def _packet_metadata(p4info, name):
        for meta in p4info.controller_packet_metadata:
            if meta.preamble.name == name:
                return PacketMetadataInfo([(m.id, m.name, m.bitwidth) for m in meta.metadata])
        return None

    # -- lookups that raise the spec's errors -----------------------------------------------------

    def table(self, table_id: int) -> TableInfo:
        info = self.tables.get(table_id)
        if info is None:
            raise unknown_id("table", table_id)
        return info

    def action(self, action_id: int) -> ActionInfo:
        info = self.actions.get(action_id)
        if info is None:
            raise unknown_id("action", action_id)
        return info

    def lookup(self, kind: str, object_id: int) -> ExternInfo:
        """`kind` is one of counters, meters, registers, value_sets, action_profiles, digests."""
        info = getattr(self, kind).get(object_id)
        if info is None:
            raise unknown_id(kind.rstrip("s").replace("_", " "), object_id)
        return info


def unknown_id(what: str, object_id: int) -> P4RuntimeError:
    # PI answers an id that is not in the P4Info with INVALID_ARGUMENT ("Invalid P4 id",
    # proto/frontend/src/common.h make_invalid_p4_id_status).
    return invalid(f"unknown {what} id {object_id}")
