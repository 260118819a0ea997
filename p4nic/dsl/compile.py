"""Checked NICs -> `model.NicEntries`: P4Runtime entities built with EntityBuilder.

Order (deterministic, and one that can be written as is): multicast groups, action-profile
members, groups, then table entries in the order the file's statements produced them, then
the default entries the file sets. Every table entry (defaults too) and multicast group
carries `OWNER_COOKIE` as its metadata, which is how plan/apply knows what the file owns.
"""
from __future__ import annotations

from p4.config.v1 import p4info_pb2

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
    defaults = []
    for entry in checked.entries:
        if entry.default:
            message = builder.table_entry(entry.table, action=entry.action,
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
                message = builder.table_entry(entry.table, match, group_id=entry.group_id,
                                              priority=entry.priority)
            else:
                message = builder.table_entry(entry.table, match, entry.action, entry.params,
                                              priority=entry.priority)
        message.metadata = OWNER_COOKIE
        desired = DesiredEntity(as_entity(message), entry.rule.origin)
        (defaults if entry.default else entities).append(desired)
    return NicEntries(checked.target, entities + defaults,
                      frozenset(checked.managed_defaults), frozenset(checked.managed_profiles))


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
