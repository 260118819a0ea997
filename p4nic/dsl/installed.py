"""What a NIC holds that a `.nic` file may own, read in one Read request and keyed for diffing.

The read is bounded by what the file could have written (docs/dsl.md, "What a file owns"):
match entries only of the tables the connection's role writes, less const tables, keyless
tables and tables annotated for another role (a guest's flow table is not read unless the
file declares entries there); default entries only of the managed tables; members and groups
only of the managed action profiles; multicast groups only for the default role (no other
role may write them). Large run-time tables therefore cost nothing.

Entities come back serialized (Connection.read_serialized): an installed entity byte for byte
equal to a declared one is unchanged without ever being parsed, so re-applying a file of
10,000 entries parses none of them. The rest are parsed and keyed by what P4Runtime
identifies an entity by: (table, priority, match) for a table entry, (profile, id) for
members and groups, the group id for multicast groups.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from p4nic.proto import p4runtime_pb2

from p4nic.dsl.model import OWNER_COOKIE
from p4nic.nic.p4runtime.translate import role_of


def entry_key(table_entry) -> tuple:
    """(table id, priority, match) of a match entry; the match as (field id, values...) in
    field-id order, so any server's field order gives the same key."""
    match = []
    for fm in table_entry.match:
        values = getattr(fm, fm.WhichOneof("field_match_type")).ListFields()
        match.append((fm.field_id,) + tuple(value for _, value in values))
    match.sort()
    return table_entry.table_id, table_entry.priority, tuple(match)


def is_owned(message) -> bool:
    """True for a TableEntry or MulticastGroupEntry whose metadata starts with the DSL's cookie."""
    return message.metadata.startswith(OWNER_COOKIE)


@dataclass
class ReadScope:
    """What to read from one NIC: the objects a file may own there."""
    tables: list = field(default_factory=list)       # table ids: match entries
    defaults: list = field(default_factory=list)     # table ids: default entries
    profiles: list = field(default_factory=list)     # action profile ids: members and groups
    multicast: bool = False

    def queries(self, names) -> list:
        """The wildcard read entities, all sent in one ReadRequest."""
        queries = []
        for table_id in self.tables:
            queries.append(p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry(
                table_id=table_id)))
        for table_id in self.defaults:
            queries.append(p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry(
                table_id=table_id, is_default_action=True)))
        for profile_id in self.profiles:
            queries.append(p4runtime_pb2.Entity(action_profile_member=p4runtime_pb2
                                                .ActionProfileMember(action_profile_id=profile_id)))
            if names.by_id(profile_id).with_selector:
                queries.append(p4runtime_pb2.Entity(action_profile_group=p4runtime_pb2
                                                    .ActionProfileGroup(action_profile_id=profile_id)))
        if self.multicast:
            queries.append(p4runtime_pb2.Entity(
                packet_replication_engine_entry=p4runtime_pb2.PacketReplicationEngineEntry(
                    multicast_group_entry=p4runtime_pb2.MulticastGroupEntry())))
        return queries


def read_scope(names, role: str, entry_tables=(), default_tables=(), profiles=(),
               multicast: bool = False) -> ReadScope:
    """The ReadScope for a connection in `role`, given the tables, profiles and multicast groups
    the file declares something in (always read) and its managed defaults and profiles."""
    entry_tables = set(entry_tables)
    scope = ReadScope()
    for table in names.p4info.tables:
        table_id = table.preamble.id
        writable = role_of(table.preamble) == role and not table.is_const_table
        if table_id in entry_tables or (writable and table.match_fields):
            scope.tables.append(table_id)
    fixed = {t.preamble.id for t in names.p4info.tables
             if t.implementation_id or t.const_default_action_id}
    scope.defaults = sorted(set(default_tables) - fixed)
    scope.profiles = sorted(set(profiles))
    scope.multicast = multicast or role == ""
    return scope


class Installed:
    """One NIC's entities within a ReadScope, serialized as the NIC returned them."""

    def __init__(self, serialized=()):
        self.serialized = list(serialized)

    @classmethod
    def from_entities(cls, entities) -> "Installed":
        return cls(entity.SerializeToString() for entity in entities)

    def keyed(self, skip=frozenset()) -> "Keyed":
        """The entities, less those whose bytes are in `skip`, parsed and keyed."""
        return Keyed.of(p4runtime_pb2.Entity.FromString(data) for data in self.serialized
                        if data not in skip)


@dataclass
class Keyed:
    """Installed entities by key (see module docstring)."""
    entries: dict = field(default_factory=dict)      # entry_key -> Entity
    defaults: dict = field(default_factory=dict)     # table id -> Entity
    members: dict = field(default_factory=dict)      # (profile id, member id) -> Entity
    groups: dict = field(default_factory=dict)       # (profile id, group id) -> Entity
    multicast: dict = field(default_factory=dict)    # group id -> Entity

    @classmethod
    def of(cls, entities) -> "Keyed":
        found = cls()
        for entity in entities:
            kind = entity.WhichOneof("entity")
            if kind == "table_entry":
                te = entity.table_entry
                if te.is_default_action:
                    found.defaults[te.table_id] = entity
                else:
                    found.entries[entry_key(te)] = entity
            elif kind == "action_profile_member":
                m = entity.action_profile_member
                found.members[m.action_profile_id, m.member_id] = entity
            elif kind == "action_profile_group":
                g = entity.action_profile_group
                found.groups[g.action_profile_id, g.group_id] = entity
            elif kind == "packet_replication_engine_entry":
                pre = entity.packet_replication_engine_entry
                if pre.HasField("multicast_group_entry"):
                    found.multicast[pre.multicast_group_entry.multicast_group_id] = entity
        return found


def read_installed(connection, scope: ReadScope, names) -> Installed:
    """Everything in `scope`, in one Read request."""
    queries = scope.queries(names)
    return Installed(connection.read_serialized(*queries) if queries else [])
