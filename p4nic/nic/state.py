"""RuntimeState: the control-plane-visible state of one loaded BMv2 JSON program.

Built once from the JSON (BMv2 docs/JSON_format.md); holds every match table, action profile,
counter, meter and register array, parse value set and the replication engine, by JSON name and
by id. The pipeline reads and updates it on the packet path; the P4Runtime server and the STF
runner change it through the objects' own methods.
"""

from __future__ import annotations

from typing import NamedTuple

from .action_profiles import ActionProfile
from .externs import CounterArray, MeterArray, RegisterArray
from .hashing import make_hash
from .replication import Replication
from .tables import (
    EXACT,
    LPM,
    OPTIONAL,
    RANGE,
    TERNARY,
    VALID,
    ActionSpec,
    KeyField,
    MatchTable,
    TableError,
    ValueSet,
)


class FieldRef(NamedTuple):
    """A header field the JSON refers to, with its width."""

    header: str
    field: str
    bitwidth: int


class LearnList(NamedTuple):
    """A digest field list (JSON `learn_lists`)."""

    name: str
    id: int
    fields: tuple


class Calculation(NamedTuple):
    """A named calculation (JSON `calculations`): its algorithm, a hash callable for it, and the
    raw JSON `input` list (fields, hexstr constants, headers, payload) the pipeline lays out as
    BMv2's BufBuilder does."""

    name: str
    id: int
    algo: str
    hash: object
    input: tuple


def _hex(text, where: str) -> int:
    """A JSON hexstring ("0x0a", "0a", "-0x1") as an int."""
    try:
        return int(str(text), 16)
    except ValueError:
        raise TableError(f"{where}: bad hexstring {text!r}") from None


class RuntimeState:
    """Every runtime object of a program. See docs/internals.md, "Contract: RuntimeState"."""

    def __init__(self, bmv2_json: dict):
        if not isinstance(bmv2_json, dict):
            raise TableError("BMv2 JSON must be an object")
        self.actions: dict = {}  # id -> ActionSpec
        self.action_ids: dict = {}  # name -> id
        self.counters: dict = {}
        self.meters: dict = {}
        self.registers: dict = {}
        self.direct_counters: dict = {}  # direct counter name -> MatchTable
        self.direct_meters: dict = {}  # direct meter name -> MeterArray (is_direct)
        self.action_profiles: dict = {}
        self.tables: dict = {}
        self.tables_by_id: dict = {}
        self.value_sets: dict = {}
        self.learn_lists: dict = {}
        self.calculations: dict = {}
        self.replication = Replication()
        self._loading = "the JSON"  # what is being built, for error messages
        try:
            self._load(bmv2_json)
        except TableError:
            raise
        except KeyError as exc:
            raise TableError(f"malformed BMv2 JSON: {self._loading} lacks {exc}") from None
        except (TypeError, ValueError, AttributeError, IndexError) as exc:
            raise TableError(f"malformed BMv2 JSON in {self._loading}: {exc}") from None

    def _load(self, bmv2_json: dict):
        self._field_widths = self._collect_field_widths(bmv2_json)
        for action in bmv2_json.get("actions", ()):
            self._loading = f"action {action.get('name')!r}"
            params = action.get("runtime_data", ())
            spec = ActionSpec(
                action["id"],
                action["name"],
                tuple(p["name"] for p in params),
                tuple(int(p["bitwidth"]) for p in params),
            )
            self.actions[spec.id] = spec
            self.action_ids.setdefault(spec.name, spec.id)
        self._build_externs(bmv2_json)
        for pipeline in bmv2_json.get("pipelines", ()):
            for profile_json in pipeline.get("action_profiles", ()):
                self._loading = f"action profile {profile_json.get('name')!r}"
                profile = self._build_action_profile(profile_json)
                self.action_profiles[profile.name] = profile
        for pipeline in bmv2_json.get("pipelines", ()):
            for table_json in pipeline.get("tables", ()):
                self._loading = f"table {table_json.get('name')!r}"
                table = self._build_table(table_json)
                self.tables[table.name] = table
                self.tables_by_id[table.id] = table
        for counter_json in bmv2_json.get("counter_arrays", ()):
            if counter_json.get("is_direct"):
                binding = self.tables.get(counter_json.get("binding"))
                if binding is None:
                    raise TableError(
                        f"direct counter {counter_json.get('name')}: unknown table "
                        f"{counter_json.get('binding')!r}"
                    )
                self.direct_counters[counter_json["name"]] = binding
        for vset in bmv2_json.get("parse_vsets", ()):
            self._loading = f"parse value set {vset.get('name')!r}"
            self.value_sets[vset["name"]] = ValueSet(
                vset["name"], vset["id"], int(vset["compressed_bitwidth"]), vset.get("max_size")
            )
        for learn in bmv2_json.get("learn_lists", ()):
            self._loading = f"learn list {learn.get('name')!r}"
            where = f"learn list {learn['name']}"
            fields = tuple(self.field(e["value"], where) for e in learn.get("elements", ()))
            self.learn_lists[learn["name"]] = LearnList(learn["name"], learn["id"], fields)
        for calc in bmv2_json.get("calculations", ()):
            self._loading = f"calculation {calc.get('name')!r}"
            self.calculations[calc["name"]] = Calculation(
                calc["name"], calc["id"], calc["algo"], make_hash(calc["algo"]),
                tuple(calc.get("input", ())),
            )

    def reset(self):
        """Forget all control-plane state: the program as freshly loaded (const entries and
        JSON default entries stay)."""
        for table in self.tables.values():
            table.clear()
            if not table.default_entry_const:
                table.reset_default()
        for profile in self.action_profiles.values():
            for group_id in list(profile.groups):
                profile.delete_group(group_id)
            for member_id in list(profile.members):
                profile.delete_member(member_id)
        for array in (*self.counters.values(), *self.meters.values(), *self.registers.values()):
            array.reset()
        for vset in self.value_sets.values():
            vset.clear()
        self.replication.clear()

    # ---- field widths ------------------------------------------------------------------------

    @staticmethod
    def _collect_field_widths(bmv2_json: dict) -> dict:
        """header instance name -> {field name -> bitwidth}, including `$valid$` (1 bit)."""
        types = {}
        for header_type in bmv2_json.get("header_types", ()):
            fields = {}
            for field in header_type.get("fields", ()):
                name, width = field[0], field[1]
                fields[name] = width if isinstance(width, int) else None  # "*" = varbit
            fields["$valid$"] = 1
            types[header_type["name"]] = fields
        widths = {}
        for header in bmv2_json.get("headers", ()):
            widths[header["name"]] = types.get(header["header_type"], {"$valid$": 1})
        return widths

    def field(self, target, where: str) -> FieldRef:
        """Resolve a JSON field reference [header, field] to a FieldRef with its width."""
        if not isinstance(target, (list, tuple)) or len(target) != 2:
            raise TableError(f"{where}: bad field reference {target!r}")
        header, name = target
        width = self._field_widths.get(header, {}).get(name)
        if width is None:
            raise TableError(f"{where}: unknown or variable-width field {header}.{name}")
        return FieldRef(header, name, width)

    # ---- externs and action profiles ----------------------------------------------------------

    def _build_externs(self, bmv2_json: dict):
        for cj in bmv2_json.get("counter_arrays", ()):
            self._loading = f"counter array {cj.get('name')!r}"
            if not cj.get("is_direct"):
                self.counters[cj["name"]] = CounterArray(cj["name"], cj["id"], int(cj["size"]))
        for mj in bmv2_json.get("meter_arrays", ()):
            self._loading = f"meter array {mj.get('name')!r}"
            meter = MeterArray(
                mj["name"], mj["id"], int(mj.get("size", 0)), mj.get("type", "packets"),
                int(mj.get("rate_count", 2)), bool(mj.get("is_direct")), mj.get("binding"),
                mj.get("result_target"),
            )
            (self.direct_meters if meter.is_direct else self.meters)[meter.name] = meter
        for rj in bmv2_json.get("register_arrays", ()):
            self._loading = f"register array {rj.get('name')!r}"
            self.registers[rj["name"]] = RegisterArray(
                rj["name"], rj["id"], int(rj["size"]), int(rj["bitwidth"])
            )

    def _build_action_profile(self, pj: dict) -> ActionProfile:
        name = pj["name"]
        selector = pj.get("selector")
        if selector is None:
            return ActionProfile(name, pj["id"], int(pj.get("max_size", 0)), {})
        fields = []
        for element in selector.get("input", ()):
            if element.get("type") != "field":
                raise TableError(f"action profile {name}: selector input must be fields")
            fields.append(self.field(element["value"], f"action profile {name}"))
        return ActionProfile(
            name, pj["id"], int(pj.get("max_size", 0)), {}, selector["algo"], fields,
            make_hash(selector["algo"]),
        )

    # ---- tables --------------------------------------------------------------------------------

    def _build_table(self, tj: dict) -> MatchTable:
        name = tj["name"]
        where = f"table {name}"
        key = []
        for element in tj.get("key", ()):
            kind = element["match_type"]
            target = element["target"]
            if kind == VALID:
                if target not in self._field_widths:
                    raise TableError(f"{where}: unknown header {target!r} in valid match")
                width, default_name = 1, f"{target}.$valid$"
            else:
                ref = self.field(target, where)
                width, default_name = ref.bitwidth, f"{ref.header}.{ref.field}"
            mask = element.get("mask")
            key.append(
                KeyField(
                    element.get("name") or default_name,
                    kind,
                    width,
                    target,
                    None if mask is None else _hex(mask, where),
                )
            )
        if "action_ids" in tj:
            action_ids = list(tj["action_ids"])
        else:
            action_ids = [self._action_id(a, where) for a in tj.get("actions", ())]
        actions = {}
        for action_id in action_ids:
            if action_id not in self.actions:
                raise TableError(f"{where}: unknown action id {action_id}")
            actions[action_id] = self.actions[action_id]

        default = tj.get("default_entry")
        initial_default = None
        action_const = entry_const = False
        if default is not None:
            action_id = default["action_id"]
            data = default.get("action_data")
            initial_default = (
                action_id,
                tuple(_hex(v, where) for v in (data or ())),
            )
            action_const = bool(default.get("action_const", False))
            entry_const = bool(default.get("action_entry_const", False)) and data is not None
        profile = None
        if tj.get("type", "simple") != "simple":
            if "action_profile" not in tj and "act_prof_name" in tj:
                # Old JSON format: the table declares its own profile (P4Objects.cpp).
                legacy = {"name": tj["act_prof_name"], "id": tj["id"], "max_size": 0}
                if "selector" in tj:
                    legacy["selector"] = tj["selector"]
                self.action_profiles[legacy["name"]] = self._build_action_profile(legacy)
                tj = dict(tj, action_profile=legacy["name"])
            profile = self.action_profiles.get(tj.get("action_profile"))
            if profile is None:
                raise TableError(f"{where}: unknown action profile {tj.get('action_profile')!r}")
            if tj["type"] == "indirect_ws" and profile.selector is None:
                raise TableError(f"{where}: indirect_ws table on a profile without selector")
            profile.actions.update(actions)
        direct_meter = None
        if tj.get("direct_meters"):
            direct_meter = self.direct_meters.get(tj["direct_meters"])
            if direct_meter is None:
                raise TableError(f"{where}: unknown direct meter {tj['direct_meters']!r}")
        # BMv2 P4Objects::get_table_size: max_size, else the number of const entries.
        if "max_size" in tj:
            max_size = int(tj["max_size"])
        elif "entries" in tj:
            max_size = len(tj["entries"])
        else:
            raise TableError(f"{where} has neither max_size nor entries")
        table = MatchTable(
            name,
            tj["id"],
            tj.get("match_type", EXACT),
            key,
            actions,
            max_size=max_size,
            with_counters=bool(tj.get("with_counters", False)),
            support_timeout=bool(tj.get("support_timeout", False)),
            direct_meter=direct_meter,
            action_profile=profile,
            default_entry=initial_default,
            default_action_const=action_const,
            default_entry_const=entry_const,
        )
        if "entries" in tj:
            table.load_const_entries(self._const_entries(table, tj["entries"]))
        return table

    def _action_id(self, name: str, where: str) -> int:
        if name not in self.action_ids:
            raise TableError(f"{where}: unknown action {name!r}")
        return self.action_ids[name]

    @staticmethod
    def _const_entries(table: MatchTable, entries_json) -> list:
        """JSON `entries` as (match, action_id, args, priority) for MatchTable.load_const_entries.

        JSON priorities follow BMv2 (numerically smaller wins, JSON_format.md "match-action entry
        format"); they become P4Runtime priorities (larger wins) by reflection around the largest.
        """
        where = f"table {table.name} const entries"
        json_priorities = [e.get("priority", 0) for e in entries_json]
        top = max(json_priorities, default=0) + 1
        out = []
        for entry, json_priority in zip(entries_json, json_priorities):
            match = []
            for field, mk in zip(table.key, entry.get("match_key", ())):
                kind = mk.get("match_type")
                if kind == VALID:
                    match.append((1 if mk["key"] else 0,))
                elif kind == EXACT:
                    match.append((_hex(mk["key"], where),))
                elif kind == LPM:
                    # BMv2 ignores bits past the prefix; P4Runtime would reject them.
                    plen = int(mk["prefix_length"])
                    host_bits = (1 << max(field.bitwidth - plen, 0)) - 1
                    match.append((_hex(mk["key"], where) & ~host_bits, plen))
                elif kind == TERNARY:
                    # BMv2 ANDs the value with the mask (format_ternary_key, match_units.cpp).
                    mask = _hex(mk["mask"], where)
                    value = _hex(mk["key"], where) & mask
                    if field.match_type == OPTIONAL:
                        match.append(None if mask == 0 else (value,))
                    else:
                        match.append((value, mask))
                elif kind == RANGE:
                    match.append((_hex(mk["start"], where), _hex(mk["end"], where)))
                else:
                    raise TableError(f"{where}: unknown match_type {kind!r}")
            if len(match) != len(table.key):
                raise TableError(f"{where}: entry key has the wrong number of fields")
            action = entry["action_entry"]
            args = tuple(_hex(v, where) for v in action.get("action_data", ()))
            priority = top - json_priority if table.needs_priority else None
            out.append((match, action["action_id"], args, priority))
        return out
