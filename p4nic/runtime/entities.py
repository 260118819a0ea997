"""P4Runtime entities built from names, and stream messages read back into names.

`EntityBuilder(p4info)` turns `("filters", match={"dstAddr": ...}, action="filter_to_queue",
params={"queue": 2}, priority=10)` into the `p4.v1.TableEntry` a P4Runtime server expects, and
likewise for action profile members and groups, multicast groups, counters, registers, digests
and packet-out; it reads packet-in and digest lists back into plain dicts.

Match values per match kind (P4Runtime spec "TableEntry" / "FieldMatch"):
  exact     value
  lpm       (value, prefix_len) or "10.0.0.0/8"
  ternary   (value, mask), or value alone for an all-ones mask
  range     (low, high)
  optional  value
A field left out, or given as None, is a wildcard (refused for exact fields). Don't-care matches
the spec forbids sending (mask 0, prefix 0, full range) are left out, and ternary/lpm values are
masked, so the server never sees a non-canonical match.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from p4nic.proto import p4info_pb2
from p4nic.proto import p4data_pb2, p4runtime_pb2

from p4nic.runtime.p4info import P4InfoError, P4InfoNames
from p4nic.runtime.values import decode, encode, full_mask, to_int

EXACT, LPM, TERNARY, RANGE, OPTIONAL = (
    p4info_pb2.MatchField.EXACT, p4info_pb2.MatchField.LPM, p4info_pb2.MatchField.TERNARY,
    p4info_pb2.MatchField.RANGE, p4info_pb2.MatchField.OPTIONAL)
PRIORITY_KINDS = (TERNARY, RANGE, OPTIONAL)


@dataclass
class PacketIn:
    """A packet-in: the frame and its controller-header fields by name."""
    payload: bytes
    metadata: dict = field(default_factory=dict)


@dataclass
class Digest:
    """One DigestList: the digest's name, its list id (for the ack) and each sample's members by name."""
    name: str
    digest_id: int
    list_id: int
    samples: list


def as_entity(message) -> p4runtime_pb2.Entity:
    """Wrap a TableEntry, ActionProfileMember, ... in an Entity (an Entity passes through)."""
    if isinstance(message, p4runtime_pb2.Entity):
        return message
    for entity_field in p4runtime_pb2.Entity.DESCRIPTOR.oneofs_by_name["entity"].fields:
        if entity_field.message_type is message.DESCRIPTOR:
            entity = p4runtime_pb2.Entity()
            getattr(entity, entity_field.name).CopyFrom(message)
            return entity
    if isinstance(message, (p4runtime_pb2.MulticastGroupEntry, p4runtime_pb2.CloneSessionEntry)):
        entity = p4runtime_pb2.Entity()
        kind = ("multicast_group_entry" if isinstance(message, p4runtime_pb2.MulticastGroupEntry)
                else "clone_session_entry")
        getattr(entity.packet_replication_engine_entry, kind).CopyFrom(message)
        return entity
    raise P4InfoError(f"{type(message).__name__} is not a P4Runtime entity")


@dataclass
class FieldShape:
    """What building a match field needs of its P4Info entry, read once."""
    name: str
    id: int
    bitwidth: int
    kind: int
    what: str                       # "table field", for messages


@dataclass
class TableShape:
    info: object
    fields: list                    # [FieldShape] in P4Info order
    needs_priority: bool
    names: dict = field(default_factory=dict)     # name as given -> P4Info field name
    actions: dict = field(default_factory=dict)   # action name as given -> (ActionShape, scope)


@dataclass
class ActionShape:
    id: int
    name: str
    params: list                    # [(name, id, bitwidth, what)] in P4Info order


class EntityBuilder:
    """Builds P4Runtime messages for one P4Info, naming everything by name.

    What a table or an action needs of the P4Info is read once, on its first use, so building
    an entry costs its values' encoding and the message, not lookups (a DSL file's 10,000
    rules become entries in a fraction of a second)."""

    def __init__(self, p4info):
        self.names = P4InfoNames(p4info)
        self.p4info = self.names.p4info
        self._tables: dict = {}       # table name as given -> TableShape
        self._actions: dict = {}      # action name as given -> ActionShape

    def _table(self, name: str) -> TableShape:
        shape = self._tables.get(name)
        if shape is None:
            info = self.names.table(name)
            shape = self._tables[name] = TableShape(info, [FieldShape(
                f.name, f.id, f.bitwidth, f.match_type, f"{info.preamble.name} field {f.name}")
                for f in info.match_fields], any(f.match_type in PRIORITY_KINDS
                                                 for f in info.match_fields))
        return shape

    def _action(self, name: str) -> ActionShape:
        shape = self._actions.get(name)
        if shape is None:
            info = self.names.action(name)
            full = info.preamble.name
            shape = self._actions[name] = ActionShape(info.preamble.id, full, [
                (p.name, p.id, p.bitwidth, f"{full}({p.name})") for p in info.params])
        return shape

    def _table_action(self, table: TableShape, name: str) -> tuple:
        """(ActionShape, ActionRef scope) of an action the table may use."""
        found = table.actions.get(name)
        if found is None:
            action_info, ref = self.names.table_action(table.info, name)
            found = table.actions[name] = (self._action(action_info.preamble.name), ref.scope)
        return found

    # -- tables -------------------------------------------------------------------------------

    def table_entry(self, table: str, match: dict | None = None, action: str | None = None,
                    params: dict | None = None, priority: int | None = None, *,
                    default: bool = False, member_id: int | None = None,
                    group_id: int | None = None, idle_timeout_ns: int = 0,
                    counter: tuple | None = None) -> p4runtime_pb2.TableEntry:
        """A table entry, or with default=True the table's default entry (no match).

        Give `action` (+ `params`) for a direct action, or `member_id` / `group_id` for a table
        implemented by an action profile or selector. With no action at all the entry only
        names its match, which is what a DELETE or a read of one entry needs. `counter`
        (packets, bytes) starts the entry's direct counter there (TableEntry.counter_data), so
        a flow moved from one NIC to another keeps its statistics.
        """
        entry = p4runtime_pb2.TableEntry()
        self._fill_table_entry(entry, table, match, action, params, priority, default,
                               member_id, group_id, idle_timeout_ns, counter)
        return entry

    def table_entity(self, table: str, match: dict | None = None, action: str | None = None,
                     params: dict | None = None, priority: int | None = None, *,
                     default: bool = False, member_id: int | None = None,
                     group_id: int | None = None, idle_timeout_ns: int = 0,
                     counter: tuple | None = None) -> p4runtime_pb2.Entity:
        """`table_entry(...)` built in place inside an Entity (no copy: for large batches)."""
        entity = p4runtime_pb2.Entity()
        self._fill_table_entry(entity.table_entry, table, match, action, params, priority,
                               default, member_id, group_id, idle_timeout_ns, counter)
        return entity

    def _fill_table_entry(self, entry, table, match, action, params, priority, default,
                          member_id, group_id, idle_timeout_ns, counter) -> None:
        shape = self._table(table)
        info = shape.info
        chosen = (action is not None) + (member_id is not None) + (group_id is not None)
        if chosen > 1:
            raise P4InfoError("give one of action, member_id and group_id")
        entry.table_id = info.preamble.id
        if default:
            if match:
                raise P4InfoError(f"table '{info.preamble.name}': a default entry has no match")
            entry.is_default_action = True
        else:
            given = {}
            for name, value in (match or {}).items():
                known = shape.names.get(name)
                if known is None:
                    known = shape.names[name] = P4InfoNames.match_field(info, name).name
                given[known] = value
            for field_shape in shape.fields:
                self._add_match(entry, field_shape, given.get(field_shape.name))
            needs_priority = shape.needs_priority
            if needs_priority and priority is None and chosen:
                raise P4InfoError(f"table '{info.preamble.name}' has ternary/range/optional "
                                  "fields: give the entry a priority (larger wins)")
            if priority is not None:
                if not needs_priority:
                    raise P4InfoError(f"table '{info.preamble.name}' has only exact/lpm fields: "
                                      "its entries take no priority")
                if not 0 < priority < 2 ** 31:
                    raise P4InfoError(f"priority must be in 1..2^31-1, not {priority}")
                entry.priority = priority
        if action is not None:
            if info.implementation_id:
                raise P4InfoError(f"table '{info.preamble.name}' is implemented by an action "
                                  "profile: give member_id or group_id, not an action")
            action_shape, scope = self._table_action(shape, action)
            if default and scope == p4info_pb2.ActionRef.TABLE_ONLY:
                raise P4InfoError(f"action '{action}' cannot be the default of '{info.preamble.name}'")
            if not default and scope == p4info_pb2.ActionRef.DEFAULT_ONLY:
                raise P4InfoError(f"action '{action}' is only a default action of '{info.preamble.name}'")
            self._fill_action(entry.action.action, action_shape, params)
        elif params:
            raise P4InfoError("params given without an action")
        elif member_id is not None:
            entry.action.action_profile_member_id = member_id
        elif group_id is not None:
            entry.action.action_profile_group_id = group_id
        if idle_timeout_ns:
            entry.idle_timeout_ns = idle_timeout_ns
        if counter is not None:
            entry.counter_data.packet_count, entry.counter_data.byte_count = counter

    def action(self, name: str, params: dict | None = None) -> p4runtime_pb2.Action:
        """An Action with every parameter given by name (all are required)."""
        message = p4runtime_pb2.Action()
        self._fill_action(message, self._action(name), params)
        return message

    def _fill_action(self, message, shape: ActionShape, params: dict | None):
        message.action_id = shape.id
        given = params or {}
        add = message.params.add
        for name, param_id, width, what in shape.params:
            if name not in given:
                raise P4InfoError(f"action '{shape.name}' needs parameter '{name}'")
            add(param_id=param_id, value=encode(given[name], width, what))
        if len(given) > len(shape.params):
            unknown = next(name for name in given if name not in {p[0] for p in shape.params})
            self.names.param(self.names.action(shape.name), unknown)  # raises, naming the known

    def _add_match(self, entry, field_shape: FieldShape, value):
        what = field_shape.what
        width = field_shape.bitwidth
        kind = field_shape.kind
        if value is None:
            if kind == EXACT:
                raise P4InfoError(f"{what}: exact fields need a value")
            return
        if kind == EXACT:
            entry.match.add(field_id=field_shape.id).exact.value = encode(value, width, what)
        elif kind == OPTIONAL:
            entry.match.add(field_id=field_shape.id).optional.value = encode(value, width, what)
        elif kind == LPM:
            if isinstance(value, str) and "/" in value:
                network = ipaddress.ip_network(value, strict=False)
                value, plen = network.network_address, network.prefixlen
                plen += width - network.max_prefixlen if width > network.max_prefixlen else 0
                value = int(value)
            else:
                value, plen = self._pair(value, what, "(value, prefix_len)")
            if not 0 <= plen <= width:
                raise P4InfoError(f"{what}: prefix length {plen} outside 0..{width}")
            if plen == 0:
                return
            number = self._fitting(value, width, what) & (full_mask(width) ^ full_mask(width - plen))
            lpm = entry.match.add(field_id=field_shape.id).lpm
            lpm.value = encode(number, width, what)
            lpm.prefix_len = plen
        elif kind == TERNARY:
            if isinstance(value, (tuple, list)):
                value, mask = self._pair(value, what, "(value, mask)")
                mask = to_int(mask, what)
            else:
                mask = full_mask(width)
            if mask >> width:
                raise P4InfoError(f"{what}: mask {mask:#x} does not fit in {width} bits")
            if mask == 0:
                return
            value = encode(self._fitting(value, width, what) & mask, width, what)
            ternary = entry.match.add(field_id=field_shape.id).ternary
            ternary.value = value
            ternary.mask = encode(mask, width, what)
        elif kind == RANGE:
            low, high = self._pair(value, what, "(low, high)")
            low, high = to_int(low, what), to_int(high, what)
            if low > high:
                raise P4InfoError(f"{what}: range low {low} is above high {high}")
            if low == 0 and high == full_mask(width):
                return
            low, high = encode(low, width, what), encode(high, width, what)
            match_range = entry.match.add(field_id=field_shape.id).range
            match_range.low, match_range.high = low, high
        else:
            raise P4InfoError(f"{what}: match kind {kind} is not supported")

    @staticmethod
    def _fitting(value, width: int, what: str) -> int:
        """The value as an int, refused (not silently masked) when wider than the field."""
        number = to_int(value, what)
        if number >> width:
            raise P4InfoError(f"{what}: {value!r} does not fit in {width} bits")
        return number

    @staticmethod
    def _pair(value, what: str, form: str):
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise P4InfoError(f"{what}: expected {form}, got {value!r}")
        return value

    # -- action profiles, replication ---------------------------------------------------------

    def action_profile_member(self, profile: str, member_id: int, action: str,
                              params: dict | None = None) -> p4runtime_pb2.ActionProfileMember:
        """A member of an action profile (named by itself or by a table it implements)."""
        info = self.names.action_profile(profile)
        member = p4runtime_pb2.ActionProfileMember(action_profile_id=info.preamble.id,
                                                   member_id=member_id)
        member.action.CopyFrom(self.action(action, params))
        return member

    def action_profile_group(self, profile: str, group_id: int, members=(),
                             max_size: int = 0) -> p4runtime_pb2.ActionProfileGroup:
        """A group of members; each member is an id or an (id, weight) pair."""
        info = self.names.action_profile(profile)
        group = p4runtime_pb2.ActionProfileGroup(action_profile_id=info.preamble.id,
                                                 group_id=group_id, max_size=max_size)
        for member in members:
            member_id, weight = member if isinstance(member, (tuple, list)) else (member, 1)
            group.members.add(member_id=member_id, weight=weight)
        return group

    @staticmethod
    def multicast_group(group_id: int, replicas=()) -> p4runtime_pb2.MulticastGroupEntry:
        """A multicast group; each replica is a port or a (port, instance) pair."""
        if not 0 < group_id < 2 ** 32:
            raise P4InfoError(f"multicast group id must be positive, not {group_id}")
        entry = p4runtime_pb2.MulticastGroupEntry(multicast_group_id=group_id)
        for replica in replicas:
            port, instance = replica if isinstance(replica, (tuple, list)) else (replica, 0)
            entry.replicas.add(egress_port=port, instance=instance)
        return entry

    # -- counters, registers, digests ---------------------------------------------------------

    def counter_entry(self, counter: str, index: int | None = None) -> p4runtime_pb2.CounterEntry:
        """A counter cell to read (index None reads every cell)."""
        info = self.names.get("counters", counter)
        entry = p4runtime_pb2.CounterEntry(counter_id=info.preamble.id)
        if index is not None:
            entry.index.index = index
        return entry

    def direct_counter_entry(self, table_entry: p4runtime_pb2.TableEntry) -> p4runtime_pb2.DirectCounterEntry:
        """The direct counter cell of one table entry (build it with table_entry(), no action)."""
        entry = p4runtime_pb2.DirectCounterEntry()
        entry.table_entry.CopyFrom(table_entry)
        entry.table_entry.ClearField("action")
        return entry

    def register_entry(self, register: str, index: int | None = None,
                       value=None) -> p4runtime_pb2.RegisterEntry:
        """A register cell to read, or with `value` to write (bit<W> registers)."""
        info = self.names.get("registers", register)
        entry = p4runtime_pb2.RegisterEntry(register_id=info.preamble.id)
        if index is not None:
            entry.index.index = index
        if value is not None:
            width = info.type_spec.bitstring.bit.bitwidth
            entry.data.bitstring = encode(value, width, f"register {info.preamble.name}")
        return entry

    def digest_entry(self, digest: str, max_timeout_ns: int = 0, max_list_size: int = 1,
                     ack_timeout_ns: int = 1_000_000_000) -> p4runtime_pb2.DigestEntry:
        """Configuration that turns a digest's notifications on (insert it)."""
        info = self.names.get("digests", digest)
        entry = p4runtime_pb2.DigestEntry(digest_id=info.preamble.id)
        entry.config.max_timeout_ns = max_timeout_ns
        entry.config.max_list_size = max_list_size
        entry.config.ack_timeout_ns = ack_timeout_ns
        return entry

    def parse_digest(self, digest_list: p4runtime_pb2.DigestList) -> Digest:
        """A DigestList with each sample's struct members by name (as ints)."""
        info = self.names.by_id(digest_list.digest_id)
        members = self._struct_members(info.type_spec)
        samples = []
        for data in digest_list.data:
            if data.HasField("struct"):
                values = [decode(m.bitstring) for m in data.struct.members]
                samples.append(dict(zip(members, values)))
            else:
                samples.append({"value": decode(data.bitstring)})
        return Digest(info.preamble.name, digest_list.digest_id, digest_list.list_id, samples)

    def _struct_members(self, type_spec: p4data_pb2.P4DataTypeSpec) -> list:
        if not type_spec.HasField("struct"):
            return ["value"]
        struct = self.p4info.type_info.structs.get(type_spec.struct.name)
        if struct is None:
            raise P4InfoError(f"P4Info type_info has no struct '{type_spec.struct.name}'")
        return [member.name for member in struct.members]

    # -- packet I/O ---------------------------------------------------------------------------

    def packet_out(self, payload: bytes, **metadata) -> p4runtime_pb2.PacketOut:
        """A packet-out; controller-header fields by name, those not given are 0."""
        info = self.names.packet_metadata("packet_out")
        message = p4runtime_pb2.PacketOut(payload=bytes(payload))
        for field_info in info.metadata:
            value = metadata.pop(field_info.name, 0)
            message.metadata.add(metadata_id=field_info.id, value=encode(
                value, field_info.bitwidth, f"packet_out {field_info.name}"))
        if metadata:
            known = ", ".join(m.name for m in info.metadata)
            raise P4InfoError(f"packet_out has no field(s) {sorted(metadata)} (its fields: {known})")
        return message

    def parse_packet_in(self, message: p4runtime_pb2.PacketIn) -> PacketIn:
        info = self.names.packet_metadata("packet_in")
        names = {m.id: m.name for m in info.metadata}
        metadata = {names.get(m.metadata_id, str(m.metadata_id)): decode(m.value)
                    for m in message.metadata}
        return PacketIn(bytes(message.payload), metadata)
