"""Stable priorities: a rule whose priority comes from its position keeps the one it has on the NIC.

A block's rules get priorities from their order (the first PRIORITY_BASE, the next one less,
check.py), so deleting a rule from the middle of a block would renumber every rule below it
and make `apply` delete and re-insert them all, with a moment between the two in which packets
meet neither. What matters to the NIC is only the order, so before diffing, `plan` lets each
positional rule keep the priority it is installed with, when that keeps the file's order:

- per table, the declared entries are grouped by the priority the file gave them (one rule
  becomes one or more entries of one priority); a group whose every entry is installed as
  declared (owned, same action) under one common priority q may keep q;
- of those, the longest run whose q strictly fall in the file's order keeps them (longest
  decreasing subsequence); every other group gets a priority in the gap between its kept
  neighbours (just below the one above; above the first kept one, or below the last, next to
  it), so removing a rule deletes exactly its entries and a rule added at the end or the top
  is one insert;
- if some gap is too narrow for the groups it must hold (a rule inserted between two rules
  whose priorities are consecutive), the table keeps the file's own numbering.

Explicit `priority N` is never touched: only entries marked `DesiredEntity.positional` move.
"""
from __future__ import annotations

from bisect import bisect_left

from p4nic.proto import p4runtime_pb2

from p4nic.dsl.installed import entry_key, is_owned

MAX_PRIORITY = 2 ** 31 - 1


def keep_installed(declared: list, installed_entries: dict, same) -> list:
    """`declared` ([(desired, entity, data)]) with positional entries re-prioritised where
    `installed_entries` (entry_key -> installed Entity) allows; `same(desired_te,
    installed_te)` says whether an installed entry is the declared one but for priority."""
    by_match = {}                       # (table id, match) -> [installed TableEntry]
    for (table_id, _, match), entity in installed_entries.items():
        if is_owned(entity.table_entry):
            by_match.setdefault((table_id, match), []).append(entity.table_entry)
    tables = {}                         # table id -> {declared priority: [index]}
    for index, (desired, entity, _) in enumerate(declared):
        if desired.positional:
            te = entity.table_entry
            tables.setdefault(te.table_id, {}).setdefault(te.priority, []).append(index)
    declared = list(declared)
    for groups in tables.values():
        order = sorted(groups, reverse=True)
        held = [_held_priority([declared[i][1].table_entry for i in groups[p]], by_match, same)
                for p in order]
        chosen = _assign(held)
        if chosen is None:
            continue
        for wanted, priority in zip(order, chosen):
            if priority == wanted:
                continue
            for index in groups[wanted]:
                desired, entity, _ = declared[index]
                moved = p4runtime_pb2.Entity()
                moved.CopyFrom(entity)
                moved.table_entry.priority = priority
                declared[index] = (desired, moved, moved.SerializeToString())
    return declared


def _held_priority(entries: list, by_match: dict, same):
    """The one priority under which every entry of a group is installed as declared, or None."""
    found = None
    for te in entries:
        key = entry_key(te)
        candidates = {held.priority for held in by_match.get((key[0], key[2]), ())
                      if same(te, held)}
        found = candidates if found is None else found & candidates
        if not found:
            return None
    return max(found) if found else None


def _assign(held: list):
    """Priorities for groups in the file's order (highest first): the installed ones of the
    longest strictly decreasing run of `held`, the others in the gaps; None if a gap is full."""
    kept = _longest_decreasing(held)
    chosen = [held[i] if i in kept else None for i in range(len(held))]
    if not kept:
        return None
    index = 0
    while index < len(chosen):
        if chosen[index] is not None:
            index += 1
            continue
        end = index
        while end < len(chosen) and chosen[end] is None:
            end += 1
        count = end - index
        above = chosen[index - 1] if index > 0 else None
        below = chosen[end] if end < len(chosen) else 0
        if above is None:                    # above the first kept group, next to it
            top = below + count
            if top > MAX_PRIORITY:
                return None
        else:                                # just below the kept group above
            if above - below - 1 < count:
                return None
            top = above - 1
        for offset in range(count):
            chosen[index + offset] = top - offset
        index = end
    return chosen


def _longest_decreasing(values: list) -> set:
    """Indices of a longest strictly decreasing subsequence of the non-None `values`."""
    tails, tail_index, previous = [], [], {}
    for i, value in enumerate(values):
        if value is None:
            continue
        position = bisect_left(tails, -value)    # strictly decreasing = strictly increasing negated
        if position == len(tails):
            tails.append(-value)
            tail_index.append(i)
        else:
            tails[position] = -value
            tail_index[position] = i
        previous[i] = tail_index[position - 1] if position > 0 else None
    kept, i = set(), tail_index[-1] if tail_index else None
    while i is not None:
        kept.add(i)
        i = previous[i]
    return kept
