"""The match vocabulary: what `ether daddr`, `tcp dport`, `ct state`... mean on the NICs.

Each DSL field is one flow-key field of p4src/ (docs/pipelines.md, "Flow key"), named by the
suffix of its P4Info match field, so a table "can match" a DSL field exactly when its P4Info
key has that field. A match item (`tcp dport 80`) sets its field and implies others (`tcp`
is protocol 6); `match.py` combines them.
"""
from __future__ import annotations

from dataclasses import dataclass

from p4nic.runtime.nicdefs import (CT_STATE_ESTABLISHED, CT_STATE_INVALID, CT_STATE_NEW,
                                   CT_STATE_UNTRACKED)

# connection-tracking states as the flow table's svc_allow/svc_nat/svc_lb write them
# (meta.ct_state; the CT_STATE_* constants of p4src/include/headers.p4)
CT_STATES = {"untracked": CT_STATE_UNTRACKED, "new": CT_STATE_NEW,
             "established": CT_STATE_ESTABLISHED, "invalid": CT_STATE_INVALID}

ETHERTYPES = {"ip": 0x0800, "ipv4": 0x0800, "arp": 0x0806, "vlan": 0x8100, "ip6": 0x86DD,
              "ipv6": 0x86DD, "lldp": 0x88CC, "mpls": 0x8847, "qinq": 0x88A8, "rarp": 0x8035}
PROTOCOLS = {"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51,
             "icmpv6": 58, "sctp": 132}
ICMP_TYPES = {"echo-reply": 0, "destination-unreachable": 3, "redirect": 5,
              "echo-request": 8, "time-exceeded": 11, "parameter-problem": 12}
ICMPV6_TYPES = {"destination-unreachable": 1, "packet-too-big": 2, "time-exceeded": 3,
                "parameter-problem": 4, "echo-request": 128, "echo-reply": 129,
                "nd-router-solicit": 133, "nd-router-advert": 134,
                "nd-neighbor-solicit": 135, "nd-neighbor-advert": 136, "nd-redirect": 137}
DIRECTIONS = {"rx": 0, "tx": 1}


@dataclass(frozen=True)
class FieldSpec:
    name: str           # the P4 match-field suffix: "dst_addr" matches "meta.dst_addr"
    width: int
    kind: str           # how its values are read: int, mac, addr, ethertype, proto, ct, ...
    words: str          # how a rule says it, for messages


FIELDS = {f.name: f for f in (
    FieldSpec("profile", 8, "int", "(the stage's flow selection)"),
    FieldSpec("dir", 8, "int", "rx / tx"),
    FieldSpec("in_port", 9, "port", "in port / in vf"),
    FieldSpec("vni", 24, "int", "(the network's VNI)"),
    FieldSpec("dstAddr", 48, "mac", "ether daddr"),
    FieldSpec("srcAddr", 48, "mac", "ether saddr"),
    FieldSpec("vid", 12, "int", "vlan id"),
    FieldSpec("ethertype", 16, "ethertype", "ether type"),
    FieldSpec("is_first", 1, "int", "first-packet"),
    FieldSpec("is_arp", 1, "int", "arp"),
    FieldSpec("is_nd", 1, "int", "nd"),
    FieldSpec("is_dhcp", 1, "int", "dhcp"),
    FieldSpec("ip_ver", 8, "int", "ip / ip6"),
    FieldSpec("src_addr", 128, "addr", "ip saddr / ip6 saddr"),
    FieldSpec("dst_addr", 128, "addr", "ip daddr / ip6 daddr"),
    FieldSpec("proto", 8, "proto", "ip protocol / meta l4proto / tcp / udp"),
    FieldSpec("sport", 16, "int", "tcp/udp sport, icmp type"),
    FieldSpec("dport", 16, "int", "tcp/udp dport, icmp code"),
    FieldSpec("ct_state", 8, "ct", "ct state"),
)}

# P4Info match-field names differ in their prefix only (meta.dst_addr, hdr.eth.dstAddr).
P4_FIELD_PREFIXES = ("meta.", "hdr.eth.")


@dataclass(frozen=True)
class ItemField:
    """What `selector field` sets: the DSL field, how to read its values, what it implies."""
    field: str
    reader: str          # values.py reader: int, mac, ipv4, ipv6, ethertype, proto, ct, ...
    implies: tuple = ()  # ((field, value), ...)


_V4 = (("ip_ver", 4),)
_V6 = (("ip_ver", 6),)

# (selector, field word) -> ItemField; (selector, None) -> what the bare selector implies
ITEMS = {
    ("ether", "daddr"): ItemField("dstAddr", "mac"),
    ("ether", "saddr"): ItemField("srcAddr", "mac"),
    ("ether", "type"): ItemField("ethertype", "ethertype"),
    ("vlan", "id"): ItemField("vid", "int"),
    ("ip", "saddr"): ItemField("src_addr", "ipv4", _V4),
    ("ip", "daddr"): ItemField("dst_addr", "ipv4", _V4),
    ("ip", "protocol"): ItemField("proto", "proto", _V4),
    ("ip6", "saddr"): ItemField("src_addr", "ipv6", _V6),
    ("ip6", "daddr"): ItemField("dst_addr", "ipv6", _V6),
    ("ip6", "nexthdr"): ItemField("proto", "proto", _V6),
    ("tcp", "sport"): ItemField("sport", "int", (("proto", 6),)),
    ("tcp", "dport"): ItemField("dport", "int", (("proto", 6),)),
    ("udp", "sport"): ItemField("sport", "int", (("proto", 17),)),
    ("udp", "dport"): ItemField("dport", "int", (("proto", 17),)),
    ("icmp", "type"): ItemField("sport", "icmp", _V4 + (("proto", 1),)),
    ("icmp", "code"): ItemField("dport", "int", _V4 + (("proto", 1),)),
    ("icmpv6", "type"): ItemField("sport", "icmpv6", _V6 + (("proto", 58),)),
    ("icmpv6", "code"): ItemField("dport", "int", _V6 + (("proto", 58),)),
    ("meta", "l4proto"): ItemField("proto", "proto"),
    ("ct", "state"): ItemField("ct_state", "ct"),
    ("in", "port"): ItemField("in_port", "int"),
    ("in", "vf"): ItemField("in_port", "vf"),
}
BARE = {
    "ip": _V4, "ip6": _V6, "tcp": (("proto", 6),), "udp": (("proto", 17),),
    "icmp": _V4 + (("proto", 1),), "icmpv6": _V6 + (("proto", 58),),
    "rx": (("dir", 0),), "tx": (("dir", 1),),
}
IN_UPLINK = ("in_port", 0)

WORDS_BY_SELECTOR = {}
for (_selector, _word) in ITEMS:
    WORDS_BY_SELECTOR.setdefault(_selector, []).append(_word)
SELECTORS = sorted({s for s, _ in ITEMS} | set(BARE))
