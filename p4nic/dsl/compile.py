"""Checked NICs -> `model.NicEntries`: P4Runtime entities built with EntityBuilder.

Order (deterministic, and one that can be written as is): multicast groups, action-profile
members, groups, then table entries in the order the file's statements produced them, then
the default entries the file sets. Every table entry (defaults too) and multicast group
carries `OWNER_COOKIE` as its metadata, which is how plan/apply knows what the file owns.
"""
from __future__ import annotations

import ipaddress

from p4nic.proto import p4info_pb2

from p4nic.dsl.model import OWNER_COOKIE, DesiredEntity, NicEntries
from p4nic.runtime.entities import EntityBuilder, as_entity

_EXACT, _LPM, _TERNARY, _RANGE, _OPTIONAL = (p4info_pb2.MatchField.EXACT,
                                             p4info_pb2.MatchField.LPM,
                                             p4info_pb2.MatchField.TERNARY,
                                             p4info_pb2.MatchField.RANGE,
                                             p4info_pb2.MatchField.OPTIONAL)


def nic_entries(checked) -> NicEntries:
    builder = EntityBuilder(checked.names.p4info)
    kinds = {}
    entities = []
    for group in checked.multicast:
        message = builder.multicast_group(group.group_id, group.ports)
        message.metadata = OWNER_COOKIE
        entities.append(DesiredEntity(as_entity(message), group.rule.origin))
    for member in checked.members:
        message = builder.action_profile_member(member.profile, member.member_id,
                                                member.action, member.params)
        entities.append(DesiredEntity(as_entity(message), member.rule.origin))
    for group in checked.groups:
        message = builder.action_profile_group(group.profile, group.group_id, group.members)
        entities.append(DesiredEntity(as_entity(message), group.rule.origin))
    for entry in _ordered(checked):
        if entry.default:
            entity = builder.table_entity(entry.table, action=entry.action,
                                          params=entry.params, default=True)
        else:
            table_kinds = kinds.get(entry.table)
            if table_kinds is None:
                info = checked.names.table(entry.table)
                table_kinds = kinds[entry.table] = {mf.name: (mf.match_type, mf.bitwidth)
                                                    for mf in info.match_fields}
            match = {name: _written(cube, *table_kinds[name])
                     for name, cube in entry.match.items()}
            if entry.group_id is not None:
                entity = builder.table_entity(entry.table, match, group_id=entry.group_id,
                                              priority=entry.priority)
            else:
                entity = builder.table_entity(entry.table, match, entry.action, entry.params,
                                              priority=entry.priority)
        entity.table_entry.metadata = OWNER_COOKIE
        entities.append(DesiredEntity(entity, entry.rule.origin, not entry.default and (
            entry.priority in checked.positional.get(entry.table, ()))))
    return NicEntries(checked.target, entities,
                      frozenset(checked.managed_defaults), frozenset(checked.managed_profiles))


def _ordered(checked) -> list:
    """Table entries first, then the default entries (each group in the file's order)."""
    return ([e for e in checked.entries if not e.default]
            + [e for e in checked.entries if e.default])


def summaries(checked) -> list:
    """One line per entity of `nic_entries(checked)`, in the same order, for people:
    `table: field=value ... priority P -> action(param=value)`."""
    lines = [f"multicast group {g.group_id}: ports {', '.join(map(str, g.ports))}"
             for g in checked.multicast]
    def call(action, params):
        widths = {p.name: p.bitwidth for p in checked.names.action(action).params}
        args = ", ".join(f"{name}={_number(name, value, widths.get(name, 0))}"
                         for name, value in params.items())
        return f"{action}({args})"

    lines += [f"{m.profile} member {m.member_id} -> {call(m.action, m.params)}"
              for m in checked.members]
    lines += [f"{g.profile} group {g.group_id}: members {', '.join(map(str, g.members))}"
              for g in checked.groups]
    widths = {}
    for entry in _ordered(checked):
        if entry.default:
            lines.append(f"{entry.table}: default -> {call(entry.action, entry.params)}")
            continue
        if entry.table not in widths:
            widths[entry.table] = {mf.name: mf.bitwidth
                                   for mf in checked.names.table(entry.table).match_fields}
        key = " ".join(f"{name.rsplit('.', 1)[-1]}={_value(name, cube, widths[entry.table][name])}"
                       for name, cube in entry.match.items()) or "any"
        priority = f" priority {entry.priority}" if entry.priority is not None else ""
        target = f"group {entry.group_id}" if entry.group_id is not None else \
            call(entry.action, entry.params)
        lines.append(f"{entry.table}: {key}{priority} -> {target}")
    return lines


def _number(name: str, value: int, width: int) -> str:
    if width == 48:
        return _mac(value)
    if width == 32 and ("ip" in name.lower() or "addr" in name.lower()):
        return str(ipaddress.IPv4Address(value))
    return str(value)


def _mac(value: int) -> str:
    return ":".join(f"{value:012x}"[i:i + 2] for i in range(0, 12, 2))


def _prefix(care: int, width: int):
    """The prefix length of a care mask over `width` bits, or None if it is no prefix."""
    ones = bin(care).count("1")
    return ones if care == ((1 << ones) - 1) << (width - ones) else None


def _value(name: str, cube, width: int) -> str:
    """A match value as a person writes it: 10.0.0.0/8, 02:00:00:00:00:01, 80, 0x10&&&0x10."""
    if cube[0] == "range":
        return f"{cube[1]}..{cube[2]}"
    value, care = cube
    full = (1 << width) - 1
    address = "addr" in name.rsplit(".", 1)[-1].lower()
    if address and width >= 32 and care <= 0xFFFFFFFF and _prefix(care, 32) is not None:
        length = _prefix(care, 32)
        text = str(ipaddress.IPv4Address(value))
        return text if length == 32 else f"{text}/{length}"
    if address and width == 128 and _prefix(care, 128) is not None:
        length = _prefix(care, 128)
        text = str(ipaddress.IPv6Address(value))
        return text if length == 128 else f"{text}/{length}"
    if address and width == 48:
        return _mac(value) if care == full else f"{_mac(value)}&&&{_mac(care)}"
    if care == full:
        return str(value)
    return f"{value:#x}&&&{care:#x}"


def _written(cube, kind, width):
    """A checked match value in the form EntityBuilder takes for the field's match kind."""
    if kind == _RANGE:
        return (cube[1], cube[2])
    value, care = cube
    if kind == _TERNARY:
        return (value, care)
    if kind == _LPM:
        return (value, bin(care).count("1"))
    return value          # exact, optional: one value
