"""Match-action tables of the software NIC: entries of every BMv2 match kind, fast lookup.

The control plane (P4Runtime server, STF runner) talks to a `MatchTable` in JSON action ids and
plain ints; the packet path calls `table.lookup(key)`, a closure chosen once per table so that a
lookup costs one dict probe (exact), one probe per prefix length (lpm), one probe per distinct
mask, best priority first (ternary: tuple space search) or a priority-ordered scan over
precomputed value/mask pairs (range). Semantics follow BMv2's match units
(src/bm_sim/match_units.cpp, lookup_structures.cpp); priorities follow P4Runtime (larger wins).

The error classes here are shared by every runtime-state module (tables, action profiles,
externs, replication, value sets); each names the gRPC status a P4Runtime server should return.
"""

from __future__ import annotations

import bisect
import time
from typing import Callable, NamedTuple, Optional, Sequence

EXACT = "exact"
LPM = "lpm"
TERNARY = "ternary"
RANGE = "range"
OPTIONAL = "optional"
VALID = "valid"
MATCH_KINDS = (EXACT, LPM, TERNARY, RANGE, OPTIONAL, VALID)

# P4Runtime spec, TableEntry.priority: a 32-bit signed value that must be positive.
MAX_PRIORITY = (1 << 31) - 1


class TableError(ValueError):
    """A rejected control-plane operation on runtime state; `status` is the gRPC code name."""

    status = "INVALID_ARGUMENT"


class AlreadyExists(TableError):
    status = "ALREADY_EXISTS"


class NotFound(TableError):
    status = "NOT_FOUND"


class ResourceExhausted(TableError):
    status = "RESOURCE_EXHAUSTED"


class PermissionDenied(TableError):
    """Writes to const tables / const default actions (P4Runtime: PERMISSION_DENIED)."""

    status = "PERMISSION_DENIED"


class OutOfRange(TableError):
    """An index past the end of a counter, meter or register array."""

    status = "OUT_OF_RANGE"


class FailedPrecondition(TableError):
    """E.g. deleting an action-profile member that table entries still point to."""

    status = "FAILED_PRECONDITION"


class KeyField(NamedTuple):
    """One element of a table key, in JSON "key" order.

    `bitwidth` is the width of the matched field (1 for `valid` and `$valid$`); `mask` is the
    static mask from the JSON key (p4c emits one for `f & M` and slice keys) or None. The packet
    path passes field values already ANDed with `mask`.
    """

    name: str
    match_type: str
    bitwidth: int
    target: object
    mask: Optional[int]


class ActionSpec(NamedTuple):
    """An action as the control plane sees it: JSON id, name and parameter widths."""

    id: int
    name: str
    param_names: tuple
    param_widths: tuple


def check_action_call(actions: dict, action_id, args, where: str) -> tuple:
    """Validate an action id and its arguments against `actions` (id -> ActionSpec).

    Returns the arguments as a tuple of ints; raises TableError naming `where`.
    """
    spec = actions.get(action_id)
    if spec is None:
        raise TableError(f"{where}: action id {action_id!r} is not allowed here")
    args = tuple(args)
    if len(args) != len(spec.param_widths):
        raise TableError(
            f"{where}: action {spec.name} takes {len(spec.param_widths)} argument(s), "
            f"got {len(args)}"
        )
    for name, width, value in zip(spec.param_names, spec.param_widths, args):
        if not isinstance(value, int) or value < 0 or value >> width:
            raise TableError(
                f"{where}: argument {name} of action {spec.name} = {value!r} "
                f"does not fit in {width} bits"
            )
    return args


class Entry:
    """A table entry (or a table's default entry, `handle` None).

    A direct table entry has `action_id`/`args`; an entry of an indirect table has `member_id` or
    `group_id` instead. `packets`/`bytes` are the direct counters, `meter` the direct meter cell,
    `last_hit` (time.monotonic seconds) drives idle timeouts. The packet path updates these
    attributes in place. `echo` is the control plane's own copy of the entry, opaque here (the
    P4Runtime server keeps the serialized Entity a Read returns).
    """

    __slots__ = (
        "handle", "match", "priority", "action_id", "args", "member_id", "group_id",
        "timeout_ms", "last_hit", "reported_hit", "packets", "bytes", "meter", "is_const", "echo",
    )

    def __init__(self, handle, match, priority, action_id, args, member_id, group_id):
        self.handle = handle
        self.match = match
        self.priority = priority
        self.action_id = action_id
        self.args = args
        self.member_id = member_id
        self.group_id = group_id
        self.timeout_ms = None
        self.last_hit = time.monotonic()
        self.reported_hit = None
        self.packets = 0
        self.bytes = 0
        self.meter = None
        self.is_const = False
        self.echo = None

    def __repr__(self):
        what = (
            f"action={self.action_id} args={self.args}" if self.member_id is None and
            self.group_id is None else f"member={self.member_id} group={self.group_id}"
        )
        return f"Entry(handle={self.handle} match={self.match} priority={self.priority} {what})"


# Key match kinds each JSON table match_type may hold (JSON_format.md, end of "pipelines").
_KINDS_IN_TABLE = {
    EXACT: (EXACT, VALID),
    LPM: (EXACT, VALID, LPM),
    TERNARY: (EXACT, VALID, LPM, TERNARY, OPTIONAL),
    RANGE: MATCH_KINDS,
}


def _fits(value, width: int) -> bool:
    return isinstance(value, int) and value >= 0 and not value >> width


def make_int_packer(widths: Sequence[int]) -> Callable:
    """A function packing a tuple of field values (each within its width) into one int, first
    field most significant."""
    if len(widths) == 1:
        return lambda k: k[0]
    shift = sum(widths)
    terms = []
    for i, width in enumerate(widths):
        shift -= width
        terms.append(f"(k[{i}] << {shift})" if shift else f"k[{i}]")
    return eval("lambda k: " + " | ".join(terms))  # generated once per table


class MatchTable:
    """A BMv2 match table: entries, default entry, lookup.

    `match_type` is the JSON table match type (exact, lpm, ternary, range): it decides the lookup
    structure, as in BMv2. Ternary and range tables need a priority on every entry; an lpm key
    field inside a ternary table is matched as a mask and ordered by priority (BMv2 converts it
    with create_mask_from_pref_len in match_units.cpp), while an lpm table picks the longest
    prefix.
    """

    def __init__(
        self,
        name: str,
        id: int,
        match_type: str,
        key: Sequence[KeyField],
        actions: dict,
        *,
        max_size: int = 1024,
        with_counters: bool = False,
        support_timeout: bool = False,
        direct_meter=None,
        action_profile=None,
        default_entry: Optional[tuple] = None,
        default_action_const: bool = False,
        default_entry_const: bool = False,
    ):
        if match_type not in _KINDS_IN_TABLE:
            raise TableError(f"table {name}: unknown match_type {match_type!r}")
        allowed = _KINDS_IN_TABLE[match_type]
        for field in key:
            if field.match_type not in allowed:
                raise TableError(
                    f"table {name}: {field.match_type} key field {field.name} "
                    f"in a {match_type} table"
                )
        if sum(field.match_type == LPM for field in key) > 1:
            raise TableError(f"table {name}: more than one lpm key field")
        self.name = name
        self.id = id
        self.match_type = match_type
        self.key = list(key)
        self.actions = actions
        self.max_size = max_size
        self.with_counters = with_counters
        self.support_timeout = support_timeout
        self.direct_meter = direct_meter
        self.action_profile = action_profile
        self.is_const = False
        self.needs_priority = match_type in (TERNARY, RANGE)
        if default_entry is not None:
            default_entry = (
                default_entry[0],
                check_action_call(actions, default_entry[0], default_entry[1],
                                  f"table {name} JSON default entry"),
            )
        self._initial_default = default_entry
        self.default_action_const = default_action_const
        self.default_entry_const = default_entry_const
        self.default_entry = Entry(None, (), None, None, (), None, None)
        if direct_meter is not None:
            self.default_entry.meter = direct_meter.new_cell()
        self._restore_default()

        self._handles: dict = {}
        # handle -> Entry, emptied in place: generated code skips the lookup when it is empty
        self.installed = self._handles
        self._by_match: dict = {}
        self._next_handle = 0
        self._widths = [k.bitwidth for k in self.key]
        self._total_width = sum(self._widths)
        self._shifts = []
        shift = self._total_width
        for width in self._widths:
            shift -= width
            self._shifts.append(shift)
        self._pack = make_int_packer(self._widths) if self.key else None
        self._exact: dict = {}
        self._lpm_levels: list = []  # [(prefix_len, mask, dict)], longest prefix first
        self._lpm_index: dict = {}   # prefix_len -> its level's dict
        # a key of one lpm field: an entry's (value, prefix_len) is its level and packed value
        self._single_lpm = match_type == LPM and len(self.key) == 1
        # ternary: one record [max_priority, mask, {value: [entries, best first]},
        # {priority: count}] per distinct mask ("tuple space search"), by descending max_priority
        self._mask_groups: list = []
        self._mask_index: dict = {}  # mask -> its record
        self._scan: list = []  # range: [(value, mask, ranges, entry)], best first
        self._scan_order: list = []  # parallel sort keys (-priority, handle)
        self.lookup = self._build_lookup()
        if action_profile is not None and action_profile.selector is not None:
            self.lookup = self._selecting_lookup(self.lookup)

    # ---- packet path -------------------------------------------------------------------------

    def _build_lookup(self) -> Callable:
        """The `lookup(key_tuple) -> Entry | None` closure for this table's match type."""
        if not self.key:
            return lambda key: None
        if self.match_type == EXACT:
            get = self._exact.get
            return get
        pack = self._pack
        if self.match_type == LPM:
            levels = self._lpm_levels
            if len(self.key) == 1:

                def lookup_lpm_one_field(key):
                    k = key[0]
                    for _, mask, found in levels:
                        e = found.get(k & mask)
                        if e is not None:
                            return e
                    return None

                return lookup_lpm_one_field

            def lookup_lpm(key):
                k = pack(key)
                for _, mask, found in levels:
                    e = found.get(k & mask)
                    if e is not None:
                        return e
                return None

            return lookup_lpm
        if self.match_type == TERNARY:
            groups = self._mask_groups

            def lookup_ternary(key):
                k = pack(key)
                best = None
                for max_priority, mask, found, _ in groups:
                    if best is not None and best.priority > max_priority:
                        break
                    candidates = found.get(k & mask)
                    if candidates is not None:
                        e = candidates[0]
                        if (
                            best is None
                            or e.priority > best.priority
                            or (e.priority == best.priority and e.handle < best.handle)
                        ):
                            best = e
                return best

            return lookup_ternary
        scan = self._scan

        def lookup_range(key):
            k = pack(key)
            for value, mask, ranges, e in scan:
                if k & mask == value:
                    for shift, fmask, low, high in ranges:
                        x = (k >> shift) & fmask
                        if x < low or x > high:
                            break
                    else:
                        return e
            return None

        return lookup_range

    def _selecting_lookup(self, base: Callable) -> Callable:
        """Wrap `base` for an action-selector table: `lookup(key, selector=())`, where
        `selector` holds the values of the profile's selector input fields in JSON order. On a
        group hit the chosen member's action is written into the returned entry (valid until the
        next lookup in this table); an empty group gives action None (BMv2 runs no action)."""
        profile = self.action_profile
        hash_input = profile.hash_input
        choose = profile.choose
        digest = profile.hash

        def lookup_selecting(key, selector=()):
            e = base(key)
            if e is not None and e.group_id is not None:
                member = choose(e.group_id, digest(hash_input(selector)))
                if member is None:
                    e.action_id, e.args = None, ()
                else:
                    e.action_id, e.args = member.action_id, member.args
            return e

        return lookup_selecting

    # ---- entry checks --------------------------------------------------------------------------

    def _normalize(self, match) -> tuple:
        """Check `match` against the key and return its canonical form.

        Canonical: exact/valid `(v,)`; lpm `(v, plen)`; ternary `(v, mask)`; range `(lo, hi)`;
        optional `(v,)`; fields that match everything (lpm /0, ternary mask 0, full range,
        optional wildcard) become None, so two spellings of one key compare equal.
        """
        if match is None:
            match = ()
        if not isinstance(match, (tuple, list)):
            raise TableError(f"table {self.name}: match must be a list of field matches")
        match = tuple(match)
        if len(match) != len(self.key):
            raise TableError(
                f"table {self.name}: key has {len(self.key)} field(s), got {len(match)}"
            )
        out = []
        for field, mv in zip(self.key, match):
            kind, width = field.match_type, field.bitwidth
            where = f"table {self.name}, key field {field.name}"
            if mv is None:
                if kind in (EXACT, VALID):
                    raise TableError(f"{where}: {kind} match needs a value")
                out.append(None)
                continue
            if isinstance(mv, int):
                mv = (mv,)
            if not isinstance(mv, (tuple, list)):
                raise TableError(f"{where}: bad field match {mv!r}")
            mv = tuple(mv)
            if kind in (EXACT, VALID, OPTIONAL) or (kind == TERNARY and len(mv) == 1):
                # A 1-tuple in a ternary field is an optional-match value (p4c emits optional
                # key fields as ternary in the JSON).
                if len(mv) != 1:
                    raise TableError(f"{where}: {kind} match takes one value, got {mv!r}")
                if not _fits(mv[0], width):
                    raise TableError(f"{where}: value {mv[0]!r} does not fit in {width} bits")
                out.append(mv if kind != TERNARY else (mv[0], (1 << width) - 1))
            elif kind == LPM:
                if len(mv) != 2:
                    raise TableError(f"{where}: lpm match takes (value, prefix_len), got {mv!r}")
                value, plen = mv
                if not isinstance(plen, int) or not 0 <= plen <= width:
                    raise TableError(f"{where}: prefix length {plen!r} not in 0..{width}")
                if not _fits(value, width):
                    raise TableError(f"{where}: value {value!r} does not fit in {width} bits")
                if value & ((1 << (width - plen)) - 1):
                    raise TableError(
                        f"{where}: value {value:#x} has bits set beyond prefix length {plen}"
                    )
                out.append(None if plen == 0 else (value, plen))
            elif kind == TERNARY:
                if len(mv) != 2:
                    raise TableError(f"{where}: ternary match takes (value, mask), got {mv!r}")
                value, mask = mv
                if not _fits(value, width) or not _fits(mask, width):
                    raise TableError(f"{where}: value/mask {mv!r} do not fit in {width} bits")
                if value & ~mask:
                    raise TableError(
                        f"{where}: value {value:#x} has bits set outside mask {mask:#x}"
                    )
                out.append(None if mask == 0 else (value, mask))
            elif kind == RANGE:
                if len(mv) != 2:
                    raise TableError(f"{where}: range match takes (low, high), got {mv!r}")
                low, high = mv
                if not _fits(low, width) or not _fits(high, width):
                    raise TableError(f"{where}: range {mv!r} does not fit in {width} bits")
                if low > high:
                    raise TableError(f"{where}: range low {low} > high {high}")
                out.append(None if low == 0 and high == (1 << width) - 1 else (low, high))
            else:
                raise TableError(f"{where}: unknown match kind {kind!r}")
        return tuple(out)

    def _check_priority(self, priority):
        if self.needs_priority:
            if priority is None:
                raise TableError(f"table {self.name}: {self.match_type} entries need a priority")
            if not isinstance(priority, int) or not 0 < priority <= MAX_PRIORITY:
                raise TableError(
                    f"table {self.name}: priority {priority!r} not in 1..{MAX_PRIORITY}"
                )
            return priority
        if priority not in (None, 0):
            raise TableError(
                f"table {self.name}: priority given for a {self.match_type} table "
                "(only ternary/range tables have priorities)"
            )
        return None

    def _check_action(self, action_id, args, member_id, group_id):
        where = f"table {self.name}"
        if self.action_profile is None:
            if member_id is not None or group_id is not None:
                raise TableError(f"{where}: not an indirect table, give an action")
            return check_action_call(self.actions, action_id, args, where), None, None
        if action_id is not None:
            raise TableError(f"{where}: indirect table, give a member or group id")
        if (member_id is None) == (group_id is None):
            raise TableError(f"{where}: give exactly one of member id and group id")
        profile = self.action_profile
        if member_id is not None and not profile.has_member(member_id):
            raise NotFound(f"{where}: action profile {profile.name} has no member {member_id}")
        if group_id is not None:
            if profile.selector is None:
                raise TableError(f"{where}: action profile {profile.name} has no groups")
            if not profile.has_group(group_id):
                raise NotFound(f"{where}: action profile {profile.name} has no group {group_id}")
        return (), member_id, group_id

    def _check_timeout(self, timeout_ms):
        if timeout_ms is None:
            return None
        if not self.support_timeout:
            raise TableError(f"table {self.name} does not support idle timeouts")
        if not isinstance(timeout_ms, (int, float)) or timeout_ms < 0:
            raise TableError(f"table {self.name}: bad idle timeout {timeout_ms!r}")
        return timeout_ms

    def _compile(self, match) -> tuple:
        """(value, mask, ranges) of a canonical match over the packed key."""
        value = mask = 0
        ranges = []
        for field, shift, mv in zip(self.key, self._shifts, match):
            width = field.bitwidth
            full = (1 << width) - 1
            if mv is None:
                continue
            kind = field.match_type
            if kind == LPM:
                fmask = full ^ ((1 << (width - mv[1])) - 1)
                fvalue = mv[0]
            elif kind == TERNARY:
                fvalue, fmask = mv
            elif kind == RANGE:
                ranges.append((shift, full, mv[0], mv[1]))
                continue
            else:
                fvalue, fmask = mv[0], full
            value |= fvalue << shift
            mask |= fmask << shift
        return value, mask, tuple(ranges)

    # ---- control plane -------------------------------------------------------------------------

    def add(
        self,
        match,
        action_id=None,
        args=(),
        priority=None,
        timeout_ms=None,
        *,
        member_id=None,
        group_id=None,
    ) -> int:
        """Insert an entry; returns its handle.

        Raises TableError (bad key/action), AlreadyExists, NotFound (unknown member/group),
        ResourceExhausted (table full), PermissionDenied (const table).
        """
        if self.is_const:
            raise PermissionDenied(f"table {self.name} has const entries and cannot be changed")
        return self._insert(match, action_id, args, priority, timeout_ms, member_id, group_id)

    def add_checked(self, match: tuple, action_id: int, args: tuple, priority, timeout_ms) -> Entry:
        """`add` for a direct action whose match, priority, action and arguments the caller has
        already checked and made canonical (what `_normalize`, `_check_priority` and
        `check_action_call` return); the P4Runtime server's table codecs do, on its hot path.
        Returns the new entry. Raises AlreadyExists, ResourceExhausted, PermissionDenied."""
        if self.is_const:
            raise PermissionDenied(f"table {self.name} has const entries and cannot be changed")
        return self._handles[self._store(match, priority, action_id, args, timeout_ms, None, None)]

    def native_insert_parts(self) -> Optional[tuple]:
        """(single-field lpm?, the (match, priority) -> Entry dict, the handle -> Entry dict,
        the exact-key dict or the prefix-length -> level dict) for a native inserter that does
        what `add_checked` does for a direct entry (nic/p4runtime/write_native.c); None for the
        tables whose placing takes more (ternary, range, lpm with more fields, action profiles,
        direct meters, const entries)."""
        if (self.is_const or self.action_profile is not None or self.direct_meter is not None
                or not self.key or not (self.match_type == EXACT or self._single_lpm)):
            return None
        return (self._single_lpm, self._by_match, self._handles,
                self._lpm_index if self._single_lpm else self._exact)

    def _insert(self, match, action_id, args, priority, timeout_ms, member_id, group_id):
        if not self.key:
            raise TableError(f"table {self.name} has no key and takes no entries")
        match = self._normalize(match)
        priority = self._check_priority(priority)
        args, member_id, group_id = self._check_action(action_id, args, member_id, group_id)
        timeout_ms = self._check_timeout(timeout_ms)
        return self._store(match, priority, action_id, args, timeout_ms, member_id, group_id)

    def _store(self, match, priority, action_id, args, timeout_ms, member_id, group_id) -> int:
        ident = (match, priority)
        if ident in self._by_match:
            raise AlreadyExists(f"table {self.name}: an entry with this key already exists")
        if len(self._handles) >= self.max_size:
            raise ResourceExhausted(f"table {self.name} is full ({self.max_size} entries)")
        handle = self._next_handle
        entry = Entry(handle, match, priority, action_id, args, member_id, group_id)
        if self.action_profile is not None:
            self.action_profile.attach(entry)
        self._next_handle += 1
        entry.timeout_ms = timeout_ms
        if self.direct_meter is not None:
            entry.meter = self.direct_meter.new_cell()
        self._place(entry)
        self._handles[handle] = entry
        self._by_match[ident] = entry
        return handle

    def _place(self, entry: Entry):
        """Put `entry` into the lookup structure."""
        if self.match_type == EXACT:
            self._exact[tuple(mv[0] for mv in entry.match)] = entry
            return
        if self._single_lpm:
            value, plen = entry.match[0] or (0, 0)
            level = self._lpm_index.get(plen)
            if level is not None:
                level[value] = entry
                return
            mask = self._compile(entry.match)[1]
        else:
            value, mask, ranges = self._compile(entry.match)
        if self.match_type == LPM:
            plen = self._lpm_prefix(entry.match)
            level = self._lpm_index.get(plen)
            if level is None:
                level = self._lpm_index[plen] = {}
                self._lpm_levels.append((plen, mask, level))
                self._lpm_levels.sort(key=lambda level: -level[0])
            level[value] = entry
            return
        # Handles grow with insertion, so among equal priorities the older entry wins.
        order = (-entry.priority, entry.handle)
        if self.match_type == TERNARY:
            group = self._mask_index.get(mask)
            if group is None:
                group = self._mask_index[mask] = [entry.priority, mask, {}, {}]
                self._mask_groups.append(group)
            candidates = group[2].setdefault(value, [])
            bisect.insort(candidates, entry, key=lambda e: (-e.priority, e.handle))
            group[3][entry.priority] = group[3].get(entry.priority, 0) + 1
            if entry.priority >= group[0]:
                group[0] = entry.priority
                self._mask_groups.sort(key=lambda g: -g[0])
            return
        i = bisect.bisect(self._scan_order, order)
        self._scan_order.insert(i, order)
        self._scan.insert(i, (value, mask, ranges, entry))

    def _lpm_prefix(self, match) -> int:
        for field, mv in zip(self.key, match):
            if field.match_type == LPM:
                return 0 if mv is None else mv[1]
        return 0

    def _unplace(self, entry: Entry):
        if self.match_type == EXACT:
            del self._exact[tuple(mv[0] for mv in entry.match)]
            return
        if self.match_type == LPM:
            value = self._compile(entry.match)[0]
            plen = self._lpm_prefix(entry.match)
            level = self._lpm_index[plen]
            del level[value]
            if not level:
                del self._lpm_index[plen]
                self._lpm_levels[:] = [lv for lv in self._lpm_levels if lv[0] != plen]
            return
        if self.match_type == TERNARY:
            value, mask, _ = self._compile(entry.match)
            group = self._mask_index[mask]
            candidates = group[2][value]
            candidates.remove(entry)
            if not candidates:
                del group[2][value]
            if not group[2]:
                del self._mask_index[mask]
                del self._mask_groups[next(
                    i for i, g in enumerate(self._mask_groups) if g is group)]
                return
            counts = group[3]
            counts[entry.priority] -= 1
            if not counts[entry.priority]:
                del counts[entry.priority]
                if entry.priority == group[0]:
                    group[0] = max(counts)
                    self._mask_groups.sort(key=lambda g: -g[0])
            return
        i = bisect.bisect_left(self._scan_order, (-entry.priority, entry.handle))
        del self._scan_order[i]
        del self._scan[i]

    def get(self, handle) -> Entry:
        """The entry with `handle`; NotFound otherwise."""
        entry = self._handles.get(handle)
        if entry is None:
            raise NotFound(f"table {self.name}: no entry with handle {handle!r}")
        return entry

    def find_checked(self, match: tuple, priority) -> Optional[Entry]:
        """`find` for a canonical match and a checked priority (see `add_checked`)."""
        return self._by_match.get((match, priority))

    def find(self, match, priority=None) -> Optional[Entry]:
        """The entry with this key (and priority, for ternary/range tables), or None."""
        match = self._normalize(match)
        priority = self._check_priority(priority)
        return self._by_match.get((match, priority))

    def modify(self, handle, action_id=None, args=(), timeout_ms=None, *, member_id=None,
               group_id=None):
        """Replace an entry's action (direct counters and meter state are kept, as BMv2)."""
        if self.is_const:
            raise PermissionDenied(f"table {self.name} has const entries and cannot be changed")
        entry = self.get(handle)
        args, member_id, group_id = self._check_action(action_id, args, member_id, group_id)
        timeout_ms = self._check_timeout(timeout_ms)
        if self.action_profile is not None:
            old = entry.member_id, entry.group_id
            self.action_profile.detach(entry)
            entry.member_id, entry.group_id = member_id, group_id
            try:
                self.action_profile.attach(entry)
            except TableError:
                entry.member_id, entry.group_id = old
                self.action_profile.attach(entry)
                raise
        else:
            entry.action_id, entry.args = action_id, args
        if timeout_ms is not None:
            entry.timeout_ms = timeout_ms

    def delete(self, handle):
        if self.is_const:
            raise PermissionDenied(f"table {self.name} has const entries and cannot be changed")
        entry = self.get(handle)
        self._unplace(entry)
        del self._handles[handle]
        del self._by_match[(entry.match, entry.priority)]
        if self.action_profile is not None:
            self.action_profile.detach(entry)

    def clear(self):
        """Delete every entry (const entries stay)."""
        if self.is_const:
            return
        if self.action_profile is not None:
            for entry in self._handles.values():
                self.action_profile.detach(entry)
        # Emptied in place: the lookup closure holds these containers.
        for container in (self._handles, self._by_match, self._exact, self._lpm_levels,
                          self._lpm_index,
                          self._mask_groups, self._mask_index, self._scan, self._scan_order):
            container.clear()

    def __len__(self):
        return len(self._handles)

    def listing(self) -> list:
        """All entries in insertion order: a copy of the list, so the table may change while
        the caller walks it (a long P4Runtime Read), and no sort, so it is cheap at any size."""
        return list(self._handles.values())

    def entries(self) -> list:
        """All entries in a deterministic order independent of insertion order: by key, then
        priority (highest first)."""

        def order(entry):
            fields = tuple((0,) if mv is None else (1,) + mv for mv in entry.match)
            return fields, -(entry.priority or 0)

        return sorted(self._handles.values(), key=order)

    # ---- direct counters and meters --------------------------------------------------------------

    def record_hit(self, entry: Entry, nbytes: int):
        """Packet path, on a hit in a table with direct counters or idle timeouts."""
        entry.packets += 1
        entry.bytes += nbytes
        entry.last_hit = time.monotonic()

    def execute_direct_meter(self, entry: Entry, nbytes: int) -> int:
        """Packet path, on a hit in a table with a direct meter: the colour."""
        return entry.meter.execute(nbytes)

    def direct_counter(self, handle) -> tuple:
        """(bytes, packets) of an entry's direct counter (BMv2 order)."""
        entry = self.get(handle)
        return entry.bytes, entry.packets

    def set_direct_counter(self, handle, nbytes: int, packets: int):
        entry = self.get(handle)
        for value in (nbytes, packets):
            if not isinstance(value, int) or value < 0:
                raise TableError(f"table {self.name}: counter value {value!r} must be >= 0")
        entry.bytes, entry.packets = nbytes, packets

    def _meter_of(self, handle):
        if self.direct_meter is None:
            raise TableError(f"table {self.name} has no direct meter")
        return self.get(handle).meter

    def set_direct_meter(self, handle, rates):
        """Configure an entry's meter: [(CIR, CBS), (PIR, PBS)] in units/s and units (as
        P4Runtime MeterConfig), or None for unconfigured (all GREEN)."""
        cell = self._meter_of(handle)
        self.direct_meter.configure_cell(cell, rates)

    def direct_meter_config(self, handle) -> Optional[tuple]:
        return self._meter_of(handle).rates

    # ---- default entry -------------------------------------------------------------------------

    def set_default(self, action_id=None, args=(), *, member_id=None):
        """Set the default (miss) action; PermissionDenied when the JSON made it const.

        An indirect table may instead take a `member_id` (BMv2 set_default_member; the default
        entry then mirrors the member's action); group defaults are not supported."""
        where = f"table {self.name} default action"
        if self.default_entry_const:
            raise PermissionDenied(f"{where} is const and cannot be changed")
        if self.default_action_const and action_id != self.default_entry.action_id:
            raise PermissionDenied(f"{where}: only the arguments of the const action can change")
        default = self.default_entry
        if member_id is None:
            args = check_action_call(self.actions, action_id, args, where)
        else:
            if self.action_profile is None:
                raise TableError(f"{where}: not an indirect table, give an action")
            if action_id is not None:
                raise TableError(f"{where}: give an action or a member id, not both")
            self.action_profile.get_member(member_id)
        self._drop_default_member()
        if member_id is None:
            default.action_id, default.args = action_id, args
        else:
            default.member_id = member_id
            self.action_profile.attach(default)

    @property
    def default_action(self) -> Optional[tuple]:
        """(action_id, args) a miss runs, or None for no action."""
        default = self.default_entry
        return None if default.action_id is None else (default.action_id, default.args)

    def reset_default(self):
        """Restore the JSON `default_entry` (no action at all if the JSON had none, as BMv2)."""
        if self.default_entry_const:
            raise PermissionDenied(f"table {self.name} default action is const")
        self._restore_default()

    def _drop_default_member(self):
        if self.default_entry.member_id is not None:
            self.action_profile.detach(self.default_entry)
            self.default_entry.member_id = None

    def _restore_default(self):
        self._drop_default_member()
        if self._initial_default is None:
            self.default_entry.action_id, self.default_entry.args = None, ()
        else:
            self.default_entry.action_id, self.default_entry.args = self._initial_default

    # ---- idle timeout --------------------------------------------------------------------------

    def expired(self, now: Optional[float] = None) -> list:
        """Entries whose idle timeout has run out and that were not reported since their last
        hit (BMv2 src/bm_sim/ageing.cpp notifies an entry once per idle period). Marks them
        reported."""
        if now is None:
            now = time.monotonic()
        out = []
        for entry in self._handles.values():
            if (
                entry.timeout_ms is not None
                and (now - entry.last_hit) * 1000.0 >= entry.timeout_ms
                and entry.reported_hit != entry.last_hit
            ):
                entry.reported_hit = entry.last_hit
                out.append(entry)
        out.sort(key=lambda e: e.handle)
        return out

    # ---- const entries from the JSON ---------------------------------------------------------

    def load_const_entries(self, entries: Sequence[tuple]):
        """Install JSON `entries` (match, action_id, args, p4runtime_priority) and freeze."""
        for match, action_id, args, priority in entries:
            handle = self._insert(match, action_id, args, priority, None, None, None)
            self._handles[handle].is_const = True
        self.is_const = True


class ValueSet:
    """A parser value set (JSON `parse_vsets`): values with optional masks, of `bitwidth` bits.

    BMv2's ParseVSet (src/bm_sim/parser.cpp) holds plain values; a member here may also carry a
    mask (P4Runtime ValueSetMember with a ternary match) and then matches when
    `key & mask == value`. `contains` is the packet-path test.
    """

    def __init__(self, name: str, id: int, bitwidth: int, max_size: Optional[int] = None):
        self.name = name
        self.id = id
        self.bitwidth = bitwidth
        self.max_size = max_size
        self._exact: set = set()
        self._masked: list = []  # [(value, mask)]
        self.version = 0  # bumped on every change, for packet-path caches

    def _member(self, value, mask) -> tuple:
        full = (1 << self.bitwidth) - 1
        if mask is None:
            mask = full
        if not _fits(value, self.bitwidth) or not _fits(mask, self.bitwidth):
            raise TableError(
                f"value set {self.name}: ({value!r}, {mask!r}) does not fit {self.bitwidth} bits"
            )
        if value & ~mask:
            raise TableError(
                f"value set {self.name}: value {value:#x} has bits set outside mask {mask:#x}"
            )
        return value, mask

    def entries(self) -> list:
        """Members as (value, mask), sorted; exact members have an all-ones mask."""
        full = (1 << self.bitwidth) - 1
        return sorted([(v, full) for v in self._exact] + self._masked)

    def set_members(self, members):
        """Replace the whole set (P4Runtime ValueSetEntry MODIFY); [(value, mask|None)]."""
        checked = []
        for member in members:
            value, mask = member if isinstance(member, tuple) else (member, None)
            checked.append(self._member(value, mask))
        checked = sorted(set(checked))
        if self.max_size is not None and len(checked) > self.max_size:
            raise ResourceExhausted(f"value set {self.name} holds at most {self.max_size}")
        full = (1 << self.bitwidth) - 1
        self._exact.clear()
        self._exact.update(v for v, m in checked if m == full)
        self._masked[:] = [(v, m) for v, m in checked if m != full]
        self.version += 1

    def clear(self):
        self.set_members(())

    def add(self, value: int, mask: Optional[int] = None):
        member = self._member(value, mask)
        if member in self.entries():
            raise AlreadyExists(f"value set {self.name} already holds {member!r}")
        self.set_members(self.entries() + [member])

    def remove(self, value: int, mask: Optional[int] = None):
        member = self._member(value, mask)
        current = self.entries()
        if member not in current:
            raise NotFound(f"value set {self.name} does not hold {member!r}")
        current.remove(member)
        self.set_members(current)

    def contains(self, key: int) -> bool:
        if key in self._exact:
            return True
        for value, mask in self._masked:
            if key & mask == value:
                return True
        return False
