"""P4Runtime entities as a person reads them: tables, fields, actions and params by name.

    describer = Describer(p4info)
    describer.key(entity)      # "VnicIngress.filters  ip_ver=4 dport=80  priority 10"
    describer.action(entity)   # "filter_to_queue(queue=2)"
    describer.describe(entity) # both, joined by " -> "

Values are shown the way the pipelines' users write them: MAC addresses for 48-bit values,
IPv4/IPv6 addresses for address fields and params (an IPv4 address zero-extended into a
128-bit field, as p4src/ keeps them, reads as IPv4), small numbers in decimal, others in hex.
Ids the P4Info does not know are shown as `#id`, never an error: a NIC may hold anything.
"""
from __future__ import annotations

import ipaddress

from p4nic.runtime.p4info import P4InfoError, P4InfoNames
from p4nic.runtime.values import decode

ADDRESS_WORDS = ("addr", "ip", "sip", "dip")
MAC_WORDS = ("mac", "smac", "dmac")
DECIMAL_LIMIT = 1 << 16


def format_value(data: bytes, bitwidth: int, name: str = "") -> str:
    """A bytestring as the value a person would write for a field or param called `name`."""
    number = decode(data)
    lowered = name.lower().rsplit(".", 1)[-1]
    if bitwidth == 48 or any(word in lowered for word in MAC_WORDS):
        text = f"{number:012x}"
        return ":".join(text[i:i + 2] for i in range(0, 12, 2))
    if bitwidth >= 32 and any(word in lowered for word in ADDRESS_WORDS):
        if number < 1 << 32:
            return str(ipaddress.IPv4Address(number))
        if number < 1 << 128:
            return str(ipaddress.IPv6Address(number))
    if number < DECIMAL_LIMIT:
        return str(number)
    return hex(number)


class Describer:
    """One-line descriptions of entities for one P4Info."""

    def __init__(self, p4info):
        self.names = p4info if isinstance(p4info, P4InfoNames) else P4InfoNames(p4info)

    def _object(self, object_id: int):
        try:
            return self.names.by_id(object_id)
        except P4InfoError:
            return None

    def _name(self, object_id: int) -> str:
        found = self._object(object_id)
        return found.preamble.name if found is not None else f"#{object_id}"

    # -- keys -------------------------------------------------------------------------------

    def key(self, entity) -> str:
        """What identifies the entity on the NIC (a table entry's table, match and priority)."""
        kind = entity.WhichOneof("entity")
        if kind == "table_entry":
            return self._table_key(entity.table_entry)
        if kind == "action_profile_member":
            member = entity.action_profile_member
            return f"{self._name(member.action_profile_id)} member {member.member_id}"
        if kind == "action_profile_group":
            group = entity.action_profile_group
            return f"{self._name(group.action_profile_id)} group {group.group_id}"
        if kind == "packet_replication_engine_entry":
            pre = entity.packet_replication_engine_entry
            if pre.HasField("clone_session_entry"):
                return f"clone session {pre.clone_session_entry.session_id}"
            return f"multicast group {pre.multicast_group_entry.multicast_group_id}"
        return kind or "empty entity"

    def _table_key(self, entry) -> str:
        table = self._object(entry.table_id)
        name = table.preamble.name if table is not None else f"#{entry.table_id}"
        if entry.is_default_action:
            return f"{name}  default entry"
        fields = {f.id: f for f in table.match_fields} if table is not None else {}
        parts = [self._field_match(fm, fields.get(fm.field_id)) for fm in entry.match]
        text = f"{name}  " + (" ".join(parts) if parts else "(matches everything)")
        if entry.priority:
            text += f"  priority {entry.priority}"
        return text

    @staticmethod
    def _field_match(fm, info) -> str:
        name = info.name if info is not None else f"#{fm.field_id}"
        width = info.bitwidth if info is not None else 0
        kind = fm.WhichOneof("field_match_type")
        if kind == "exact":
            return f"{name}={format_value(fm.exact.value, width, name)}"
        if kind == "optional":
            return f"{name}={format_value(fm.optional.value, width, name)}"
        if kind == "lpm":
            return f"{name}={format_value(fm.lpm.value, width, name)}/{fm.lpm.prefix_len}"
        if kind == "ternary":
            value = format_value(fm.ternary.value, width, name)
            if width and decode(fm.ternary.mask) == (1 << width) - 1:
                return f"{name}={value}"
            return f"{name}={value}&&&{format_value(fm.ternary.mask, width, name)}"
        if kind == "range":
            return (f"{name}={format_value(fm.range.low, width, name)}.."
                    f"{format_value(fm.range.high, width, name)}")
        return f"{name}=?"

    # -- what the entity does -----------------------------------------------------------------

    def action(self, entity) -> str:
        """What the entity does: a table entry's action, a member's action, a group's members,
        a multicast group's replicas."""
        kind = entity.WhichOneof("entity")
        if kind == "table_entry":
            entry = entity.table_entry
            if entry.is_default_action and not entry.HasField("action"):
                return "the program's default action"
            return self._table_action(entry.action)
        if kind == "action_profile_member":
            return self._action(entity.action_profile_member.action)
        if kind == "action_profile_group":
            members = [str(m.member_id) if m.weight in (0, 1) else f"{m.member_id}x{m.weight}"
                       for m in entity.action_profile_group.members]
            size = entity.action_profile_group.max_size
            return "members " + (", ".join(members) or "none") + (f" (max {size})" if size else "")
        if kind == "packet_replication_engine_entry":
            pre = entity.packet_replication_engine_entry
            group = (pre.clone_session_entry if pre.HasField("clone_session_entry")
                     else pre.multicast_group_entry)
            replicas = [f"port {r.egress_port}" + (f"/{r.instance}" if r.instance else "")
                        for r in group.replicas]
            return "replicas " + (", ".join(replicas) or "none")
        return ""

    def _table_action(self, table_action) -> str:
        which = table_action.WhichOneof("type")
        if which == "action":
            return self._action(table_action.action)
        if which == "action_profile_member_id":
            return f"member {table_action.action_profile_member_id}"
        if which == "action_profile_group_id":
            return f"group {table_action.action_profile_group_id}"
        if which == "action_profile_action_set":
            return "one of [" + ", ".join(
                self._action(a.action) for a in table_action.action_profile_action_set
                .action_profile_actions) + "]"
        return "no action"

    def _action(self, action) -> str:
        info = self._object(action.action_id)
        if info is None:
            return f"#{action.action_id}(" + ", ".join(
                f"#{p.param_id}={decode(p.value)}" for p in action.params) + ")"
        params = {p.id: p for p in info.params}
        shown = []
        for param in action.params:
            spec = params.get(param.param_id)
            name = spec.name if spec is not None else f"#{param.param_id}"
            width = spec.bitwidth if spec is not None else 0
            shown.append(f"{name}={format_value(param.value, width, name)}")
        return f"{info.preamble.name}({', '.join(shown)})"

    def describe(self, entity) -> str:
        action = self.action(entity)
        return self.key(entity) + (f" -> {action}" if action else "")

