"""The difference between what a file wants on a NIC and what the NIC holds: a `Plan`.

`make_plan(nic_entries, installed, names)` is a pure function of its inputs (no I/O), so the
ownership rules can be read here in one place (docs/dsl.md, "What a file owns"):

- a match entry or multicast group is the file's when its metadata starts with OWNER_COOKIE;
  one the file declares but someone else wrote (same key, no cookie) is a `Conflict`, never
  overwritten; one with the cookie that the file no longer declares is deleted;
- a target that drops multicast metadata (simple_switch_grpc: PI keeps none) returns the
  file's own groups without the cookie: a group the file declares that comes back with no
  metadata at all is taken as the file's, and groups it no longer declares cannot be told
  from others' and stay (the plan says so);
- managed defaults: the one the file sets is written with the cookie; one carrying the
  cookie that the file no longer sets is reset (MODIFY with no action);
- managed action profiles: every member and group is the file's.

Changes carry a write phase, so that references hold at every step: members and multicast
groups first, then groups, then table entries, then group deletes, then member deletes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from p4nic.proto import p4runtime_pb2

from p4nic.dsl import priorities
from p4nic.dsl.installed import entry_key, is_owned
from p4nic.dsl.model import OWNER_COOKIE, DesiredEntity, NicEntries, NicTarget, Origin

ADD, MODIFY, DELETE = "add", "modify", "delete"
SYMBOLS = {ADD: "+", MODIFY: "~", DELETE: "-"}
UPDATE_TYPES = {ADD: p4runtime_pb2.Update.INSERT, MODIFY: p4runtime_pb2.Update.MODIFY,
                DELETE: p4runtime_pb2.Update.DELETE}

KEY_WORDS = {"entry": "table entry (table, match and priority)", "default": "default entry",
             "member": "action profile member", "group": "action profile group",
             "multicast": "multicast group"}
# Write phases, in order; the updates of one phase never depend on each other.
PHASE_MEMBERS, PHASE_GROUPS, PHASE_ENTRIES, PHASE_GROUP_DELETES, PHASE_MEMBER_DELETES = range(5)


class PlanError(ValueError):
    """The file's entities cannot be planned (unsupported entity, two with one key), or the
    plan cannot be applied (conflicts); the message says which statement and why."""


@dataclass
class Change:
    """One update the plan makes, in the file's words."""
    action: str                          # ADD, MODIFY or DELETE
    entity: p4runtime_pb2.Entity         # written as is (a DELETE carries only the key)
    origin: Optional[Origin]             # the statement; None when it left the file
    installed: Optional[p4runtime_pb2.Entity] = None   # what the NIC holds now (modify, delete)
    phase: int = PHASE_ENTRIES
    reset: bool = False                  # a default entry going back to the program's default
    data: bytes = b""                    # `entity` serialized (filled in when first needed)

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.action]

    def update(self) -> tuple:
        """(Update.Type, serialized Entity), as Connection.write_serialized takes it."""
        if not self.data:
            self.data = self.entity.SerializeToString()
        return UPDATE_TYPES[self.action], self.data

    def undo(self) -> tuple:
        """The update that puts back what the NIC held before this change."""
        if self.action == ADD:
            return p4runtime_pb2.Update.DELETE, key_only(self.entity).SerializeToString()
        kind = p4runtime_pb2.Update.INSERT if self.action == DELETE else p4runtime_pb2.Update.MODIFY
        return kind, writable(self.installed).SerializeToString()


@dataclass
class Conflict:
    """A declared entity whose key holds an entity someone else wrote: left alone."""
    desired: DesiredEntity
    installed: p4runtime_pb2.Entity


@dataclass
class Plan:
    """What `apply` would write to one NIC, in write order."""
    target: NicTarget
    names: object                        # P4InfoNames of the NIC's program (for rendering)
    changes: list = field(default_factory=list)
    conflicts: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    unchanged: int = 0                   # declared entities already installed as declared

    @property
    def empty(self) -> bool:
        """No change to write (conflicts are not changes: see `conflicts`)."""
        return not self.changes

    def count(self, action: str) -> int:
        return sum(1 for change in self.changes if change.action == action)

    def batches(self) -> list:
        """The changes as one list per write phase, in phase order, deletes first in a phase."""
        phases: dict = {}
        for change in self.changes:
            phases.setdefault(change.phase, []).append(change)
        return [sorted(phases[p], key=lambda c: c.action != DELETE) for p in sorted(phases)]

    def render(self, **options) -> str:
        """Plain text, as `p4nic plan` prints it off a terminal."""
        from p4nic.dsl.render import plan_lines, plain
        return plain(plan_lines(self, **options))

    def __str__(self) -> str:
        return self.render()


# -- helpers on entities -------------------------------------------------------------------

def key_only(entity: p4runtime_pb2.Entity) -> p4runtime_pb2.Entity:
    """What a DELETE needs: the entity's key and nothing else."""
    key = p4runtime_pb2.Entity()
    kind = entity.WhichOneof("entity")
    if kind == "table_entry":
        te = entity.table_entry
        key.table_entry.table_id = te.table_id
        key.table_entry.match.extend(te.match)
        key.table_entry.priority = te.priority
    elif kind == "action_profile_member":
        m = entity.action_profile_member
        key.action_profile_member.action_profile_id = m.action_profile_id
        key.action_profile_member.member_id = m.member_id
    elif kind == "action_profile_group":
        g = entity.action_profile_group
        key.action_profile_group.action_profile_id = g.action_profile_id
        key.action_profile_group.group_id = g.group_id
    else:
        mc = key.packet_replication_engine_entry.multicast_group_entry
        mc.multicast_group_id = entity.packet_replication_engine_entry \
            .multicast_group_entry.multicast_group_id
    return key


def writable(entity: p4runtime_pb2.Entity) -> p4runtime_pb2.Entity:
    """A read-back entity as a Write accepts it (no read-only fields)."""
    if entity.HasField("table_entry") and (entity.table_entry.is_const
                                           or entity.table_entry.HasField("time_since_last_hit")):
        copy = p4runtime_pb2.Entity()
        copy.CopyFrom(entity)
        copy.table_entry.is_const = False
        copy.table_entry.ClearField("time_since_last_hit")
        return copy
    return entity


def with_cookie(entity: p4runtime_pb2.Entity, message) -> p4runtime_pb2.Entity:
    """The entity with OWNER_COOKIE leading the metadata of `message` (a part of it), so what
    apply writes is always recognisable as the file's."""
    if message.metadata.startswith(OWNER_COOKIE):
        return entity
    marked = p4runtime_pb2.Entity()
    marked.CopyFrom(entity)
    part = (marked.table_entry if entity.HasField("table_entry") else
            marked.packet_replication_engine_entry.multicast_group_entry)
    part.metadata = OWNER_COOKIE + message.metadata
    return marked


def _same_table_entry(desired, installed) -> bool:
    return (desired.action == installed.action and desired.metadata == installed.metadata
            and desired.idle_timeout_ns == installed.idle_timeout_ns
            and desired.controller_metadata == installed.controller_metadata)


def _replicas(group) -> list:
    return sorted(r.SerializeToString() for r in group.replicas)


def _members(group) -> list:
    return sorted((m.member_id, m.weight or 1, m.SerializeToString()) for m in group.members)


# -- the diff --------------------------------------------------------------------------------

def make_plan(nic_entries: NicEntries, installed, names) -> Plan:
    """The Plan that converges `installed` (an installed.Installed) to `nic_entries`."""
    differ = _Differ(nic_entries, names)
    differ.run(installed)
    return differ.plan


class _Differ:
    def __init__(self, nic_entries: NicEntries, names):
        self.names = names
        self.plan = Plan(nic_entries.target, names)
        self.entities = nic_entries.entities
        self.managed_defaults = {names.table(name).preamble.id
                                 for name in nic_entries.managed_defaults}
        self.managed_profiles = {names.action_profile(name).preamble.id
                                 for name in nic_entries.managed_profiles}
        self.seen: dict = {}               # key -> origin of the declared entity with that key
        self.mc_without_metadata = False
        self.keyed = None                  # installed.Keyed: what is not installed as declared

    def run(self, installed):
        declared = [self.as_written(desired) for desired in self.entities]
        exact = set(installed.serialized).intersection(data for _, _, data in declared)
        if any(desired.positional and data not in exact for desired, _, data in declared):
            declared = priorities.keep_installed(declared, installed.keyed().entries,
                                                 _same_table_entry)
            exact = set(installed.serialized).intersection(data for _, _, data in declared)
        self.keyed = installed.keyed(skip=exact)
        for desired, entity, data in declared:
            kind, key = self.key_of(entity)
            self.declare((kind, key), desired)
            if data in exact:
                self.plan.unchanged += 1
            else:
                getattr(self, kind)(desired, entity, data, key)
        self.stale()
        if self.mc_without_metadata:
            self.plan.notes.append(
                "this NIC returns multicast groups without their metadata (simple_switch_grpc "
                "keeps none): a group the file declares is taken as the file's, and a group it "
                "no longer declares cannot be told from another controller's, so it stays "
                "installed; delete it by hand")

    def as_written(self, desired: DesiredEntity) -> tuple:
        """(desired, the entity apply writes, its bytes): table entries and multicast groups
        carry the cookie; anything plan/apply does not manage is refused here."""
        entity = desired.entity
        kind = entity.WhichOneof("entity")
        if kind == "table_entry":
            entity = with_cookie(entity, entity.table_entry)
        elif (kind == "packet_replication_engine_entry"
              and entity.packet_replication_engine_entry.HasField("multicast_group_entry")):
            entity = with_cookie(entity, entity.packet_replication_engine_entry
                                 .multicast_group_entry)
        elif kind not in ("action_profile_member", "action_profile_group"):
            what = "clone sessions" if kind == "packet_replication_engine_entry" else (
                kind or "an empty entity")
            raise PlanError(f"{desired.origin}: plan/apply manages table entries, action "
                            f"profile members and groups and multicast groups, not {what}")
        return desired, entity, entity.SerializeToString()

    @staticmethod
    def key_of(entity) -> tuple:
        """(kind, key): the handler for the entity and what identifies it on the NIC."""
        kind = entity.WhichOneof("entity")
        if kind == "table_entry":
            te = entity.table_entry
            if te.is_default_action:
                return "default", te.table_id
            return "entry", entry_key(te)
        if kind == "action_profile_member":
            m = entity.action_profile_member
            return "member", (m.action_profile_id, m.member_id)
        if kind == "action_profile_group":
            g = entity.action_profile_group
            return "group", (g.action_profile_id, g.group_id)
        return "multicast", entity.packet_replication_engine_entry.multicast_group_entry \
            .multicast_group_id

    def declare(self, key, desired: DesiredEntity):
        first = self.seen.get(key)
        if first is not None:
            raise PlanError(f"{desired.origin}: declares the same {KEY_WORDS[key[0]]} as "
                            f"{first}")
        self.seen[key] = desired.origin

    def add(self, action, entity, origin, installed=None, phase=PHASE_ENTRIES, reset=False,
            data=b""):
        self.plan.changes.append(Change(action, entity, origin, installed, phase, reset, data))

    # -- declared entities not installed as declared -----------------------------------------

    def entry(self, desired, entity, data, key):
        now = self.keyed.entries.get(key)
        if now is None:
            self.add(ADD, entity, desired.origin, data=data)
        elif not is_owned(now.table_entry):
            self.plan.conflicts.append(Conflict(desired, now))
        elif _same_table_entry(entity.table_entry, now.table_entry):
            self.plan.unchanged += 1
        else:
            self.add(MODIFY, entity, desired.origin, now, data=data)

    def default(self, desired, entity, data, table_id):
        now = self.keyed.defaults.get(table_id)
        if now is not None and (now.table_entry.action == entity.table_entry.action
                                and now.table_entry.metadata == entity.table_entry.metadata):
            self.plan.unchanged += 1
        else:
            self.add(MODIFY, entity, desired.origin, now, data=data)

    def member(self, desired, entity, data, key):
        now = self.keyed.members.get(key)
        if now is None:
            self.add(ADD, entity, desired.origin, phase=PHASE_MEMBERS, data=data)
        elif now.action_profile_member.action == entity.action_profile_member.action:
            self.plan.unchanged += 1
        else:
            self.add(MODIFY, entity, desired.origin, now, PHASE_MEMBERS, data=data)

    def group(self, desired, entity, data, key):
        now = self.keyed.groups.get(key)
        g = entity.action_profile_group
        if now is None:
            self.add(ADD, entity, desired.origin, phase=PHASE_GROUPS, data=data)
        elif (_members(now.action_profile_group) == _members(g)
              and now.action_profile_group.max_size == g.max_size):
            self.plan.unchanged += 1
        else:
            self.add(MODIFY, entity, desired.origin, now, PHASE_GROUPS, data=data)

    def multicast(self, desired, entity, data, group_id):
        wanted = entity.packet_replication_engine_entry.multicast_group_entry
        now = self.keyed.multicast.get(group_id)
        if now is None:
            self.add(ADD, entity, desired.origin, phase=PHASE_MEMBERS, data=data)
            return
        held = now.packet_replication_engine_entry.multicast_group_entry
        if not held.metadata:
            self.mc_without_metadata = True
        elif not is_owned(held):
            self.plan.conflicts.append(Conflict(desired, now))
            return
        if _replicas(held) == _replicas(wanted) and held.metadata in (b"", wanted.metadata):
            self.plan.unchanged += 1
        else:
            self.add(MODIFY, entity, desired.origin, now, PHASE_MEMBERS, data=data)

    # -- what the file no longer declares ---------------------------------------------------

    def stale(self):
        seen, keyed = self.seen, self.keyed
        for key, now in keyed.entries.items():
            if ("entry", key) not in seen and is_owned(now.table_entry):
                self.add(DELETE, key_only(now), None, now)
        for table_id, now in keyed.defaults.items():
            if (("default", table_id) not in seen and table_id in self.managed_defaults
                    and is_owned(now.table_entry)):
                reset = p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry(
                    table_id=table_id, is_default_action=True))
                self.add(MODIFY, reset, None, now, reset=True)
        for key, now in keyed.groups.items():
            if ("group", key) not in seen and key[0] in self.managed_profiles:
                self.add(DELETE, key_only(now), None, now, PHASE_GROUP_DELETES)
        for key, now in keyed.members.items():
            if ("member", key) not in seen and key[0] in self.managed_profiles:
                self.add(DELETE, key_only(now), None, now, PHASE_MEMBER_DELETES)
        for group_id, now in keyed.multicast.items():
            held = now.packet_replication_engine_entry.multicast_group_entry
            if ("multicast", group_id) not in seen and is_owned(held):
                self.add(DELETE, key_only(now), None, now, PHASE_GROUP_DELETES)
