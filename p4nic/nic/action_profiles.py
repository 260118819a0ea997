"""Action profiles (members) and action selectors (groups) of indirect tables.

Semantics follow BMv2 src/bm_sim/action_profile.cpp: a table entry points to a member (an action
with its arguments) or to a group of members; for a group, the selector hashes its input fields
with the JSON algorithm and picks member number `hash % group_size`, members ordered by creation
(BMv2 orders a group by member handle, which it hands out in creation order). P4Runtime weights
are honoured by giving a member `weight` consecutive slots.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

from .hashing import field_list_packer
from .tables import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    ResourceExhausted,
    TableError,
    check_action_call,
)


class Member:
    """An action-profile member; updated in place by `modify_member`."""

    __slots__ = ("id", "action_id", "args", "seq")

    def __init__(self, member_id: int, action_id: int, args: tuple, seq: int):
        self.id = member_id
        self.action_id = action_id
        self.args = args
        self.seq = seq

    def __repr__(self):
        return f"Member(id={self.id} action={self.action_id} args={self.args})"


class Group:
    """A selector group: member id -> weight, and `slots`, the selection list the packet path
    indexes with `hash % len(slots)`."""

    __slots__ = ("id", "max_size", "weights", "slots")

    def __init__(self, group_id: int, max_size: int):
        self.id = group_id
        self.max_size = max_size
        self.weights: dict = {}
        self.slots: tuple = ()

    @property
    def member_ids(self) -> list:
        return list(self.weights)


class ActionProfile:
    """A BMv2 action profile, with a selector when the JSON gives one.

    The selection hash is `hash(hash_input(values of selector_fields))`, which
    `MatchTable.lookup(key, selector_values)` computes for indirect_ws tables.
    """

    def __init__(self, name: str, id: int, max_size: int, actions: dict,
                 selector_algo: Optional[str] = None, selector_fields: Sequence = (),
                 hash: Optional[Callable[[bytes], int]] = None):
        self.name = name
        self.id = id
        self.max_size = max_size
        self.actions = actions
        self.selector = selector_algo
        self.selector_fields = tuple(selector_fields)
        self.hash = hash
        self.hash_input = field_list_packer([f.bitwidth for f in self.selector_fields])
        self.members: dict = {}
        self.groups: dict = {}
        self._member_refs: dict = {}  # member id -> number of table entries and groups using it
        self._group_refs: dict = {}  # group id -> number of table entries using it
        self._member_entries: dict = {}  # member id -> table entries pointing at it
        self._next_seq = 0

    # ---- members -------------------------------------------------------------------------------

    def has_member(self, member_id) -> bool:
        return member_id in self.members

    def add_member(self, member_id: int, action_id: int, args=()) -> Member:
        where = f"action profile {self.name} member {member_id}"
        if not isinstance(member_id, int) or member_id < 0:
            raise TableError(f"action profile {self.name}: bad member id {member_id!r}")
        if member_id in self.members:
            raise AlreadyExists(f"{where} already exists")
        args = check_action_call(self.actions, action_id, args, where)
        if self.max_size and len(self.members) >= self.max_size:  # 0: no JSON max_size
            raise ResourceExhausted(f"action profile {self.name} is full ({self.max_size})")
        member = Member(member_id, action_id, args, self._next_seq)
        self._next_seq += 1
        self.members[member_id] = member
        return member

    def modify_member(self, member_id: int, action_id: int, args=()):
        member = self.get_member(member_id)
        where = f"action profile {self.name} member {member_id}"
        member.args = check_action_call(self.actions, action_id, args, where)
        member.action_id = action_id
        for entry in self._member_entries.get(member_id, ()):
            entry.action_id, entry.args = action_id, member.args

    def delete_member(self, member_id: int):
        self.get_member(member_id)
        if self._member_refs.get(member_id):
            raise FailedPrecondition(
                f"action profile {self.name} member {member_id} is still used by a table entry "
                "or group"
            )
        del self.members[member_id]
        self._member_refs.pop(member_id, None)
        self._member_entries.pop(member_id, None)

    def get_member(self, member_id) -> Member:
        member = self.members.get(member_id)
        if member is None:
            raise NotFound(f"action profile {self.name} has no member {member_id!r}")
        return member

    # ---- groups --------------------------------------------------------------------------------

    def has_group(self, group_id) -> bool:
        return group_id in self.groups

    def _need_selector(self):
        if self.selector is None:
            raise TableError(f"action profile {self.name} has no selector, so no groups")

    def add_group(self, group_id: int, max_size: int = 0, members=()) -> Group:
        """Create a group (`max_size` 0: unbounded); `members` as for `set_group_members`."""
        self._need_selector()
        if not isinstance(group_id, int) or group_id < 0:
            raise TableError(f"action profile {self.name}: bad group id {group_id!r}")
        if group_id in self.groups:
            raise AlreadyExists(f"action profile {self.name} group {group_id} already exists")
        if not isinstance(max_size, int) or max_size < 0:
            raise TableError(f"action profile {self.name}: bad group max size {max_size!r}")
        group = Group(group_id, max_size)
        self._set_group_members(group, members)
        self.groups[group_id] = group
        return group

    def set_group_members(self, group_id: int, members):
        """Replace the members of a group (P4Runtime ActionProfileGroup MODIFY); `members` is
        [(member_id, weight)] or [member_id]."""
        self._set_group_members(self.get_group(group_id), members)

    def delete_group(self, group_id: int):
        group = self.get_group(group_id)
        if self._group_refs.get(group_id):
            raise FailedPrecondition(
                f"action profile {self.name} group {group_id} is still used by a table entry"
            )
        self._set_group_members(group, ())
        del self.groups[group_id]
        self._group_refs.pop(group_id, None)

    def get_group(self, group_id) -> Group:
        self._need_selector()
        group = self.groups.get(group_id)
        if group is None:
            raise NotFound(f"action profile {self.name} has no group {group_id!r}")
        return group

    def _set_group_members(self, group: Group, members):
        where = f"action profile {self.name} group {group.id}"
        weights = {}
        for item in members:
            member_id, weight = item if isinstance(item, tuple) else (item, 1)
            if member_id not in self.members:
                raise NotFound(f"{where}: no member {member_id!r}")
            if member_id in weights:
                raise TableError(f"{where}: member {member_id} listed twice")
            if not isinstance(weight, int) or weight < 1:
                raise TableError(f"{where}: member {member_id} weight {weight!r} must be >= 1")
            weights[member_id] = weight
        if group.max_size and sum(weights.values()) > group.max_size:
            raise ResourceExhausted(f"{where}: more than max size {group.max_size} members")
        for member_id in group.weights:
            self._member_refs[member_id] -= 1
        for member_id in weights:
            self._member_refs[member_id] = self._member_refs.get(member_id, 0) + 1
        group.weights = weights
        ordered = sorted(weights, key=lambda m: self.members[m].seq)
        group.slots = tuple(self.members[m] for m in ordered for _ in range(weights[m]))

    # ---- table entries ---------------------------------------------------------------------------

    def attach(self, entry):
        """A table entry now points at its `member_id` or `group_id` (MatchTable calls this).

        A member entry mirrors the member's action in `entry.action_id/args`, kept in sync by
        `modify_member`."""
        if entry.group_id is not None:
            if not self.groups[entry.group_id].slots:
                # BMv2 MatchTableIndirectWS::add_entry refuses empty groups (EMPTY_GRP).
                raise TableError(f"action profile {self.name} group {entry.group_id} is empty")
            self._group_refs[entry.group_id] = self._group_refs.get(entry.group_id, 0) + 1
            entry.action_id, entry.args = None, ()
        if entry.member_id is not None:
            member = self.members[entry.member_id]
            self._member_refs[member.id] = self._member_refs.get(member.id, 0) + 1
            self._member_entries.setdefault(member.id, set()).add(entry)
            entry.action_id, entry.args = member.action_id, member.args

    def detach(self, entry):
        if entry.group_id is not None:
            self._group_refs[entry.group_id] -= 1
        if entry.member_id is not None:
            self._member_refs[entry.member_id] -= 1
            self._member_entries[entry.member_id].discard(entry)

    def choose(self, group_id: int, hash_value: int) -> Optional[Member]:
        """Packet path: the member of `group_id` for `hash_value`; None for an empty group (BMv2
        then runs no action: "Lookup in table yielded empty group")."""
        slots = self.groups[group_id].slots
        if not slots:
            return None
        return slots[hash_value % len(slots)]
