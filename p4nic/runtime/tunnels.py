"""Geneve and VXLAN frames exactly as p4src/include/encap.p4 writes them, and their reading.

Outer IPv4: no options, id 0, no flags, TTL 64, checksum set; outer UDP checksum 0. The
special-processing flag is the first Geneve option (class GENEVE_OPT_CLASS_P4NIC, type
GENEVE_OPT_TYPE_SPECIAL, no data) or bit VXLAN_FLAG_SPECIAL of the VXLAN flags byte.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from p4nic.runtime.nicdefs import (GENEVE_OPT_CLASS_P4NIC, GENEVE_OPT_TYPE_SPECIAL,
                                   UDP_PORT_GENEVE, UDP_PORT_VXLAN, VXLAN_FLAG_SPECIAL,
                                   VXLAN_FLAG_VNI)

ETHERTYPE_TEB = 0x6558


@dataclass
class Tunnel:
    kind: str            # "geneve" or "vxlan"
    vni: int
    special: bool
    inner: bytes


def tunnel_header(kind: str, vni: int, special: bool = False) -> bytes:
    """The 8-byte Geneve or VXLAN header (Geneve: 12 bytes with the special option)."""
    if kind == "geneve":
        header = struct.pack("!BBHI", 1 if special else 0, 0, ETHERTYPE_TEB, vni << 8)
        if special:
            header += struct.pack("!HBB", GENEVE_OPT_CLASS_P4NIC, GENEVE_OPT_TYPE_SPECIAL, 0)
        return header
    if kind == "vxlan":
        flags = VXLAN_FLAG_VNI | (VXLAN_FLAG_SPECIAL if special else 0)
        return struct.pack("!B3xI", flags, vni << 8)
    raise ValueError(f"unknown tunnel kind {kind!r} (geneve or vxlan)")


def encapsulate(inner, kind: str, vni: int, *, special: bool = False,
                outer_smac: str, outer_dmac: str, sip: str, dip: str,
                sport: int = 0xC000) -> Ether:
    """The outer frame carrying `inner` (bytes or a scapy packet)."""
    dport = UDP_PORT_GENEVE if kind == "geneve" else UDP_PORT_VXLAN
    return (Ether(src=outer_smac, dst=outer_dmac)
            / IP(src=sip, dst=dip, id=0, flags=0, ttl=64)
            / UDP(sport=sport, dport=dport, chksum=0)
            / Raw(tunnel_header(kind, vni, special) + bytes(inner)))


def decapsulate(frame: bytes) -> Tunnel | None:
    """Read a Geneve/VXLAN frame over IPv4; None if it is not one."""
    packet = Ether(bytes(frame))
    if UDP not in packet or packet[UDP].dport not in (UDP_PORT_GENEVE, UDP_PORT_VXLAN):
        return None
    data = bytes(packet[UDP].payload)
    if packet[UDP].dport == UDP_PORT_VXLAN:
        flags, vni = struct.unpack("!B3xI", data[:8])
        return Tunnel("vxlan", vni >> 8, bool(flags & VXLAN_FLAG_SPECIAL), data[8:])
    first, _, _, vni = struct.unpack("!BBHI", data[:8])
    options = (first & 0x3F) * 4
    special = False
    if options:
        opt_class, opt_type, _ = struct.unpack("!HBB", data[8:12])
        special = (opt_class, opt_type) == (GENEVE_OPT_CLASS_P4NIC, GENEVE_OPT_TYPE_SPECIAL)
    return Tunnel("geneve", vni >> 8, special, data[8 + options:])
