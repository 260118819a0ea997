"""Flow keys as the NIC's services stage sees them, and `FlowMatch` compiled for new flows.

A flow key is `{ip_ver, src_addr, dst_addr, proto, sport, dport}`, the exact key of
`services.flow_table` (docs/pipelines.md, "Flow key"): ICMP and ICMPv6 put their type and code
in sport and dport, other protocols without ports have 0 there. The engine's packet path keys
its connection table by the same fields packed into bytes (`FlowKey.to_bytes`), built straight
from frame slices by `packets.parse`.
"""
from __future__ import annotations

import ipaddress
from typing import Callable, NamedTuple

from p4nic.runtime.services.policy import FlowMatch
from p4nic.runtime.values import to_int

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58
PORT_PROTOCOLS = (IPPROTO_TCP, IPPROTO_UDP)

# ICMP queries and the type their answer has (RFC 792, RFC 4443): a query opens a connection
# whose reply side is keyed with the answer's type.
ICMP_ANSWERS = {
    IPPROTO_ICMP: {8: 0, 13: 14, 15: 16, 17: 18},
    IPPROTO_ICMPV6: {128: 129},
}
ICMP_ANSWER_TYPES = {proto: frozenset(answers.values()) for proto, answers in ICMP_ANSWERS.items()}

ADDRESS_BYTES = {4: 4, 6: 16}
PROTOCOL_NAMES = {IPPROTO_ICMP: "icmp", IPPROTO_TCP: "tcp", IPPROTO_UDP: "udp",
                  IPPROTO_ICMPV6: "icmpv6"}
MATCH_FIELDS = ("ip_ver", "src_addr", "dst_addr", "proto", "sport", "dport")


class FlowKey(NamedTuple):
    """One direction of a flow; addresses are ints (IPv4 or IPv6 by ip_ver)."""
    ip_ver: int
    src: int
    dst: int
    proto: int
    sport: int
    dport: int

    def to_bytes(self) -> bytes:
        """The connection table's key: ip_ver, proto, src, dst, sport, dport packed."""
        size = ADDRESS_BYTES[self.ip_ver]
        return (bytes((self.ip_ver, self.proto)) + self.src.to_bytes(size, "big")
                + self.dst.to_bytes(size, "big") + self.sport.to_bytes(2, "big")
                + self.dport.to_bytes(2, "big"))

    @classmethod
    def from_bytes(cls, packed: bytes) -> "FlowKey":
        size = ADDRESS_BYTES[packed[0]]
        return cls(packed[0], int.from_bytes(packed[2:2 + size], "big"),
                   int.from_bytes(packed[2 + size:2 + 2 * size], "big"), packed[1],
                   int.from_bytes(packed[-4:-2], "big"), int.from_bytes(packed[-2:], "big"))

    @classmethod
    def from_fields(cls, fields: dict) -> "FlowKey":
        """A key from `services.flow_table` match fields or a `flow_event_t` digest sample
        (values as ints, address strings or bytes)."""
        missing = [name for name in MATCH_FIELDS if name not in fields]
        if missing:
            raise ValueError(f"a flow key needs {', '.join(MATCH_FIELDS)}; missing "
                             f"{', '.join(missing)}")
        values = {name: to_int(fields[name], f"flow key field {name}") for name in MATCH_FIELDS}
        if values["ip_ver"] not in ADDRESS_BYTES:
            raise ValueError(f"flow key ip_ver must be 4 or 6, not {values['ip_ver']}")
        key = cls(values["ip_ver"], values["src_addr"], values["dst_addr"], values["proto"],
                  values["sport"], values["dport"])
        limit = 1 << (8 * ADDRESS_BYTES[key.ip_ver])
        if key.src >= limit or key.dst >= limit or key.proto > 255 or key.sport > 0xFFFF \
                or key.dport > 0xFFFF:
            raise ValueError(f"flow key field out of range for IPv{key.ip_ver}: {fields}")
        return key

    def match_fields(self) -> dict:
        """The key as `services.flow_table` match fields (EntityBuilder.table_entry)."""
        return {"ip_ver": self.ip_ver, "src_addr": str(self.address(self.src)),
                "dst_addr": str(self.address(self.dst)), "proto": self.proto,
                "sport": self.sport, "dport": self.dport}

    def address(self, value: int):
        return ipaddress.IPv4Address(value) if self.ip_ver == 4 else ipaddress.IPv6Address(value)

    @property
    def has_ports(self) -> bool:
        return self.proto in PORT_PROTOCOLS

    def __str__(self) -> str:
        name = PROTOCOL_NAMES.get(self.proto, f"proto {self.proto}")
        src, dst = self.address(self.src), self.address(self.dst)
        if self.ip_ver == 6:
            src, dst = f"[{src}]", f"[{dst}]"
        if self.has_ports:
            return f"{name} {src}:{self.sport} → {dst}:{self.dport}"
        if self.proto in ICMP_ANSWERS:
            return f"{name} {src} → {dst} type {self.sport} code {self.dport}"
        return f"{name} {src} → {dst}"


def reply_of(key: FlowKey) -> FlowKey:
    """The key the other side's packets of a connection have: addresses swapped, ports swapped,
    an ICMP query's type turned into its answer's."""
    if key.has_ports:
        return FlowKey(key.ip_ver, key.dst, key.src, key.proto, key.dport, key.sport)
    answer = ICMP_ANSWERS.get(key.proto, {}).get(key.sport, key.sport)
    return FlowKey(key.ip_ver, key.dst, key.src, key.proto, answer, key.dport)


def compile_match(match: FlowMatch) -> Callable[[FlowKey], bool]:
    """A predicate for `match`; a network of the other address family never matches."""
    tests = []
    if match.ip_ver is not None:
        tests.append(lambda key, v=match.ip_ver: key.ip_ver == v)
    for network, attribute in ((match.src, "src"), (match.dst, "dst")):
        if network is not None:
            tests.append(_network_test(network, attribute))
    if match.proto is not None:
        tests.append(lambda key, p=match.proto: key.proto == p)
    for ranges, attribute in ((match.sport, "sport"), (match.dport, "dport")):
        if ranges is not None:
            tests.append(_ports_test(tuple(ranges), attribute))
    tests = tuple(tests)
    return lambda key: all(test(key) for test in tests)


def _network_test(network, attribute: str) -> Callable[[FlowKey], bool]:
    network = ipaddress.ip_network(network)
    version, base, mask = network.version, int(network.network_address), int(network.netmask)
    if attribute == "src":
        return lambda key: key.ip_ver == version and key.src & mask == base
    return lambda key: key.ip_ver == version and key.dst & mask == base


def _ports_test(ranges: tuple, attribute: str) -> Callable[[FlowKey], bool]:
    index = FlowKey._fields.index(attribute)
    return lambda key: any(low <= key[index] <= high for low, high in ranges)
