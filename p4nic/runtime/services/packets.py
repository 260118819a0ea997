"""Frames on the engine's packet path: the few fields it needs, read with slices and struct, and
NAT rewrites that produce the very bytes the NIC's services stage produces.

`parse` reads Ethernet, one VLAN tag, IPv4 or IPv6 and the TCP/UDP ports or ICMP type and code
into a `Packet` whose `key` is the connection table's key (flows.FlowKey.to_bytes). Like
p4src/include/parser.p4 it does not walk IPv6 extension headers (the key's proto is the first
next-header); unlike it, it reads the L4 header behind IPv4 options, because a packet with
options never matches a NIC flow entry and always reaches the engine.

`Rewrite.apply` writes addresses, ports and the destination MAC and then recomputes checksums
the way NicComputeChecksum does: the IPv4 header checksum, and the TCP/UDP checksum over the
pseudo header and the whole segment — always recomputed, never patched, so a wrong or absent
(UDP 0) checksum on input comes out as the NIC writes it.
"""
from __future__ import annotations

import struct
from typing import NamedTuple

from p4nic.nic.hashing import csum16_of_sum
from p4nic.runtime.services.flows import (ICMP_ANSWERS, IPPROTO_ICMPV6, IPPROTO_TCP,
                                          IPPROTO_UDP)

ETHERTYPE_IPV4 = b"\x08\x00"
ETHERTYPE_IPV6 = b"\x86\xdd"
ETHERTYPE_VLAN = b"\x81\x00"
IPV6_FRAGMENT = 44
NO_PORTS = b"\0\0\0\0"
L4_MINIMUM = {IPPROTO_TCP: 20, IPPROTO_UDP: 8}
CHECKSUM_OFFSET = {IPPROTO_TCP: 16, IPPROTO_UDP: 6, IPPROTO_ICMPV6: 2}
TCP_FIELDS = struct.Struct("!IIBBH")     # seq, ack, data offset, flags, window (at L4 + 4)

# Why a frame has no flow key: NOT_IP frames pass untracked, the others are dropped.
NOT_IP = "not an IP packet"
MALFORMED = "malformed IP packet (truncated, or lengths that disagree)"
FRAGMENT = "IP fragment (the engine does not reassemble)"


class Packet(NamedTuple):
    """Where a frame's headers are: IP header at l3, L4 header at l4, datagram end at end."""
    key: bytes
    ip_ver: int
    proto: int
    l3: int
    l4: int
    end: int


def parse(frame: bytes) -> Packet | str:
    """The frame's Packet, or the reason (NOT_IP, MALFORMED, FRAGMENT) it has none."""
    size = len(frame)
    ethertype = frame[12:14]
    l3 = 14
    if ethertype == ETHERTYPE_VLAN:
        ethertype = frame[16:18]
        l3 = 18
    if ethertype == ETHERTYPE_IPV4:
        if size < l3 + 20:
            return MALFORMED
        first = frame[l3]
        ihl = (first & 0x0F) * 4
        total = int.from_bytes(frame[l3 + 2:l3 + 4], "big")
        if first >> 4 != 4 or ihl < 20 or total < ihl or l3 + total > size:
            return MALFORMED
        if frame[l3 + 6] & 0x3F or frame[l3 + 7]:        # more fragments, or an offset
            return FRAGMENT
        ip_ver, proto, l4, end = 4, frame[l3 + 9], l3 + ihl, l3 + total
        addresses = frame[l3 + 12:l3 + 20]
    elif ethertype == ETHERTYPE_IPV6:
        if size < l3 + 40 or frame[l3] >> 4 != 6:
            return MALFORMED
        end = l3 + 40 + int.from_bytes(frame[l3 + 4:l3 + 6], "big")
        if end > size:
            return MALFORMED
        ip_ver, proto, l4 = 6, frame[l3 + 6], l3 + 40
        if proto == IPV6_FRAGMENT:
            return FRAGMENT
        addresses = frame[l3 + 8:l3 + 40]
    else:
        return NOT_IP
    if proto in L4_MINIMUM:
        if end - l4 < L4_MINIMUM[proto] or (proto == IPPROTO_TCP and not
                                             20 <= (frame[l4 + 12] >> 4) * 4 <= end - l4):
            return MALFORMED
        ports = frame[l4:l4 + 4]
    elif proto in ICMP_ANSWERS:
        if end - l4 < 4:
            return MALFORMED
        ports = bytes((0, frame[l4], 0, frame[l4 + 1]))
    else:
        ports = NO_PORTS
    return Packet(bytes((ip_ver, proto)) + addresses + ports, ip_ver, proto, l3, l4, end)


class Rewrite:
    """What one side of a translated connection becomes: source, destination, ports and
    (load balancing) destination MAC, with their bytes and checksum sums laid out once."""
    __slots__ = ("ip_ver", "src", "dst", "sport", "dport", "dmac", "_addresses",
                 "_addresses_sum", "_ports", "_dmac")

    def __init__(self, ip_ver: int, src: int, dst: int, sport: int, dport: int,
                 dmac: int | None = None):
        self.ip_ver, self.src, self.dst, self.sport, self.dport = ip_ver, src, dst, sport, dport
        self.dmac = dmac
        size = 4 if ip_ver == 4 else 16
        self._addresses = src.to_bytes(size, "big") + dst.to_bytes(size, "big")
        self._addresses_sum = int.from_bytes(self._addresses, "big")
        self._ports = sport.to_bytes(2, "big") + dport.to_bytes(2, "big")
        self._dmac = dmac.to_bytes(6, "big") if dmac is not None else None

    def __eq__(self, other) -> bool:
        return isinstance(other, Rewrite) and self.fields() == other.fields()

    __hash__ = None

    def fields(self) -> tuple:
        return (self.ip_ver, self.src, self.dst, self.sport, self.dport, self.dmac)

    def __repr__(self) -> str:
        return f"Rewrite{self.fields()}"

    def apply(self, frame: bytes, packet: Packet) -> bytes:
        """The frame rewritten. Checksums are summed from the pieces the frame keeps and the
        new values (hashing.csum16_of_sum), so the new frame is joined once."""
        l3, l4, end, proto = packet.l3, packet.l4, packet.end, packet.proto
        parts = [frame[:l3] if self._dmac is None else self._dmac + frame[6:l3]]
        # the pseudo header: addresses, protocol, L4 length (a 32-bit length for IPv6 sums
        # the same modulo 0xFFFF)
        pseudo = self._addresses_sum + proto + (end - l4)
        if packet.ip_ver == 4:
            kept, options = frame[l3:l3 + 10], frame[l3 + 20:l4]
            checksum = csum16_of_sum(int.from_bytes(kept, "big") + self._addresses_sum
                                     + int.from_bytes(options, "big"))
            parts += (kept, checksum.to_bytes(2, "big"), self._addresses, options)
        else:
            parts += (frame[l3:l3 + 8], self._addresses)
        if proto in L4_MINIMUM:
            at = l4 + CHECKSUM_OFFSET[proto]
            header, rest = frame[l4 + 4:at], frame[at + 2:end]
            number = (pseudo + self.sport + self.dport + int.from_bytes(header, "big")
                      + _padded(rest))
            parts += (self._ports, header)
        elif proto == IPPROTO_ICMPV6 and packet.ip_ver == 6:
            at = l4 + CHECKSUM_OFFSET[proto]
            header, rest = frame[l4:at], frame[at + 2:end]
            number = pseudo + int.from_bytes(header, "big") + _padded(rest)
            parts.append(header)
        else:                       # ICMP and the rest: no pseudo header to redo
            parts.append(frame[l4:])
            return b"".join(parts)
        parts += (csum16_of_sum(number).to_bytes(2, "big"), frame[at + 2:])
        return b"".join(parts)


def _padded(piece: bytes) -> int:
    """The last piece of checksummed data as a number, an odd byte padded with zero."""
    number = int.from_bytes(piece, "big")
    return number << 8 if len(piece) & 1 else number
