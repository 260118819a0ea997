"""Would a NIC stage treat a flow differently before and after its NAT? The offload manager asks
before it moves a translated flow between tiers.

Where a flow's NAT happens moves with the flow: in the guest, the VNIC's services stage
(after classify, filter and acl) or the PNIC's. A stage that runs on one side of the NAT in one
tier and on the other side in the next sees different addresses and ports. The move keeps every
packet's treatment only if each such stage matches the flow's key before and after translation
alike; `distinguishing_entries` finds the entries that do not, so the manager can keep the flow
where it is and say why (docs/offload.md, "Which flows move").

Keys are given by P4Info match-field name (e.g. "meta.dst_addr", "hdr.eth.dstAddr") as ints;
fields absent from both keys are the same on both sides of the NAT and never distinguish.
"""
from __future__ import annotations

from p4.config.v1 import p4info_pb2

from p4nic.runtime.values import decode

# The first-packet criterion is a register read at the flow hash, which NAT changes.
FIRST_PACKET_FIELD = "meta.is_first"


def _field_matches(field_match, kind: int, width: int, value: int) -> bool:
    if kind == p4info_pb2.MatchField.EXACT:
        return decode(field_match.exact.value) == value
    if kind == p4info_pb2.MatchField.TERNARY:
        mask = decode(field_match.ternary.mask)
        return value & mask == decode(field_match.ternary.value) & mask
    if kind == p4info_pb2.MatchField.LPM:
        plen = field_match.lpm.prefix_len
        mask = ((1 << plen) - 1) << (width - plen)
        return value & mask == decode(field_match.lpm.value) & mask
    if kind == p4info_pb2.MatchField.RANGE:
        return decode(field_match.range.low) <= value <= decode(field_match.range.high)
    if kind == p4info_pb2.MatchField.OPTIONAL:
        return decode(field_match.optional.value) == value
    return True


def _matches(entry, fields: dict, key: dict) -> bool:
    """Does `entry` match `key` on the fields `key` names (a field the entry leaves out is a
    wildcard)?"""
    for field_match in entry.match:
        info = fields.get(field_match.field_id)
        if info is not None and info.name in key:
            if not _field_matches(field_match, info.match_type, info.bitwidth, key[info.name]):
                return False
    return True


def distinguishing_entries(table: p4info_pb2.Table, entries, before: dict,
                           after: dict) -> list:
    """The entries of `table` that match the flow on one side of its translation and not on
    the other: `before` and `after` are the key values the NAT changes (other fields are equal
    on both sides, so they cannot tell the two apart)."""
    changed = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    if not changed:
        return []
    fields = {f.id: f for f in table.match_fields}
    before = {name: value for name, value in before.items() if name in changed}
    after = {name: value for name, value in after.items() if name in changed}
    return [entry for entry in entries
            if _matches(entry, fields, before) != _matches(entry, fields, after)]


def first_packet_entries(table: p4info_pb2.Table, entries) -> list:
    """Entries that need the first-packet bit: its register is indexed by the flow hash, so
    they tell a flow before its NAT from the same flow after it."""
    ids = {f.id for f in table.match_fields if f.name == FIRST_PACKET_FIELD}
    return [entry for entry in entries
            if any(m.field_id in ids and decode(m.ternary.mask) for m in entry.match)]
