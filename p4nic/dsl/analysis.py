"""What the checker can only see once a NIC's entries exist: tables too small for them, two
rules with one key, and rules no packet can reach because higher-priority rules take every
packet they would match (a warning naming both lines).

Entries are cubes over their table's key (ternary.Layout), so "covers" and "overlaps" are
big-int operations. Rules are compared against the rules above them through an index on the
key field most rules match exactly, so a file of thousands of rules is checked in
near-linear time.
"""
from __future__ import annotations

from p4.config.v1 import p4info_pb2

from p4nic.dsl.ternary import Layout, covered, intersects, range_cover

MAX_SHADOW_NAMES = 3


def analyse(checked, errors) -> None:
    names = checked.names
    tables = {}
    for entry in checked.entries:
        if not entry.default:
            tables.setdefault(entry.table, []).append(entry)
    for table_name, entries in tables.items():
        info = names.table(table_name)
        _size(info, entries, errors)
        layout = Layout((mf.name, mf.bitwidth) for mf in info.match_fields)
        ranges = {mf.name for mf in info.match_fields
                  if mf.match_type == p4info_pb2.MatchField.RANGE}
        cubes = [_cubes(layout, entry, ranges) for entry in entries]
        _duplicates(entries, cubes, errors)
        prioritised = any(e.priority is not None for e in entries)
        lpm = any(mf.match_type == p4info_pb2.MatchField.LPM for mf in info.match_fields)
        if prioritised and not lpm:
            _shadows(entries, cubes, layout, errors)
    _profiles(checked, errors)


def _size(info, entries, errors) -> None:
    if info.size and len(entries) > info.size:
        overflow = entries[info.size].rule
        errors.error(f"table {info.preamble.name} holds {info.size} entries (its P4Info size) "
                     f"but the file needs {len(entries)}; this rule makes entry "
                     f"{info.size + 1}", overflow.loc)


def _cubes(layout, entry, ranges) -> list:
    """The entry's packet set as cubes (range fields are split into their ternary cover)."""
    plain = {k: v for k, v in entry.match.items() if k not in ranges}
    result = [layout.pack(plain)]
    for name in ranges:
        cube = entry.match.get(name)
        if cube is None:
            continue
        _, low, high = cube
        offset, width = next((o, w) for n, o, w in layout.fields if n == name)
        result = [(v | rv << offset, c | rc << offset)
                  for v, c in result for rv, rc in range_cover(low, high, width)]
    return result


def _duplicates(entries, cubes, errors) -> None:
    """Two rules with the same key: the same match and priority (P4Runtime refuses the second),
    or the same match among rules ordered by position (the second could never apply)."""
    seen = {}
    for entry, key in zip(entries, cubes):
        if not entry.rule.user:
            continue
        ordered = entry.rule.ordered and entry.priority is not None
        slot = (tuple(key), None if ordered else entry.priority)
        first = seen.setdefault(slot, entry.rule)
        if first is not entry.rule:
            errors.error(f"this rule has the same key as the rule at line {first.loc.line} "
                         f"({first.origin.statement})", entry.rule.loc)


def _shadows(entries, cubes, layout, errors) -> None:
    """Warn about rules whose every packet a higher-priority rule takes."""
    rules = {}
    for entry, entry_cubes in zip(entries, cubes):
        if entry.rule.user:
            rule = rules.setdefault(id(entry.rule), [entry.rule, entry.priority, []])
            rule[2] += entry_cubes
    index = _Index(layout, [c for _, _, found in rules.values() for c in found])
    by_priority = sorted(rules.values(), key=lambda r: -r[1])
    i = 0
    while i < len(by_priority):
        j = i
        while j < len(by_priority) and by_priority[j][1] == by_priority[i][1]:
            j += 1
        group = by_priority[i:j]
        for rule, _, found in group:
            candidates = index.candidates(found)
            if candidates and all(covered(c, [k for k, _ in candidates]) for c in found):
                over = []
                for cube, other in candidates:
                    if other not in over and any(intersects(cube, c) for c in found):
                        over.append(other)
                lines = ", ".join(str(o.loc.line) for o in over[:MAX_SHADOW_NAMES])
                errors.warning(f"this rule never matches: higher-priority rules (line "
                               f"{lines}) take every packet it would match", rule.loc)
        for rule, _, found in group:
            index.add(found, rule)
        i = j


class _Index:
    """Cubes of the rules seen so far, bucketed by the value of the key field that most
    cubes match exactly, so a rule meets only the rules it could overlap."""

    def __init__(self, layout, sample):
        best, best_cost = None, len(sample) ** 2
        for name, offset, width in layout.fields:
            mask = ((1 << width) - 1) << offset
            sizes, wild = {}, 0
            for value, care in sample:
                if care & mask == mask:
                    key = value & mask
                    sizes[key] = sizes.get(key, 0) + 1
                else:
                    wild += 1
            cost = sum(n * n for n in sizes.values()) + wild * len(sample)
            if cost < best_cost:
                best, best_cost = (offset, mask), cost
        self.field = best
        self.buckets = {}
        self.wild = []

    def _bucket(self, cube):
        if self.field is None:
            return None
        offset, mask = self.field
        if cube[1] & mask != mask:
            return None
        return cube[0] & mask

    def add(self, cubes, rule):
        for cube in cubes:
            key = self._bucket(cube)
            (self.wild if key is None else self.buckets.setdefault(key, [])).append((cube, rule))

    def candidates(self, cubes) -> list:
        found = []
        for cube in cubes:
            key = self._bucket(cube)
            if key is None:
                found += [c for bucket in self.buckets.values() for c in bucket]
            else:
                found += self.buckets.get(key, [])
            found += self.wild
        return [c for c in found if any(intersects(c[0], cube) for cube in cubes)]


def _profiles(checked, errors) -> None:
    """Members and group sizes of action profiles against their P4Info sizes."""
    counts = {}
    for member in checked.members:
        counts.setdefault(member.profile, []).append(member)
    for profile, members in counts.items():
        info = checked.names.action_profile(profile)
        if info.size and len(members) > info.size:
            errors.error(f"action profile {profile} holds {info.size} members but the file "
                         f"needs {len(members)}", members[info.size].rule.loc)
    for group in checked.groups:
        info = checked.names.action_profile(group.profile)
        if info.max_group_size and len(group.members) > info.max_group_size:
            errors.error(f"a group of {group.profile} holds at most {info.max_group_size} "
                         f"members; this one has {len(group.members)}", group.rule.loc)
