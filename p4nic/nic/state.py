"""RuntimeState: the control-plane-visible state of one loaded BMv2 JSON program.

Built once from the JSON (BMv2 docs/JSON_format.md); holds every match table, action profile,
counter, meter and register array, parse value set and the replication engine, by JSON name and
by id. The pipeline reads and updates it on the packet path; the P4Runtime server and the STF
runner change it through the objects' own methods.
"""

from __future__ import annotations

from typing import NamedTuple

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
)


class FieldRef(NamedTuple):
    """A header field the JSON refers to, with its width."""

    header: str
    field: str
    bitwidth: int


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
        self._json = bmv2_json
        self._field_widths = self._collect_field_widths(bmv2_json)
        self.actions: dict = {}  # id -> ActionSpec
        self.action_ids: dict = {}  # name -> id
        for action in bmv2_json.get("actions", ()):
            params = action.get("runtime_data", ())
            spec = ActionSpec(
                action["id"],
                action["name"],
                tuple(p["name"] for p in params),
                tuple(int(p["bitwidth"]) for p in params),
            )
            self.actions[spec.id] = spec
            self.action_ids.setdefault(spec.name, spec.id)
        self.tables: dict = {}
        self.tables_by_id: dict = {}
        for pipeline in bmv2_json.get("pipelines", ()):
            for table_json in pipeline.get("tables", ()):
                table = self._build_table(table_json)
                self.tables[table.name] = table
                self.tables_by_id[table.id] = table

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
        table = MatchTable(
            name,
            tj["id"],
            tj.get("match_type", EXACT),
            key,
            actions,
            max_size=int(tj.get("max_size", 1024)),
            with_counters=bool(tj.get("with_counters", False)),
            support_timeout=bool(tj.get("support_timeout", False)),
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
