"""Helpers for the service engine's tests: frames built with scapy, a TCP conversation that
keeps both ends' sequence numbers, a clock the test moves."""
import ipaddress

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

from p4nic.runtime.services import Direction, GuestServices, Verdict

DEADLINE = 30.0         # seconds to wait for what a NIC should produce: only a failing test waits
CLIENT_MAC = "00:00:00:00:0b:01"
SERVER_MAC = "00:00:00:00:0a:01"


class Clock:
    """An injected clock: tests move `now`."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def ip_layer(src, dst, ip_chksum=None, ip_flags=0, **fields):
    """IPv4 (with IP fields, and a forced header checksum) or IPv6, by address."""
    if ipaddress.ip_address(src).version == 6:
        return IPv6(src=src, dst=dst)
    layer = IP(src=src, dst=dst, flags=ip_flags, **fields)
    if ip_chksum is not None:
        layer.chksum = ip_chksum
    return layer


def frame(l3, l4, payload=b"", vlan=None, eth_src=CLIENT_MAC, eth_dst=SERVER_MAC) -> bytes:
    packet = Ether(src=eth_src, dst=eth_dst)
    if vlan is not None:
        packet = packet / Dot1Q(vlan=vlan)
    packet = packet / l3 / l4
    if payload:
        packet = packet / Raw(payload)
    return bytes(packet)


def tcp(src, dst, sport, dport, flags="S", seq=0, ack=0, window=65535, payload=b"",
        options=(), vlan=None, chksum=None, **ip_fields) -> bytes:
    l4 = TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=window,
             options=list(options))
    if chksum is not None:
        l4.chksum = chksum
    return frame(ip_layer(src, dst, **ip_fields), l4, payload, vlan)


def udp(src, dst, sport, dport, payload=b"", vlan=None, chksum=None, **ip_fields) -> bytes:
    l4 = UDP(sport=sport, dport=dport)
    if chksum is not None:
        l4.chksum = chksum
    return frame(ip_layer(src, dst, **ip_fields), l4, payload, vlan)


def icmp(src, dst, type=8, code=0, ident=1, seq=1, payload=b"", vlan=None) -> bytes:
    if ipaddress.ip_address(src).version == 6:
        l4 = (ICMPv6EchoRequest if type == 128 else ICMPv6EchoReply)(id=ident, seq=seq)
        return frame(IPv6(src=src, dst=dst), l4, payload, vlan)
    return frame(IP(src=src, dst=dst), ICMP(type=type, code=code, id=ident, seq=seq), payload,
                 vlan)


class TcpTalk:
    """A TCP conversation through `services`: the client sends from its address (RX by
    default), the server answers from the address the client's packets reach after NAT (taken
    from the connection's reply key) — both sides' sequence numbers kept, so each call only
    says flags and data. Explicit seq/ack override them for out-of-window tests."""

    def __init__(self, services: GuestServices, client=("10.0.0.1", 40000),
                 server=("10.0.0.2", 80), client_isn=1000, server_isn=5000,
                 direction=Direction.RX):
        self.services = services
        self.client_addr, self.server_addr = client, server
        self.next = {"client": client_isn, "server": server_isn}
        self.direction = direction
        self.connection = None

    def client(self, flags, payload=b"", **fields):
        src, dst = self.client_addr, self.server_addr
        return self._send("client", src, dst, flags, payload, self.direction, fields)

    def server(self, flags, payload=b"", **fields):
        key = self.connection.reply_key
        src = (str(key.address(key.src)), key.sport)
        dst = (str(key.address(key.dst)), key.dport)
        back = Direction.TX if self.direction == Direction.RX else Direction.RX
        return self._send("server", src, dst, flags, payload, back, fields)

    def _send(self, who, src, dst, flags, payload, direction, fields):
        other = "server" if who == "client" else "client"
        explicit = "seq" in fields
        seq = fields.pop("seq", self.next[who])
        ack = fields.pop("ack", self.next[other] if "A" in flags else 0)
        result = self.services.process(tcp(src[0], dst[0], src[1], dst[1], flags, seq, ack,
                                           payload=payload, **fields), direction)
        if result.connection is not None and self.connection is None:
            self.connection = result.connection
        if not explicit and result.verdict is Verdict.FORWARD:
            self.next[who] = (seq + len(payload) + ("S" in flags) + ("F" in flags)) & 0xFFFFFFFF
        return result
