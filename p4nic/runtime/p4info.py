"""P4Info by name: load a P4Info and find its objects the way a person names them.

Every P4Info object can be named by its fully qualified name ("VnicIngress.filters"), its alias
(the shortest unique suffix p4c writes, "filters"), or any unique dotted suffix of the full name
("services.flow_table"). A name that matches nothing, or more than one object, is a clear
`P4InfoError` listing what does exist, never a KeyError.
"""
from __future__ import annotations

from pathlib import Path

from google.protobuf import text_format
from p4.config.v1 import p4info_pb2

# P4Info repeated field -> the word used in messages.
OBJECT_KINDS = {
    "tables": "table",
    "actions": "action",
    "action_profiles": "action profile",
    "counters": "counter",
    "direct_counters": "direct counter",
    "meters": "meter",
    "direct_meters": "direct meter",
    "registers": "register",
    "digests": "digest",
    "controller_packet_metadata": "controller packet metadata",
    "value_sets": "value set",
}


class P4InfoError(ValueError):
    """A name or value that does not fit the P4Info."""


def load_p4info(source) -> p4info_pb2.P4Info:
    """A P4Info from a message, a path (text format, or binary if it does not parse as text) or bytes."""
    if isinstance(source, p4info_pb2.P4Info):
        return source
    try:
        data = Path(source).read_bytes() if isinstance(source, (str, Path)) else bytes(source)
    except OSError as exc:
        raise P4InfoError(f"cannot read the P4Info {source}: {exc.strerror}") from None
    p4info = p4info_pb2.P4Info()
    try:
        text_format.Parse(data.decode("utf-8"), p4info)
    except (UnicodeDecodeError, text_format.ParseError):
        p4info = p4info_pb2.P4Info()
        try:
            p4info.ParseFromString(data)
        except Exception as exc:  # protobuf raises its own DecodeError type
            raise P4InfoError(f"{source!s:.80}: neither a text nor a binary P4Info ({exc})") from None
    return p4info


class P4InfoNames:
    """Name and id lookups over one P4Info."""

    def __init__(self, p4info):
        self.p4info = load_p4info(p4info)
        self._by_kind = {kind: list(getattr(self.p4info, kind)) for kind in OBJECT_KINDS}
        self._by_id = {}
        self._found = {}          # (kind, name) -> object: builders look names up per entry
        for kind, objects in self._by_kind.items():
            for obj in objects:
                self._by_id[obj.preamble.id] = obj

    def get(self, kind: str, name: str):
        """The object of `kind` (a P4Info field name, e.g. "tables") called `name`."""
        if not isinstance(name, str):
            raise P4InfoError(f"{OBJECT_KINDS[kind]} name must be a string, not {name!r}")
        found = self._found.get((kind, name))
        if found is None:
            found = self._found[kind, name] = self._lookup(kind, name)
        return found

    def _lookup(self, kind: str, name: str):
        objects = self._by_kind[kind]
        exact = [o for o in objects if name in (o.preamble.name, o.preamble.alias)]
        found = exact or [o for o in objects if o.preamble.name.endswith("." + name)]
        if len(found) == 1:
            return found[0]
        what = OBJECT_KINDS[kind]
        if not found:
            known = ", ".join(sorted(o.preamble.name for o in objects)) or "none"
            raise P4InfoError(f"no {what} named '{name}' in the P4Info (there are: {known})")
        names = ", ".join(sorted(o.preamble.name for o in found))
        raise P4InfoError(f"{what} name '{name}' is ambiguous: it could be {names}")

    def by_id(self, object_id: int):
        try:
            return self._by_id[object_id]
        except KeyError:
            raise P4InfoError(f"no P4Info object has id {object_id}") from None

    def table(self, name: str):
        return self.get("tables", name)

    def action(self, name: str):
        return self.get("actions", name)

    def table_action(self, table, name: str):
        """An action the table may use, by name; refuses actions not in the table's action_refs."""
        action = self.action(name)
        refs = {ref.id: ref for ref in table.action_refs}
        if action.preamble.id not in refs:
            allowed = ", ".join(self.by_id(ref.id).preamble.name for ref in table.action_refs)
            raise P4InfoError(f"table '{table.preamble.name}' has no action '{name}' "
                              f"(its actions: {allowed})")
        return action, refs[action.preamble.id]

    def action_profile(self, name: str):
        """An action profile by its name, or by the name of a table it implements."""
        try:
            return self.get("action_profiles", name)
        except P4InfoError:
            try:
                table = self.table(name)
            except P4InfoError:
                table = None
            if table is None or not table.implementation_id:
                raise
            return self.by_id(table.implementation_id)

    def packet_metadata(self, name: str):
        """The controller_packet_metadata "packet_in" or "packet_out"."""
        return self.get("controller_packet_metadata", name)

    @staticmethod
    def match_field(table, name: str):
        for field in table.match_fields:
            if field.name == name:
                return field
        suffix = [f for f in table.match_fields if f.name.endswith("." + name)]
        if len(suffix) == 1:
            return suffix[0]
        fields = ", ".join(f.name for f in table.match_fields) or "none (keyless table)"
        raise P4InfoError(f"table '{table.preamble.name}' has no match field '{name}' "
                          f"(its fields: {fields})")

    @staticmethod
    def param(action, name: str):
        for param in action.params:
            if param.name == name:
                return param
        params = ", ".join(p.name for p in action.params) or "none"
        raise P4InfoError(f"action '{action.preamble.name}' has no parameter '{name}' "
                          f"(its parameters: {params})")
