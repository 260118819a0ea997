"""Write and Read of P4Runtime entities against the RuntimeState of a loaded Device.

One `Entities` object serves one pipeline config. Each entity type has a writer (validates the
message the way the P4Runtime spec "P4 Entity Messages" asks, then calls RuntimeState) and a
reader (yields the entities a query selects, honouring the spec's wildcards). RuntimeState keeps
the data-plane state; this module only keeps what the data plane does not need but Read must
echo back (meter configs as written, multicast group metadata, default entries' metadata).

Table entries are the hot path, both ways. A Write's common table entry is decoded by its
table's codec (`codecs.py`) instead of the general, message-walking path; and every installed
entry keeps, in `Entry.echo`, the serialized Entity a Read returns for it (controller_metadata,
metadata, idle_timeout_ns and a one-shot action set as written included), so a Read of a whole
table joins bytes instead of building messages. What a query adds on request (counters, meter
config, time since last hit) or filters on goes the general way, from the parsed echo.
"""
import time

import grpc
from p4nic.proto import p4info_pb2
from p4nic.proto import p4runtime_pb2

from p4nic import protowire
from p4nic.nic.externs import check_meter_rates
from p4nic.nic.p4runtime.codecs import TableCodec
from p4nic.nic.p4runtime.errors import P4RuntimeError, invalid
from p4nic.nic.p4runtime.native_writes import NATIVE, NativeWrites
from p4nic.nic.p4runtime.translate import (P4InfoIndex, TableInfo, decode_bytes, encode_int,
                                           encode_signed)
from p4nic.nic.tables import TableError

Update = p4runtime_pb2.Update
# Member and group ids for one-shot entries are picked downwards from here.
ONE_SHOT_TOP_ID = 0xFFFFFFFF
# Largest selector group (sum of weights) when neither the group, the P4Info max_group_size
# nor the profile size bounds it.
DEFAULT_GROUP_LIMIT = 1 << 16
INSERT, MODIFY, DELETE = Update.INSERT, Update.MODIFY, Update.DELETE
# Entity field (oneof member) -> the tag that frames it inside a serialized Entity
ENTITY_TAGS = {f.name: protowire.tag(f.number) for f in p4runtime_pb2.Entity.DESCRIPTOR.fields}
TABLE_ENTRY_TAG = ENTITY_TAGS["table_entry"]


def state_error(exc: TableError) -> P4RuntimeError:
    """A RuntimeState refusal as the status it names (TableError.status, nic/tables.py)."""
    return P4RuntimeError(getattr(grpc.StatusCode, exc.status, grpc.StatusCode.INVALID_ARGUMENT),
                          str(exc))


def permission_denied(message: str) -> P4RuntimeError:
    return P4RuntimeError(grpc.StatusCode.PERMISSION_DENIED, message)


def unimplemented(message: str) -> P4RuntimeError:
    return P4RuntimeError(grpc.StatusCode.UNIMPLEMENTED, message)


def refuse_meter_counter_data(message, field: str) -> None:
    """Per-colour meter counters (P4Runtime 1.4 MeterCounterData): simple_switch's meters keep
    no counts and PI's device_mgr.cpp reads no such field, so writing one is UNIMPLEMENTED
    rather than silently lost."""
    if message.HasField(field):
        raise unimplemented(f"{field} (per-colour meter counters) is not supported: BMv2 "
                            "simple_switch meters keep no per-colour counts")


def table_default_is_fixed(index: P4InfoIndex, te) -> bool:
    """No Write can change this table's default entry: const, or an indirect table (PI)."""
    table = index.tables[te.table_id]
    return bool(table.const_default_action_id or table.implementation_id)


class Entities:
    """P4Runtime Write/Read for one (RuntimeState, P4Info) pair."""

    def __init__(self, state, index: P4InfoIndex, digests=None):
        self.index = index
        self.state = state
        self.digests = digests                # stream.DigestBuffers fed by DigestEntry writes
        self.one_shot_ids: dict = {}          # profile JSON name -> member/group ids we picked
        # (table JSON name, handle) -> (restart time, real last hit) of idle-timeout restarts
        self.idle_restarts: dict = {}
        self.read_role = ""
        # (table JSON name, handle) -> the MeterConfig an entry's direct meter was given, as
        # written (Read echoes it; the rest of an entry is in its `echo`)
        self.meter_configs: dict = {}
        self.default_extras: dict = {}        # table id -> TableEntry (modified default entries)
        self.codecs: dict = {}                # table id -> TableCodec or None (codec())
        self.last_codec = None                # the codec that served the last update
        self.native = None                    # NativeWrites, once its C module is loaded
        self.digest_configs: dict = {}        # digest id -> DigestEntry.Config
        self.trace = None                     # nic.trace.Tracer: control-plane log lines
        # multicast group id -> its opaque `metadata` as written (P4Runtime 1.4: read back as is)
        self.group_metadata: dict = {}

    # -- role checks --------------------------------------------------------------------------

    @staticmethod
    def check_role(role: str, owner_role: str, what: str):
        """Default role "" may touch everything; a named role only objects annotated with it."""
        if role and role != owner_role:
            raise permission_denied(f"role '{role}' may not write {what}")

    # -- Write ----------------------------------------------------------------------------------

    def write(self, update: p4runtime_pb2.Update, role: str):
        """Apply one update; raises P4RuntimeError with the spec's code."""
        kind = update.entity.WhichOneof("entity")
        try:
            if kind == "table_entry" and self.trace is None and self.write_common_entry(
                    update, role):
                return
            if update.type not in (INSERT, MODIFY, DELETE):
                raise invalid("update type must be INSERT, MODIFY or DELETE")
            writer = getattr(self, f"write_{kind}", None) if kind else None
            if writer is None:
                raise unimplemented(f"writing {kind or 'an empty entity'} is not supported")
            message = getattr(update.entity, kind)
            removed = self.entry_of(message) if self.trace and update.type == DELETE else None
            writer(update.type, message, role)
        except TableError as exc:
            raise state_error(exc) from None
        if self.trace is not None:
            self.log_write(update.type, kind, message, removed)

    def codec(self, table_id: int):
        """The table's TableCodec (built on first use), None if it has none or no such table."""
        try:
            return self.codecs[table_id]
        except KeyError:
            table = self.index.tables.get(table_id)
            codec = None if table is None else TableCodec.for_table(
                table, self.index, self.match_table(table))
            self.codecs[table_id] = codec
            return codec

    def write_common_entry(self, update: p4runtime_pb2.Update, role: str) -> bool:
        """Apply a table-entry update its table's codec decodes, and say so; False leaves the
        update untouched for write_table_entry, which also reports every error (an entry that
        exists, or not, included) but a full table's."""
        data = update.SerializeToString()
        codec = self.last_codec                 # a batch mostly writes one table
        decoded = None if codec is None else codec.decode(data)
        if decoded is None:
            codec = self.codec(update.entity.table_entry.table_id)
            if codec is None or codec is self.last_codec:
                return False
            decoded = codec.decode(data)
            if decoded is None:
                return False
            self.last_codec = codec
        return self.apply_decoded(codec, decoded, role)

    def write_decoded(self, table_id: int, decoded: tuple, role: str) -> bool:
        """`apply_decoded` for an update the native path decoded (native_writes.py); a refusal
        of RuntimeState's raises as `write` would."""
        try:
            return self.apply_decoded(self.codecs[table_id], decoded, role)
        except TableError as exc:
            raise state_error(exc) from None

    def apply_decoded(self, codec, decoded: tuple, role: str) -> bool:
        """Apply what `codec` decoded, and say so; False when the general path must report
        why not (another role's table, an entry that exists or not)."""
        if role and role != codec.table.role:
            return False
        kind, match, priority, timeout_ms, action, echo = decoded
        mt = codec.match_table
        existing = mt.find_checked(match, priority)
        if kind == INSERT:
            if existing is not None or action is None:
                return False
            entry = mt.add_checked(match, action[0], action[1], priority, timeout_ms)
        elif existing is None:
            return False
        elif kind == DELETE:
            mt.delete(existing.handle)
            self.idle_restarts.pop((mt.name, existing.handle), None)
            return True
        else:
            if action is None:
                return False
            entry = existing
            mt.modify(entry.handle, action[0], action[1], timeout_ms)
            entry.timeout_ms = timeout_ms
        entry.echo = echo
        return True

    def native_writes(self):
        """The native Write path (native_writes.py), None while its module is not loaded."""
        if self.native is None and NATIVE.module is not None:
            self.native = NativeWrites(self, NATIVE.module)
        return self.native

    # -- control-plane log (BMv2's lines for the same changes) ----------------------------------

    def entry_of(self, message):
        """The table entry a TableEntry message names (None for other entities, or none)."""
        if not isinstance(message, p4runtime_pb2.TableEntry) or message.is_default_action:
            return None
        try:
            table = self.index.table(message.table_id)
            match = self.decode_match(table, message.match)
            return self.match_table(table).find(match, message.priority or None)
        except (P4RuntimeError, TableError):     # the write itself reports it
            return None

    def log_write(self, kind, entity_kind: str, message, removed) -> None:
        """What match_tables.cpp, action_profile.cpp and simple_pre.cpp log for the change."""
        trace = self.trace
        if entity_kind == "table_entry":
            mt = self.match_table(self.index.table(message.table_id))
            if message.is_default_action:
                if message.HasField("action"):
                    trace.default_set(mt.name, *mt.default_action)
                else:
                    trace.default_reset(mt.name, *(mt.default_action or (None, ())))
            elif kind == DELETE:
                trace.entry_removed(mt.name, removed.handle if removed else "?")
            else:
                entry = self.entry_of(message)
                if entry is not None:
                    (trace.entry_added if kind == INSERT else trace.entry_modified)(mt.name, entry)
        elif entity_kind == "action_profile_member":
            name = self.index.lookup("action_profiles", message.action_profile_id).name
            verb = {INSERT: "Added", MODIFY: "Modified", DELETE: "Removed"}[kind]
            where = "to" if kind == INSERT else "from"
            trace.control(f"{verb} member {message.member_id} {where} action profile '{name}'")
        elif entity_kind == "action_profile_group":
            name = self.index.lookup("action_profiles", message.action_profile_id).name
            if kind == DELETE:
                trace.control(f"Removed group {message.group_id} from action profile '{name}'")
                return
            if kind == INSERT:
                trace.control(f"Created group {message.group_id} in action profile '{name}'")
            for member in message.members:
                trace.control(f"Added member {member.member_id} to group {message.group_id} "
                              f"in action profile '{name}'")
        elif entity_kind == "packet_replication_engine_entry":
            which = message.WhichOneof("type")
            if which == "multicast_group_entry":
                gid = message.multicast_group_entry.multicast_group_id
                verb = {INSERT: "created", MODIFY: "updated", DELETE: "deleted"}[kind]
                trace.control(f"mgrp node {verb} for mgid {gid}")
                for replica in message.multicast_group_entry.replicas:
                    if kind != DELETE:
                        trace.control(f"node created for rid {replica.instance} "
                                      f"(port {replica.egress_port}), associated with mgid {gid}")
            else:
                sid = message.clone_session_entry.session_id
                verb = {INSERT: "created", MODIFY: "modified", DELETE: "deleted"}[kind]
                ports = [r.egress_port for r in message.clone_session_entry.replicas]
                trace.control(f"Clone session {sid} {verb}" + (f": ports {ports}" if ports
                                                                else ""))

    # Indexed externs whose cells an undo keeps as plain values:
    # entity kind -> (state attribute, id field, read cell, write cell)
    CELLS = {
        "counter_entry": ("counters", "counter_id", lambda c, i: c.read(i),
                          lambda c, i, v: c.write(i, *v)),
        "meter_entry": ("meters", "meter_id", lambda m, i: m.get_rates(i),
                        lambda m, i, v: m.set_rates(i, v)),
        "register_entry": ("registers", "register_id", lambda r, i: r.read(i),
                           lambda r, i, v: r.write(i, v)),
    }

    def inverse(self, update: p4runtime_pb2.Update) -> list:
        """The steps (for `undo`) that undo `update` if run right after it, last first (batch
        rollback).

        They hold only what the update covers: for a counter, meter or register, the old
        values of the cells it writes (all of them for an index-less write) as plain values;
        otherwise the entity is read back first: nothing there means the update creates it
        (undo: DELETE); else what was read is written back.
        """
        kind = update.entity.WhichOneof("entity")
        if kind in self.CELLS:
            return [self.cells_undo(kind, getattr(update.entity, kind))]
        probe = p4runtime_pb2.Entity()
        probe.CopyFrom(update.entity)
        if probe.HasField("table_entry"):
            # Select by key only (no filters) and capture the entry's full current state,
            # counters and meter config included.
            for filter_field in ("action", "controller_metadata", "metadata"):
                probe.table_entry.ClearField(filter_field)
            probe.table_entry.counter_data.SetInParent()
            probe.table_entry.meter_config.SetInParent()
        before = list(self.read_messages(probe, exact=True))
        if not before:
            undo = [p4runtime_pb2.Update(type=DELETE, entity=update.entity)]
        else:
            undo_type = INSERT if update.type == DELETE else MODIFY
            undo = [p4runtime_pb2.Update(type=undo_type, entity=entity) for entity in before]
            for item in undo:
                if item.entity.HasField("table_entry"):
                    item.entity.table_entry.is_const = False
        return [item.SerializeToString() for item in undo]

    def undo(self, step) -> None:
        """Run one step `inverse` gave: a serialized Update (kept as bytes, which are no work
        for the collector; a big batch's undo log of messages was) written under the default
        role, or a callable."""
        if isinstance(step, bytes):
            self.write(p4runtime_pb2.Update.FromString(step), "")
        else:
            step()

    def cells_undo(self, kind: str, message):
        """Restores the cells of an indexed extern that `message` writes, as they are now."""
        plural, id_field, read, write = self.CELLS[kind]
        try:
            _, cells, indices = self.indexed(plural, getattr(message, id_field), message.index,
                                             message.HasField("index"), "", writing=False)
        except P4RuntimeError:
            return lambda: None          # the write itself fails, with this very error
        old = [read(cells, i) for i in indices]

        def restore():
            for i, value in zip(indices, old):
                write(cells, i, value)
        return restore

    # -- Read -----------------------------------------------------------------------------------

    def read(self, entity: p4runtime_pb2.Entity, exact: bool = False, role: str = ""):
        """Yield the entities `entity` selects, each a serialized Entity (wildcards per the
        spec's "Wildcard Reads").

        `exact` makes a table entry (or direct resource) message with an empty match name the
        entry whose fields are all don't-care instead of every entry; a non-default `role`
        filters out objects of other roles (spec "Read RPC"). Readers yield messages, or
        serialized Entities (table entries' echoes).
        """
        kind = entity.WhichOneof("entity")
        reader = getattr(self, f"read_{kind}", None) if kind else None
        if reader is None:
            raise unimplemented(f"reading {kind or 'an empty entity'} is not supported")
        found_all = reader(getattr(entity, kind), exact)
        tag = ENTITY_TAGS[kind]
        try:
            while True:
                self.read_role = role   # another read may have run since this one's last step
                found = next(found_all, None)
                if found is None:
                    return
                if found.__class__ is not bytes:
                    data = found.SerializeToString()
                    found = tag + protowire.varint(len(data)) + data
                yield found
        except TableError as exc:
            raise state_error(exc) from None

    def read_messages(self, entity: p4runtime_pb2.Entity, exact: bool = False):
        """read(), parsed: Entity messages (for rollbacks and config changes)."""
        for data in self.read(entity, exact):
            yield p4runtime_pb2.Entity.FromString(data)

    def visible(self, owner_role: str) -> bool:
        return not self.read_role or self.read_role == owner_role

    # -- whole-state copy, for COMMIT and RECONCILE_AND_COMMIT -----------------------------------

    # Entity kinds in the order they must be written back (members before the groups and table
    # entries that point to them), with the update type that restores each.
    SNAPSHOT_ORDER = (
        ("action_profile_member", INSERT), ("action_profile_group", INSERT),
        ("table_entry", INSERT), ("packet_replication_engine_entry", INSERT),
        ("value_set_entry", MODIFY), ("counter_entry", MODIFY), ("meter_entry", MODIFY),
        ("register_entry", MODIFY), ("digest_entry", INSERT),
    )

    def snapshot(self) -> list:
        """Every piece of writable state as Updates that recreate it (see SNAPSHOT_ORDER)."""
        updates = []
        for kind, update_type in self.SNAPSHOT_ORDER:
            query = p4runtime_pb2.Entity()
            getattr(query, kind).SetInParent()
            if kind == "table_entry":
                query.table_entry.counter_data.SetInParent()
                query.table_entry.meter_config.SetInParent()
            updates += self.snapshot_of(query, update_type)
            if kind == "table_entry":
                query.table_entry.is_default_action = True
                updates += self.snapshot_of(query, MODIFY, defaults=True)
        return updates

    def snapshot_of(self, query, update_type, defaults=False) -> list:
        updates = []
        for entity in self.read_messages(query):
            if entity.HasField("table_entry"):
                if entity.table_entry.is_const:
                    continue
                if defaults and table_default_is_fixed(self.index, entity.table_entry):
                    continue
            updates.append(p4runtime_pb2.Update(type=update_type, entity=entity))
        return updates

    def replay(self, updates):
        """Write a snapshot back; raises the first P4RuntimeError."""
        for update in updates:
            self.write(update, "")

    # == table entries ==========================================================================

    def match_table(self, table: TableInfo):
        return self.state.tables[table.name]

    def decode_match(self, table: TableInfo, field_matches) -> list:
        """FieldMatch list -> RuntimeState MatchValues in key order (spec "Match Format")."""
        by_id = {}
        for fm in field_matches:
            if fm.field_id in by_id:
                raise invalid(f"table '{table.name}': match field id {fm.field_id} given twice")
            by_id[fm.field_id] = fm
        values = []
        for field in table.fields:
            fm = by_id.pop(field.id, None)
            what = f"table '{table.name}' field '{field.name}'"
            if fm is None:
                if field.kind == "exact":
                    raise invalid(f"{what}: exact match fields may not be omitted")
                values.append(None)
                continue
            given = fm.WhichOneof("field_match_type")
            if given != field.kind:
                raise invalid(f"{what}: expected a {field.kind} match, got {given or 'none'}")
            width = field.bitwidth
            if given in ("exact", "optional"):
                values.append((decode_bytes(getattr(fm, given).value, width, what),))
            elif given == "lpm":
                value = decode_bytes(fm.lpm.value, width, what)
                plen = fm.lpm.prefix_len
                if not 0 < plen <= width:
                    raise invalid(f"{what}: prefix length {plen} not in 1..{width} "
                                  "(a don't-care lpm match must be omitted)")
                if value & ((1 << (width - plen)) - 1):
                    raise invalid(f"{what}: value has bits set beyond the prefix length")
                values.append((value, plen))
            elif given == "ternary":
                value = decode_bytes(fm.ternary.value, width, what)
                mask = decode_bytes(fm.ternary.mask, width, what)
                if mask == 0:
                    raise invalid(f"{what}: a don't-care ternary match must be omitted")
                if value & ~mask:
                    raise invalid(f"{what}: value has bits set outside the mask")
                values.append((value, mask))
            else:
                low = decode_bytes(fm.range.low, width, what)
                high = decode_bytes(fm.range.high, width, what)
                if low > high:
                    raise invalid(f"{what}: range low bound is above the high bound")
                if low == 0 and high == (1 << width) - 1:
                    raise invalid(f"{what}: a don't-care range match must be omitted")
                values.append((low, high))
        if by_id:
            raise invalid(f"table '{table.name}': unknown match field id {sorted(by_id)[0]}")
        return values

    @staticmethod
    def encode_match(table: TableInfo, values, into):
        """RuntimeState canonical match -> FieldMatch messages appended to the repeated field
        `into` (don't-care fields omitted)."""
        for field, value in zip(table.fields, values):
            if value is None:
                continue
            fm = into.add(field_id=field.id)
            if field.kind == "exact":
                fm.exact.value = encode_int(value[0])
            elif field.kind == "optional":
                fm.optional.value = encode_int(value[0])
            elif field.kind == "lpm":
                fm.lpm.value, fm.lpm.prefix_len = encode_int(value[0]), value[1]
            elif field.kind == "ternary":
                fm.ternary.value, fm.ternary.mask = encode_int(value[0]), encode_int(value[1])
            else:
                fm.range.low, fm.range.high = encode_int(value[0]), encode_int(value[1])

    def decode_action(self, table: TableInfo, action: p4runtime_pb2.Action, default: bool) -> tuple:
        """A direct action of `table` -> (JSON action id, args), checking ids, scope, params."""
        scope = table.action_scopes.get(action.action_id)
        if scope is None:
            raise invalid(f"table '{table.name}': action id {action.action_id} is not one of "
                          "its actions")
        if default and scope == p4info_pb2.ActionRef.TABLE_ONLY:
            raise permission_denied(f"table '{table.name}': action is TABLE_ONLY, "
                                    "it cannot be the default action")
        if not default and scope == p4info_pb2.ActionRef.DEFAULT_ONLY:
            raise permission_denied(f"table '{table.name}': action is DEFAULT_ONLY, "
                                    "it cannot be used in an entry")
        info = self.index.action(action.action_id)
        return table.json_action_ids[action.action_id], self.decode_params(info, action.params)

    @staticmethod
    def decode_params(info, params) -> tuple:
        given = {}
        for param in params:
            if param.param_id in given:
                raise invalid(f"action '{info.name}': parameter id {param.param_id} given twice")
            given[param.param_id] = param.value
        args = []
        for param_id, name, width in info.params:
            if param_id not in given:
                raise invalid(f"action '{info.name}': parameter '{name}' is missing")
            args.append(decode_bytes(given.pop(param_id), width, f"action '{info.name}' param '{name}'"))
        if given:
            raise invalid(f"action '{info.name}': unknown parameter id {sorted(given)[0]}")
        return tuple(args)

    def encode_action(self, table: TableInfo, json_action_id: int, args, into):
        """Fill the Action message `into` with a JSON action id and its arguments."""
        action_id = table.p4info_action_ids[json_action_id]
        into.action_id = action_id
        for (param_id, _, _), value in zip(self.index.actions[action_id].params, args):
            into.params.add(param_id=param_id, value=encode_int(value))

    def table_action_args(self, table: TableInfo, table_action) -> dict:
        """TableAction -> MatchTable keyword arguments (action or member/group reference)."""
        which = table_action.WhichOneof("type")
        if which is None:
            raise invalid(f"table '{table.name}': the entry has no action")
        if table.implementation_id == 0:
            if which != "action":
                raise invalid(f"table '{table.name}' is a direct table: give an action")
            action_id, args = self.decode_action(table, table_action.action, default=False)
            return {"action_id": action_id, "args": args}
        profile = self.index.action_profiles[table.implementation_id]
        if which == "action_profile_member_id":
            self.check_not_one_shot(profile, table_action.action_profile_member_id, "member")
            return {"member_id": table_action.action_profile_member_id}
        if which == "action_profile_group_id":
            if not profile.extra["with_selector"]:
                raise invalid(f"table '{table.name}': its action profile has no groups")
            self.check_not_one_shot(profile, table_action.action_profile_group_id, "group")
            return {"group_id": table_action.action_profile_group_id}
        if which == "action_profile_action_set":
            return {"group_id": self.create_one_shot(table, table_action.action_profile_action_set)}
        raise invalid(f"table '{table.name}' is an indirect table: give a member or group id")

    def write_table_entry(self, kind, te: p4runtime_pb2.TableEntry, role: str):
        table = self.index.table(te.table_id)
        self.check_role(role, table.role, f"table '{table.name}'")
        if te.is_const:
            raise invalid("is_const must be false in a Write")
        if te.HasField("time_since_last_hit"):
            raise invalid("time_since_last_hit must be unset in a Write")
        if te.is_default_action:
            return self.write_default_entry(kind, table, te)
        mt = self.match_table(table)
        if not table.fields and kind == INSERT:
            raise invalid(f"table '{table.name}' has no key: only its default entry can be written")
        if te.priority < 0:
            raise invalid("priority must be positive")
        if table.needs_priority and te.priority == 0:
            raise invalid(f"table '{table.name}' has ternary/range/optional fields: "
                          "entries need a priority > 0")
        if not table.needs_priority and te.priority != 0:
            raise invalid(f"table '{table.name}' has no ternary/range/optional fields: "
                          "priority must be 0")
        if te.idle_timeout_ns and not table.supports_idle_timeout:
            raise invalid(f"table '{table.name}' does not support idle timeout")
        if te.idle_timeout_ns < 0:
            raise invalid("idle_timeout_ns must not be negative")
        match = self.decode_match(table, te.match)
        priority = te.priority or None
        if mt.is_const:
            if kind != MODIFY or te.HasField("action"):
                raise permission_denied(f"table '{table.name}' is const")
        existing = mt.find(match, priority)
        if kind == INSERT and existing is not None:
            raise P4RuntimeError(grpc.StatusCode.ALREADY_EXISTS,
                                 f"table '{table.name}': an entry with this key exists")
        if kind != INSERT and existing is None:
            raise P4RuntimeError(grpc.StatusCode.NOT_FOUND,
                                 f"table '{table.name}': no entry with this key")
        if kind == DELETE:
            mt.delete(existing.handle)
            self.meter_configs.pop((table.name, existing.handle), None)
            self.idle_restarts.pop((table.name, existing.handle), None)
            self.release_one_shot(table, existing.group_id)
            return
        rates = self.check_direct_resources(table, te)
        if kind == MODIFY and mt.is_const:      # const entries: direct resources only
            self.store_entry_data(table, existing, te, rates)
            return
        timeout_ms = te.idle_timeout_ns / 1e6 if te.idle_timeout_ns else None
        action = self.table_action_args(table, te.action)
        try:
            if kind == INSERT:
                entry = mt.get(mt.add(match, priority=priority, timeout_ms=timeout_ms, **action))
                previous_group = None
            else:
                entry, previous_group = existing, existing.group_id
                mt.modify(entry.handle, timeout_ms=timeout_ms, **action)
                entry.timeout_ms = timeout_ms
        except TableError:
            self.release_one_shot(table, action.get("group_id"))
            raise
        self.release_one_shot(table, previous_group)
        self.store_entry_data(table, entry, te, rates)

    # -- one-shot action selector programming (spec "One Shot Action Selector Programming") --

    def create_one_shot(self, table: TableInfo, action_set) -> int:
        """Members and a group for an ActionProfileActionSet, under ids the server picks."""
        info = self.index.action_profiles[table.implementation_id]
        if not info.extra["with_selector"]:
            raise invalid(f"table '{table.name}': its action profile has no selector")
        actions = action_set.action_profile_actions
        if not actions:
            raise invalid("a one-shot action set needs at least one action")
        check_group_size(info, 0, [a.weight for a in actions])
        decoded = [self.decode_action(table, a.action, default=False) for a in actions]
        profile = self.state.action_profiles[info.name]
        hidden = self.one_shot_ids.setdefault(info.name, set())
        members = []
        try:
            for (action_id, args), action in zip(decoded, actions):
                member_id = self.free_id(profile.members, hidden)
                profile.add_member(member_id, action_id, args)
                hidden.add(member_id)
                members.append((member_id, action.weight))
            group_id = self.free_id(profile.groups, hidden)
            profile.add_group(group_id, 0, members)
        except TableError:
            for member_id, _ in members:
                profile.delete_member(member_id)
                hidden.discard(member_id)
            raise
        hidden.add(group_id)
        return group_id

    @staticmethod
    def free_id(used: dict, hidden: set) -> int:
        """An id nobody uses, from the top of the uint32 range down (clients count up)."""
        candidate = ONE_SHOT_TOP_ID
        while candidate in used or candidate in hidden:
            candidate -= 1
        return candidate

    def release_one_shot(self, table: TableInfo, group_id):
        """Delete the group (and its members) a one-shot entry used, if it was one."""
        if group_id is None or not table.implementation_id:
            return
        info = self.index.action_profiles[table.implementation_id]
        hidden = self.one_shot_ids.get(info.name, set())
        if group_id not in hidden:
            return
        profile = self.state.action_profiles[info.name]
        member_ids = profile.get_group(group_id).member_ids
        profile.delete_group(group_id)
        hidden.discard(group_id)
        for member_id in member_ids:
            profile.delete_member(member_id)
            hidden.discard(member_id)

    def check_direct_resources(self, table: TableInfo, te):
        """Validate an entry's direct counter / meter data before anything changes; returns the
        checked direct meter rates (None: unconfigured, all GREEN)."""
        if te.HasField("counter_data"):
            if not table.direct_counter_id:
                raise invalid(f"table '{table.name}' has no direct counter")
            check_counter_data(te.counter_data)
        if not table.direct_meter_id:
            if te.HasField("meter_config") or te.HasField("meter_counter_data"):
                raise invalid(f"table '{table.name}' has no direct meter")
            return None
        refuse_meter_counter_data(te, "meter_counter_data")
        meters = self.match_table(table).direct_meter
        rates = meter_rates(te.meter_config if te.HasField("meter_config") else None)
        return check_meter_rates(meters.name, meters.rate_count, rates)

    def store_entry_data(self, table: TableInfo, entry, te, meter_rates_checked):
        """Direct counter / meter data and what Read must echo (spec "Direct Resources");
        everything was validated by check_direct_resources, so nothing here fails."""
        if te.HasField("counter_data"):
            entry.bytes = te.counter_data.byte_count
            entry.packets = te.counter_data.packet_count
        if table.direct_meter_id:
            self.match_table(table).direct_meter.configure_cell(entry.meter, meter_rates_checked)
            if te.HasField("meter_config"):
                self.meter_configs[(table.name, entry.handle)] = te.meter_config
            else:
                self.meter_configs.pop((table.name, entry.handle), None)
        entry.echo = self.entry_echo(table, entry, te)

    def entry_echo(self, table: TableInfo, entry, written=None) -> bytes:
        """The serialized Entity a Read returns for `entry` (but what a query asks for
        explicitly): its key and action, in canonical form, and from the TableEntry `written`
        the fields the target only keeps (controller_metadata, metadata, idle_timeout_ns, a
        one-shot action set as written rather than desugared)."""
        out = p4runtime_pb2.TableEntry(table_id=table.id, priority=entry.priority or 0,
                                       is_const=bool(entry.is_const))
        self.encode_match(table, entry.match, out.match)
        if entry.member_id is not None:
            out.action.action_profile_member_id = entry.member_id
        elif entry.group_id is not None:
            if written is not None and written.action.HasField("action_profile_action_set"):
                out.action.CopyFrom(written.action)
            else:
                out.action.action_profile_group_id = entry.group_id
        else:
            self.encode_action(table, entry.action_id, entry.args, out.action.action)
        if written is not None:
            out.controller_metadata = written.controller_metadata
            out.metadata = written.metadata
            out.idle_timeout_ns = written.idle_timeout_ns
        data = out.SerializeToString()
        return TABLE_ENTRY_TAG + protowire.varint(len(data)) + data

    def echo(self, table: TableInfo, entry) -> bytes:
        """entry.echo, made on first use for entries no Write made (the JSON's const ones)."""
        if entry.echo is None:
            entry.echo = self.entry_echo(table, entry)
        return entry.echo

    def echoed_entry(self, table: TableInfo, entry) -> p4runtime_pb2.TableEntry:
        return p4runtime_pb2.Entity.FromString(self.echo(table, entry)).table_entry

    def write_default_entry(self, kind, table: TableInfo, te):
        """Spec "Default Entry": only MODIFY; no match, no priority, no idle timeout."""
        if te.match or te.priority:
            raise invalid("a default entry has no match and no priority")
        if te.idle_timeout_ns:
            raise invalid("a default entry has no idle timeout")
        if kind != MODIFY:
            raise invalid("the default entry can only be modified (INSERT/DELETE are invalid)")
        if table.implementation_id:  # PI device_mgr.cpp: neither set nor reset, before all else
            raise invalid(f"table '{table.name}' is indirect: its default action cannot be set "
                          "or reset (as simple_switch_grpc)")
        if table.const_default_action_id:
            raise permission_denied(f"table '{table.name}' has a const default action")
        mt = self.match_table(table)
        if not te.HasField("action"):
            mt.reset_default()
            self.default_extras.pop(table.id, None)
            return
        if te.action.WhichOneof("type") != "action":
            raise invalid(f"table '{table.name}': the default entry takes a direct action")
        action_id, args = self.decode_action(table, te.action.action, default=True)
        rates = self.check_direct_resources(table, te)
        mt.set_default(action_id, args)
        if te.HasField("counter_data"):
            mt.default_entry.bytes = te.counter_data.byte_count
            mt.default_entry.packets = te.counter_data.packet_count
        if table.direct_meter_id:
            mt.direct_meter.configure_cell(mt.default_entry.meter, rates)
        self.default_extras[table.id] = p4runtime_pb2.TableEntry(
            controller_metadata=te.controller_metadata, metadata=te.metadata)

    def read_table_entry(self, query: p4runtime_pb2.TableEntry, exact: bool):
        if query.table_id == 0:
            tables = list(self.index.tables.values())
        else:
            tables = [self.index.table(query.table_id)]
        for table in tables:
            if not self.visible(table.role):
                continue
            if query.is_default_action:
                yield self.read_default_entry(table, query)
                continue
            mt = self.match_table(table)
            if query.match or exact:
                match = self.decode_match(table, query.match)
                found = mt.find(match, query.priority or None)
                entries = [found] if found is not None else []
            else:
                entries = mt.listing()
            if plain_query(query):
                echo = self.echo
                for entry in entries:
                    yield echo(table, entry)
                continue
            for entry in entries:
                out = self.entry_message(table, entry, query)
                if out is not None:
                    yield out

    def entry_message(self, table: TableInfo, entry, query):
        """One installed entry as a TableEntry with what `query` asks for, or None when the
        query's filters exclude it."""
        if query.priority and (entry.priority or 0) != query.priority:
            return None
        out = self.echoed_entry(table, entry)
        if query.controller_metadata and out.controller_metadata != query.controller_metadata:
            return None
        if query.metadata and out.metadata != query.metadata:
            return None
        wanted = query.action.action.action_id
        if (wanted and entry.member_id is None and entry.group_id is None
                and table.p4info_action_ids[entry.action_id] != wanted):
            return None
        meter = self.meter_configs.get((table.name, entry.handle))
        if query.HasField("meter_config") and meter is not None:
            out.meter_config.CopyFrom(meter)
        if query.HasField("counter_data") and table.direct_counter_id:
            out.counter_data.byte_count = entry.bytes
            out.counter_data.packet_count = entry.packets
        if query.HasField("time_since_last_hit"):
            elapsed = time.monotonic() - self.true_last_hit(table, entry)
            out.time_since_last_hit.elapsed_ns = int(max(0.0, elapsed) * 1e9)
        return out

    def read_default_entry(self, table: TableInfo, query):
        mt = self.match_table(table)
        default = mt.default_entry
        out = p4runtime_pb2.TableEntry(table_id=table.id, is_default_action=True)
        if default.action_id is not None and default.action_id in table.p4info_action_ids:
            self.encode_action(table, default.action_id, default.args, out.action.action)
        extras = self.default_extras.get(table.id)
        if extras is not None:
            out.controller_metadata = extras.controller_metadata
            out.metadata = extras.metadata
        if query.HasField("counter_data") and table.direct_counter_id:
            out.counter_data.byte_count = default.bytes
            out.counter_data.packet_count = default.packets
        return out

    def true_last_hit(self, table: TableInfo, entry) -> float:
        restart = self.idle_restarts.get((table.name, entry.handle))
        if restart is not None and restart[0] == entry.last_hit:
            return restart[1]
        return entry.last_hit

    def idle_notifications(self) -> list:
        """(role, IdleTimeoutNotification) per table with entries idle past their TTL.

        Each reported entry's timer restarts, so it is reported again after another TTL
        without hits (spec "Table Idle Timeout Notification").
        """
        out = []
        now = time.monotonic()
        for table in self.index.tables.values():
            if not table.supports_idle_timeout:
                continue
            expired = self.match_table(table).expired(now)
            if not expired:
                continue
            notification = p4runtime_pb2.IdleTimeoutNotification(timestamp=time.time_ns())
            for entry in expired:
                # Restarting the timer moves last_hit; the real one is kept for Read.
                self.idle_restarts[(table.name, entry.handle)] = (now, self.true_last_hit(table, entry))
                entry.last_hit = now
                te = notification.table_entry.add()
                te.CopyFrom(self.echoed_entry(table, entry))
                te.ClearField("action")
                te.ClearField("is_const")
            out.append((table.role, notification))
        return out

    # == direct resources =======================================================================

    def configure_direct_meter(self, table: TableInfo, entry, config):
        """Set (or, with None, reset to all-GREEN) an entry's direct meter cell."""
        mt = self.match_table(table)
        mt.direct_meter.configure_cell(entry.meter, meter_rates(config))

    def find_entry(self, table: TableInfo, te):
        """The installed entry (or default entry) a key-only TableEntry names; NOT_FOUND if none."""
        mt = self.match_table(table)
        if te.is_default_action:
            return mt.default_entry
        entry = mt.find(self.decode_match(table, te.match), te.priority or None)
        if entry is None:
            raise P4RuntimeError(grpc.StatusCode.NOT_FOUND,
                                 f"table '{table.name}': no entry with this key")
        return entry

    def write_direct_counter_entry(self, kind, dce, role: str):
        table = self.index.table(dce.table_entry.table_id)
        self.check_role(role, table.role, f"table '{table.name}'")
        if kind != MODIFY:
            raise invalid("direct counter entries can only be modified")
        if not table.direct_counter_id:
            raise invalid(f"table '{table.name}' has no direct counter")
        entry = self.find_entry(table, dce.table_entry)
        if dce.HasField("data"):
            check_counter_data(dce.data)
            entry.bytes, entry.packets = dce.data.byte_count, dce.data.packet_count

    def read_direct_counter_entry(self, query, exact: bool):
        for table, entry, key in self.direct_cells(query.table_entry, "direct_counter_id", exact):
            yield p4runtime_pb2.DirectCounterEntry(
                table_entry=key, data=p4runtime_pb2.CounterData(byte_count=entry.bytes,
                                                                packet_count=entry.packets))

    def write_direct_meter_entry(self, kind, dme, role: str):
        table = self.index.table(dme.table_entry.table_id)
        self.check_role(role, table.role, f"table '{table.name}'")
        if kind != MODIFY:
            raise invalid("direct meter entries can only be modified")
        if not table.direct_meter_id:
            raise invalid(f"table '{table.name}' has no direct meter")
        refuse_meter_counter_data(dme, "counter_data")
        entry = self.find_entry(table, dme.table_entry)
        self.configure_direct_meter(table, entry, dme.config if dme.HasField("config") else None)
        if entry.handle is None:
            return                  # the default entry's meter: read back from its cell
        if dme.HasField("config"):
            self.meter_configs[(table.name, entry.handle)] = dme.config
        else:
            self.meter_configs.pop((table.name, entry.handle), None)

    def read_direct_meter_entry(self, query, exact: bool):
        for table, entry, key in self.direct_cells(query.table_entry, "direct_meter_id", exact):
            out = p4runtime_pb2.DirectMeterEntry(table_entry=key)
            if entry.meter is not None and entry.meter.rates is not None:
                out.config.CopyFrom(meter_config(entry.meter.rates))
            yield out

    def direct_cells(self, te, resource: str, exact: bool):
        """(table, entry, key-only TableEntry) for every entry a direct-resource read selects."""
        if te.table_id:
            tables = [self.index.table(te.table_id)]
            if not getattr(tables[0], resource):
                raise invalid(f"table '{tables[0].name}' has no such direct resource")
        else:
            tables = [t for t in self.index.tables.values() if getattr(t, resource)]
        for table in tables:
            if not self.visible(table.role):
                continue
            if te.is_default_action:
                entries = [self.match_table(table).default_entry]
            elif te.match or exact:
                entries = [self.find_entry(table, te)]
            else:
                entries = self.match_table(table).entries()
            for entry in entries:
                key = p4runtime_pb2.TableEntry(table_id=table.id)
                if entry.handle is None:
                    key.is_default_action = True
                else:
                    key.priority = entry.priority or 0
                    self.encode_match(table, entry.match, key.match)
                yield table, entry, key

    # == indexed externs: counters, meters, registers ===========================================

    def indexed(self, kind: str, object_id: int, index_message, has_index: bool, role: str,
                writing: bool):
        """(info, state object, indices) for an indexed extern access; spec index rules."""
        info = self.index.lookup(kind, object_id)
        if writing:
            self.check_role(role, info.role, f"{kind[:-1]} '{info.name}'")
        if kind == "registers" and not info.bitwidth:
            raise unimplemented(f"register '{info.name}' has cells that are not bit<W>/int<W>")
        state_object = getattr(self.state, kind)[info.name]
        if not has_index:
            return info, state_object, range(state_object.size)
        if index_message.index < 0:
            raise invalid("index must not be negative")
        if index_message.index >= state_object.size:
            raise P4RuntimeError(grpc.StatusCode.OUT_OF_RANGE,
                                 f"index {index_message.index} is beyond the size "
                                 f"{state_object.size} of '{info.name}'")
        return info, state_object, [index_message.index]

    def extern_ids(self, kind: str, object_id: int):
        """Ids a read of `kind` selects: all (id 0) or the one given."""
        if object_id == 0:
            return [i for i, info in getattr(self.index, kind).items() if self.visible(info.role)]
        info = self.index.lookup(kind, object_id)
        return [object_id] if self.visible(info.role) else []

    def write_counter_entry(self, kind, ce, role: str):
        if kind != MODIFY:
            raise invalid("counter entries can only be modified")
        _, counter, indices = self.indexed("counters", ce.counter_id, ce.index,
                                           ce.HasField("index"), role, writing=True)
        if ce.HasField("data"):
            check_counter_data(ce.data)
            for i in indices:
                counter.write(i, ce.data.byte_count, ce.data.packet_count)

    def read_counter_entry(self, query, exact: bool):
        for counter_id in self.extern_ids("counters", query.counter_id):
            _, counter, indices = self.indexed("counters", counter_id, query.index,
                                               query.HasField("index"), "", writing=False)
            for i in indices:
                byte_count, packet_count = counter.read(i)
                yield p4runtime_pb2.CounterEntry(
                    counter_id=counter_id, index=p4runtime_pb2.Index(index=i),
                    data=p4runtime_pb2.CounterData(byte_count=byte_count, packet_count=packet_count))

    def write_meter_entry(self, kind, me, role: str):
        if kind != MODIFY:
            raise invalid("meter entries can only be modified")
        _, meter, indices = self.indexed("meters", me.meter_id, me.index, me.HasField("index"),
                                         role, writing=True)
        refuse_meter_counter_data(me, "counter_data")
        rates = meter_rates(me.config if me.HasField("config") else None)
        for i in indices:
            meter.set_rates(i, rates)

    def read_meter_entry(self, query, exact: bool):
        for meter_id in self.extern_ids("meters", query.meter_id):
            _, meter, indices = self.indexed("meters", meter_id, query.index,
                                             query.HasField("index"), "", writing=False)
            for i in indices:
                out = p4runtime_pb2.MeterEntry(meter_id=meter_id, index=p4runtime_pb2.Index(index=i))
                rates = meter.get_rates(i)
                if rates is not None:
                    out.config.CopyFrom(meter_config(rates))
                yield out

    def write_register_entry(self, kind, re, role: str):
        if kind != MODIFY:
            raise invalid("register entries can only be modified")
        info, register, indices = self.indexed("registers", re.register_id, re.index,
                                                re.HasField("index"), role, writing=True)
        if re.data.WhichOneof("data") != "bitstring":
            raise invalid(f"register '{info.name}' holds bitstrings: data must be a bitstring")
        value = decode_bytes(re.data.bitstring, info.bitwidth, f"register '{info.name}'")
        for i in indices:
            register.write(i, value)

    def read_register_entry(self, query, exact: bool):
        for register_id in self.extern_ids("registers", query.register_id):
            info, register, indices = self.indexed("registers", register_id, query.index,
                                                   query.HasField("index"), "", writing=False)
            encode = (lambda v: encode_signed(v, info.bitwidth)) if info.extra.get("signed") \
                else encode_int
            for i in indices:
                out = p4runtime_pb2.RegisterEntry(register_id=register_id,
                                                  index=p4runtime_pb2.Index(index=i))
                out.data.bitstring = encode(register.read(i))
                yield out

    # == action profiles ========================================================================

    def profile(self, profile_id: int, role: str, writing: bool):
        info = self.index.lookup("action_profiles", profile_id)
        if writing:
            self.check_role(role, info.role, f"action profile '{info.name}'")
        return info, self.state.action_profiles[info.name]

    def member_action(self, info, action) -> tuple:
        """A member's action, valid for the profile's tables -> (JSON action id, args)."""
        table = self.index.tables[info.extra["table_ids"][0]]
        return self.decode_action(table, action, default=False)

    def check_not_one_shot(self, info, object_id: int, what: str):
        """Members and groups of one-shot entries are not the client's to touch."""
        if object_id in self.one_shot_ids.get(info.name, ()):
            raise P4RuntimeError(grpc.StatusCode.NOT_FOUND,
                                 f"action profile '{info.name}' has no {what} {object_id}")

    def write_action_profile_member(self, kind, member, role: str):
        info, profile = self.profile(member.action_profile_id, role, writing=True)
        if member.member_id == 0:
            raise invalid("member id 0 is reserved for wildcard reads")
        if kind != INSERT:
            self.check_not_one_shot(info, member.member_id, "member")
        if kind == DELETE:
            profile.delete_member(member.member_id)
            return
        if not member.HasField("action"):
            raise invalid("an action profile member needs an action")
        action_id, args = self.member_action(info, member.action)
        if kind == INSERT:
            profile.add_member(member.member_id, action_id, args)
        else:
            profile.modify_member(member.member_id, action_id, args)

    def read_action_profile_member(self, query, exact: bool):
        for profile_id in self.profile_ids(query.action_profile_id):
            info, profile = self.profile(profile_id, "", writing=False)
            table = self.index.tables[info.extra["table_ids"][0]]
            hidden = self.one_shot_ids.get(info.name, set())
            for member_id, member in sorted(profile.members.items()):
                if (query.member_id and member_id != query.member_id) or member_id in hidden:
                    continue
                out = p4runtime_pb2.ActionProfileMember(action_profile_id=profile_id,
                                                        member_id=member_id)
                self.encode_action(table, member.action_id, member.args, out.action)
                yield out

    def profile_ids(self, profile_id: int):
        if profile_id == 0:
            return [i for i, info in self.index.action_profiles.items() if self.visible(info.role)]
        info = self.index.lookup("action_profiles", profile_id)
        return [profile_id] if self.visible(info.role) else []

    def write_action_profile_group(self, kind, group, role: str):
        info, profile = self.profile(group.action_profile_id, role, writing=True)
        if not info.extra["with_selector"]:
            raise invalid(f"action profile '{info.name}' has no selector, so no groups")
        if group.group_id == 0:
            raise invalid("group id 0 is reserved for wildcard reads")
        if kind != INSERT:
            self.check_not_one_shot(info, group.group_id, "group")
        for member in group.members:
            self.check_not_one_shot(info, member.member_id, "member")
        if kind == DELETE:
            profile.delete_group(group.group_id)
            return
        max_group_size = info.extra["max_group_size"]
        if max_group_size and group.max_size > max_group_size:
            raise invalid(f"max_size {group.max_size} is above the profile's max group size "
                          f"{max_group_size}")
        if group.max_size < 0:
            raise invalid("max_size must not be negative")
        members = [(m.member_id, m.weight) for m in group.members]
        check_group_size(info, group.max_size, [weight for _, weight in members])
        if kind == INSERT:
            profile.add_group(group.group_id, group.max_size, members)
            return
        existing = profile.get_group(group.group_id)
        if group.max_size != existing.max_size:
            raise invalid("the max_size of a group cannot change")
        profile.set_group_members(group.group_id, members)

    def read_action_profile_group(self, query, exact: bool):
        for profile_id in self.profile_ids(query.action_profile_id):
            info, profile = self.profile(profile_id, "", writing=False)
            if not info.extra["with_selector"]:
                continue
            hidden = self.one_shot_ids.get(info.name, set())
            for group_id, group in sorted(profile.groups.items()):
                if (query.group_id and group_id != query.group_id) or group_id in hidden:
                    continue
                out = p4runtime_pb2.ActionProfileGroup(action_profile_id=profile_id,
                                                       group_id=group_id, max_size=group.max_size)
                for member_id, weight in group.weights.items():
                    out.members.add(member_id=member_id, weight=weight)
                yield out

    # == packet replication engine ==============================================================

    def write_packet_replication_engine_entry(self, kind, pre, role: str):
        if role:
            raise permission_denied(f"role '{role}' may not write replication entries")
        replication = self.state.replication
        which = pre.WhichOneof("type")
        if which == "multicast_group_entry":
            group = pre.multicast_group_entry
            if group.multicast_group_id == 0:
                raise invalid("multicast group id 0 is reserved for wildcard reads")
            if kind == DELETE:
                replication.delete_group(group.multicast_group_id)
                self.group_metadata.pop(group.multicast_group_id, None)
                return
            if kind == INSERT:
                replication.create_group(group.multicast_group_id, replicas(group.replicas))
            else:
                replication.modify_group(group.multicast_group_id, replicas(group.replicas))
            self.group_metadata[group.multicast_group_id] = group.metadata
        elif which == "clone_session_entry":
            session = pre.clone_session_entry
            if session.session_id == 0:
                raise invalid("clone session id 0 is reserved for wildcard reads")
            if kind == DELETE:
                replication.delete_session(session.session_id)
                return
            make = replication.create_session if kind == INSERT else replication.modify_session
            make(session.session_id, replicas(session.replicas), session.class_of_service,
                 session.packet_length_bytes)
        else:
            raise invalid("the replication entry is empty")

    def read_packet_replication_engine_entry(self, query, exact: bool):
        """Multicast groups and/or clone sessions; id 0 (or no type at all) reads all."""
        replication = self.state.replication
        which = query.WhichOneof("type")
        if which in (None, "multicast_group_entry"):
            wanted = query.multicast_group_entry.multicast_group_id
            for group_id, group_replicas in sorted(replication.multicast_groups.items()):
                if wanted and group_id != wanted:
                    continue
                out = p4runtime_pb2.PacketReplicationEngineEntry()
                out.multicast_group_entry.multicast_group_id = group_id
                for port, rid in group_replicas:
                    out.multicast_group_entry.replicas.add(egress_port=port, instance=rid)
                out.multicast_group_entry.metadata = self.group_metadata.get(group_id, b"")
                yield out
        if which in (None, "clone_session_entry"):
            wanted = query.clone_session_entry.session_id
            for session_id, session in sorted(replication.clone_sessions.items()):
                if wanted and session_id != wanted:
                    continue
                out = p4runtime_pb2.PacketReplicationEngineEntry()
                entry = out.clone_session_entry
                entry.session_id = session_id
                entry.class_of_service = session.class_of_service
                entry.packet_length_bytes = session.packet_length_bytes
                for port, rid in session.replicas:
                    entry.replicas.add(egress_port=port, instance=rid)
                yield out

    # == value sets =============================================================================

    def write_value_set_entry(self, kind, vse, role: str):
        info = self.index.lookup("value_sets", vse.value_set_id)
        self.check_role(role, info.role, f"value set '{info.name}'")
        if kind != MODIFY:
            raise invalid("value set entries can only be modified")
        if info.size and len(vse.members) > info.size:
            raise P4RuntimeError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                 f"value set '{info.name}' holds at most {info.size} members")
        members = [self.value_set_member(info, member) for member in vse.members]
        self.state.value_sets[info.name].set_members(members)

    def value_set_member(self, info, member) -> tuple:
        """A ValueSetMember -> (value, mask) over the concatenated match fields."""
        fields = info.extra["fields"]
        given = {fm.field_id: fm for fm in member.match}
        value = mask = 0
        for field in fields:
            fm = given.pop(field.id, None)
            width = field.bitwidth
            full = (1 << width) - 1
            what = f"value set '{info.name}' field {field.id}"
            field_value, field_mask = 0, 0
            if fm is not None:
                kind = fm.WhichOneof("field_match_type")
                if kind == "exact":
                    field_value, field_mask = decode_bytes(fm.exact.value, width, what), full
                elif kind == "ternary":
                    field_value = decode_bytes(fm.ternary.value, width, what)
                    field_mask = decode_bytes(fm.ternary.mask, width, what)
                elif kind == "optional":
                    field_value, field_mask = decode_bytes(fm.optional.value, width, what), full
                elif kind == "lpm" and 0 <= fm.lpm.prefix_len <= width:
                    field_value = decode_bytes(fm.lpm.value, width, what)
                    field_mask = full ^ ((1 << (width - fm.lpm.prefix_len)) - 1)
                else:
                    raise invalid(f"{what}: unsupported match {kind}")
                if field_value & ~field_mask:
                    raise invalid(f"{what}: value has bits set outside the mask")
            elif field.kind == "exact":
                raise invalid(f"{what}: exact match fields may not be omitted")
            value = (value << width) | field_value
            mask = (mask << width) | field_mask
        if given:
            raise invalid(f"value set '{info.name}': unknown match field id {sorted(given)[0]}")
        return value, mask

    def read_value_set_entry(self, query, exact: bool):
        for vs_id in self.extern_ids("value_sets", query.value_set_id):
            info = self.index.value_sets[vs_id]
            out = p4runtime_pb2.ValueSetEntry(value_set_id=vs_id)
            for value, mask in self.state.value_sets[info.name].entries():
                member = out.members.add()
                shift = sum(f.bitwidth for f in info.extra["fields"])
                for field in info.extra["fields"]:
                    shift -= field.bitwidth
                    full = (1 << field.bitwidth) - 1
                    field_value, field_mask = (value >> shift) & full, (mask >> shift) & full
                    if field_mask == 0 and field.kind != "exact":
                        continue
                    fm = member.match.add(field_id=field.id)
                    if field_mask == full and field.kind in ("exact", "optional"):
                        getattr(fm, field.kind).value = encode_int(field_value)
                    else:
                        fm.ternary.value = encode_int(field_value)
                        fm.ternary.mask = encode_int(field_mask)
            yield out

    # == digests ================================================================================

    def write_digest_entry(self, kind, de, role: str):
        info = self.index.lookup("digests", de.digest_id)
        self.check_role(role, info.role, f"digest '{info.name}'")
        enabled = de.digest_id in self.digest_configs
        if kind == DELETE:
            if not enabled:
                raise P4RuntimeError(grpc.StatusCode.NOT_FOUND, f"digest '{info.name}' is not enabled")
            del self.digest_configs[de.digest_id]
            if self.digests is not None:
                self.digests.disable(de.digest_id)
            return
        if kind == INSERT and enabled:
            raise P4RuntimeError(grpc.StatusCode.ALREADY_EXISTS,
                                 f"digest '{info.name}' is already enabled")
        if kind == MODIFY and not enabled:
            raise P4RuntimeError(grpc.StatusCode.NOT_FOUND, f"digest '{info.name}' is not enabled")
        if not de.HasField("config"):
            raise invalid("a digest entry needs a config")
        config = de.config
        if config.max_timeout_ns < 0 or config.ack_timeout_ns < 0 or config.max_list_size < 0:
            raise invalid("digest config values must not be negative")
        self.digest_configs[de.digest_id] = p4runtime_pb2.DigestEntry.Config()
        self.digest_configs[de.digest_id].CopyFrom(config)
        if self.digests is not None:
            self.digests.configure(de.digest_id, config, info.extra["type_spec"])

    def read_digest_entry(self, query, exact: bool):
        for digest_id in self.extern_ids("digests", query.digest_id):
            config = self.digest_configs.get(digest_id)
            if config is not None:
                yield p4runtime_pb2.DigestEntry(digest_id=digest_id, config=config)


def plain_query(query: p4runtime_pb2.TableEntry) -> bool:
    """A table-entry read with no filter and nothing asked for beyond the entries (so each
    entry's echo is its answer)."""
    return not (query.priority or query.controller_metadata or query.metadata
                or query.action.action.action_id or query.HasField("counter_data")
                or query.HasField("meter_config") or query.HasField("time_since_last_hit"))


def check_group_size(info, max_size: int, weights):
    """Weights of a selector group against its size limit (spec "Rules on Setting max_size").

    A weight w stands for w copies of the member, as PI programs BMv2 (action_prof_mgr.cpp), so
    the copies must also fit the profile's size; weights must be >= 1.
    """
    if any(weight < 1 for weight in weights):
        raise invalid("member weights must be >= 1")
    limit = max_size or info.extra["max_group_size"] or info.size or DEFAULT_GROUP_LIMIT
    if info.size:
        limit = min(limit, info.size)
    if sum(weights) > limit:
        raise P4RuntimeError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                             f"the member weights add up to {sum(weights)}, above the group "
                             f"size limit {limit} of '{info.name}'")


def check_counter_data(data):
    if data.byte_count < 0 or data.packet_count < 0:
        raise invalid("counter values must not be negative")


def meter_rates(config):
    """MeterConfig -> externs.MeterArray rates [(CIR, CBS), (PIR, PBS)] (units per second); None if unset."""
    if config is None:
        return None
    if config.eburst:
        raise invalid("eburst is not supported by v1model meters")
    if min(config.cir, config.cburst, config.pir, config.pburst) < 0:
        raise invalid("meter rates and bursts must not be negative")
    return ((config.cir, config.cburst), (config.pir, config.pburst))


def meter_config(rates) -> p4runtime_pb2.MeterConfig:
    (cir, cburst), (pir, pburst) = rates
    return p4runtime_pb2.MeterConfig(cir=int(cir), cburst=cburst, pir=int(pir), pburst=pburst)


def replicas(messages) -> list:
    """Replica messages -> [(port, instance)]; a `port` bytestring is a port number too (read
    back as `egress_port`, so it must fit its 32 bits)."""
    out = []
    for replica in messages:
        if replica.WhichOneof("port_kind") == "port":
            port = decode_bytes(replica.port, 32, "replica port")
        else:
            port = replica.egress_port
        out.append((port, replica.instance))
    return out
