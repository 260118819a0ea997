"""Controller roles: which exist, and the packet I/O each may do, as the P4 program declares.

The role model (docs/internals.md, "Roles"):

- The default role "" has full pipeline access (P4Runtime spec, "Default Role"): it writes
  and reads everything, sets the pipeline, sends any packet-out and receives every packet-in,
  digest and idle-timeout notification.
- A named role exists only when the P4Info names it: `@p4runtime_role("R")` on an object
  (table, extern, digest, value set) makes the object R's; `@p4runtime_role_packet_in("R", v,
  ...)` and `@p4runtime_role_packet_out("R", v, ...)` on controller header fields give R packet
  I/O. Any other name is unknown, and refused.
- R writes and reads its own objects only, and receives their digests and idle-timeout
  notifications (entities.py, server.py).
- R receives a packet-in only if, for every packet_in field annotated
  `@p4runtime_role_packet_in("R", ...)`, the field holds one of the listed values; with no such
  field, R receives none. R may send a packet-out only if, for every packet_out field annotated
  `@p4runtime_role_packet_out("R", ...)`, the field holds one of the listed values; with no such
  field, R may send none (PERMISSION_DENIED, spec "Packet I/O").
- `Role.config` is accepted and ignored, as PI does: a client cannot widen its own rights; the
  program decides. (Stratum's P4RoleConfig carries the same two things, receives_packet_ins with
  a packet_in_filter on metadata values, in the client's hands instead.)
"""
import re

from p4nic.nic.p4runtime.errors import invalid

PACKET_IN = "p4runtime_role_packet_in"
PACKET_OUT = "p4runtime_role_packet_out"
ANNOTATION = re.compile(r"@(\w+)\s*\((.*)\)\s*$", re.S)
# an argument: a string, or an integer literal as P4 writes it (8w4, 0x04, 4)
ARGUMENT = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|(?:\d+[ws])?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|'
                      r'0[oO][0-7_]+|[0-9_]+))\s*(?:,|$)')


def parse_arguments(text: str) -> list:
    """The arguments of an annotation body: str for strings, int for integer literals."""
    out, position = [], 0
    while position < len(text):
        found = ARGUMENT.match(text, position)
        if found is None or found.end() == position:
            raise ValueError(text[position:].strip())
        string, number = found.groups()
        out.append(string if string is not None else int(number.replace("_", ""), 0))
        position = found.end()
    return out


def header_rules(header, annotation: str) -> dict:
    """role -> [(field position, allowed values)] declared by `annotation` on the fields of one
    ControllerPacketMetadata (None: no such header)."""
    rules: dict = {}
    if header is None:
        return rules
    for position, field in enumerate(header.metadata):
        for text in field.annotations:
            found = ANNOTATION.match(text.strip())
            if found is None or found.group(1) != annotation:
                continue
            try:
                role, *values = parse_arguments(found.group(2))
            except ValueError:
                role, values = None, []
            if not isinstance(role, str) or not role or not values or \
                    not all(isinstance(v, int) for v in values):
                raise invalid(f"{header.preamble.name}.{field.name}: {text} must name a role "
                              "and the field values it allows, e.g. "
                              f'@{annotation}("guest", 1)')
            rules.setdefault(role, []).append((position, frozenset(values)))
    return rules


class RoleRules:
    """The roles of one P4Info and the packet I/O rules of each."""

    def __init__(self, p4info, object_roles: set):
        headers = {h.preamble.name: h for h in p4info.controller_packet_metadata}
        self.packet_in = header_rules(headers.get("packet_in"), PACKET_IN)
        self.packet_out = header_rules(headers.get("packet_out"), PACKET_OUT)
        self.names = {"", *object_roles, *self.packet_in, *self.packet_out}

    def receives(self, role: str, values: list) -> bool:
        """Whether `role` gets a packet-in whose packet_in fields hold `values`."""
        if role == "":
            return True
        rules = self.packet_in.get(role)
        return rules is not None and all(values[p] in allowed for p, allowed in rules)

    def may_send(self, role: str) -> bool:
        """Whether `role` may send packet-outs at all."""
        return role == "" or role in self.packet_out

    def refusal(self, role: str, values: list, names: list) -> str | None:
        """Why `role` (one that `may_send`) may not send a packet-out whose packet_out fields
        hold `values` (None: it may); `names` are the field names, for the message."""
        for position, allowed in self.packet_out.get(role, ()):
            if values[position] not in allowed:
                listed = ", ".join(map(str, sorted(allowed)))
                return (f"role '{role}' may send packet-outs with {names[position]} in "
                        f"{{{listed}}} only, not {values[position]}")
        return None
