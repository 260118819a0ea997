"""Real conversations through a running host, opened from the physical network's side.

    p4nic traffic                     # 2 TCP and 2 UDP conversations of 5 exchanges each
    p4nic traffic --tcp 20 --udp 0 --packets 50

A peer on the uplink (the PNIC's port 0, on the packet socket `p4nic up` exposes for it)
opens TCP connections — handshake, data echoed by the guest, close — and sends UDP datagrams
the guest echoes, all at once, interleaved, so their flows move between tiers while they run
(`p4nic status --watch` shows it). Frames are tunnelled as the file's PNIC expects them from its
remote tunnel endpoint; answers are read back the same way. It reports, per conversation, what
was sent, what came back, and what was lost.

The Python API is `Traffic(wire, Uplink(...)).run(tcp=, udp=, packets=)`.
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import sys
import time
from dataclasses import dataclass, field

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from p4nic.runtime.tunnels import decapsulate, encapsulate

UPLINK_PORT = 0


@dataclass
class Uplink:
    """How the peer's frames look on the PNIC's uplink: tunnelled (`vni` set) from the remote
    endpoint, or plain; the peer's and the guest's inner addresses."""
    peer_mac: str = "02:00:00:00:0b:01"
    peer_ip: str = "10.0.0.1"
    guest_mac: str = "02:00:00:00:0a:01"
    guest_ip: str = "10.0.0.2"
    vni: int | None = None
    kind: str = "geneve"
    remote_mac: str = "02:00:00:00:00:02"     # the remote endpoint (outer source)
    remote_ip: str = "192.0.2.2"
    local_mac: str = "02:00:00:00:00:01"      # the PNIC's endpoint (outer destination)
    local_ip: str = "192.0.2.1"

    def wrap(self, inner: bytes) -> bytes:
        if self.vni is None:
            return inner
        return bytes(encapsulate(inner, self.kind, self.vni, outer_smac=self.remote_mac,
                                 outer_dmac=self.local_mac, sip=self.remote_ip,
                                 dip=self.local_ip))

    @staticmethod
    def unwrap(frame: bytes) -> bytes:
        tunnel = decapsulate(frame)
        return tunnel.inner if tunnel is not None else frame


@dataclass
class Conversation:
    """One flow's exchanges: what was sent and answered, and the round trips."""
    proto: str
    sport: int
    dport: int
    sent: int = 0
    answered: int = 0
    rtts: list = field(default_factory=list)
    seq: int = 1000
    their_seq: int = 0
    step: int = 0
    done: bool = False
    wrong: int = 0            # answers that do not echo what was sent

    @property
    def lost(self) -> int:
        return self.sent - self.answered


def _answers(asked, answer) -> bool:
    """Is `answer` the guest's reply to `asked`: from where it was sent, to its sender, echoing
    its payload (a SYN or FIN is answered by a SYN-ACK or FIN-ACK)?"""
    if answer[IP].dst != asked[IP].src or answer[IP].src != asked[IP].dst:
        return False
    layer = TCP if TCP in asked else UDP
    if answer[layer].sport != asked[layer].dport or answer[layer].dport != asked[layer].sport:
        return False
    if layer is UDP:
        return bytes(answer[UDP].payload) == bytes(asked[UDP].payload)
    flags = int(asked[TCP].flags)
    if flags & 0x03:
        return int(answer[TCP].flags) & (flags & 0x03) != 0
    return bytes(answer[TCP].payload) == bytes(asked[TCP].payload)


class Traffic:
    """Drives conversations over a PacketWire dialled to the host's uplink."""

    def __init__(self, wire, uplink: Uplink, timeout: float = 5.0):
        self.wire = wire
        self.uplink = uplink
        self.timeout = timeout

    def run(self, tcp: int = 2, udp: int = 2, packets: int = 5, sport: int = 42000,
            dport: int = 80, udp_dport: int = 53) -> list:
        conversations = ([Conversation("tcp", sport + i, dport) for i in range(tcp)]
                         + [Conversation("udp", sport + tcp + i, udp_dport) for i in range(udp)])
        for _ in self.rounds(conversations, packets):
            pass
        return conversations

    def rounds(self, conversations: list, packets: int):
        """Run the conversations a round at a time: each sends its next frame, then every
        answer is awaited. Yields after each round [(conversation, what it sent)] so a caller
        can look at the host between rounds (the demo does)."""
        for _ in range(packets + 3):          # TCP: SYN, data..., FIN, and the final ACK
            waiting, sent = {}, []
            for conv in conversations:
                frame, expects, what = self._next(conv, packets)
                if frame is None:
                    continue
                self.wire.send(UPLINK_PORT, self.uplink.wrap(frame))
                conv.sent += expects
                sent.append((conv, what))
                if expects:
                    waiting[(conv.proto, conv.sport)] = (conv, time.monotonic(), frame)
            self._collect(waiting)
            if not sent:
                return
            yield sent

    def _next(self, conv: Conversation, packets: int):
        """The conversation's next frame, whether an answer is expected (0 or 1), and what it
        is in words."""
        u = self.uplink
        ip = Ether(src=u.peer_mac, dst=u.guest_mac) / IP(src=u.peer_ip, dst=u.guest_ip)
        if conv.done:
            return None, 0, ""
        if conv.proto == "udp":
            if conv.step >= packets:
                conv.done = True
                return None, 0, ""
            conv.step += 1
            payload = f"datagram {conv.step}".encode()
            return bytes(ip / UDP(sport=conv.sport, dport=conv.dport) / payload), 1, "datagram"
        segment = dict(sport=conv.sport, dport=conv.dport, seq=conv.seq, ack=conv.their_seq,
                       window=65535)
        if conv.step == 0:
            segment.update(flags="S", ack=0)
            conv.step += 1
            return bytes(ip / TCP(**segment)), 1, "SYN"
        if conv.step <= packets:
            payload = f"request {conv.step}".encode()
            conv.step += 1
            return bytes(ip / TCP(flags="PA", **segment) / payload), 1, "data"
        if conv.step == packets + 1:
            conv.step += 1
            return bytes(ip / TCP(flags="FA", **segment)), 1, "FIN"
        conv.done = True          # acknowledge the guest's FIN
        return bytes(ip / TCP(flags="A", **segment)), 0, "ACK"

    def _collect(self, waiting: dict) -> None:
        deadline = time.monotonic() + self.timeout
        while waiting and time.monotonic() < deadline:
            for _, frame in self.wire.receive(timeout=0.05, port=UPLINK_PORT):
                packet = Ether(self.uplink.unwrap(frame))
                if TCP in packet:
                    key = ("tcp", packet[TCP].dport)
                elif UDP in packet:
                    key = ("udp", packet[UDP].dport)
                else:
                    continue
                found = waiting.pop(key, None)
                if found is None:
                    continue
                conv, sent_at, asked = found
                conv.answered += 1
                if not _answers(Ether(asked), packet):
                    conv.wrong += 1
                conv.rtts.append(time.monotonic() - sent_at)
                if TCP in packet:
                    tcp = packet[TCP]
                    conv.seq = tcp.ack
                    conv.their_seq = tcp.seq + len(bytes(tcp.payload)) \
                        + (1 if int(tcp.flags) & 0x03 else 0)


def _mac(value: int) -> str:
    return ":".join(f"{b:02x}" for b in value.to_bytes(6, "big"))


def _ip(value: int) -> str:
    return str(ipaddress.IPv4Address(value))


def uplink_of(model, pnic: str | None, vf: int | None) -> Uplink:
    """The peer's view of the uplink, from the host file's PNIC: its first tunnel gives the VNI,
    both endpoints and the peer's inner MAC; the policy rule that forwards to the VNIC's VF by
    destination MAC gives the guest's MAC."""
    uplink = Uplink()
    if pnic is None:
        return uplink
    for entry in model.table_entries(pnic, "encap.tunnel")[:1]:
        params = entry.params
        uplink.vni = params["vni"]
        uplink.kind = "vxlan" if entry.action.endswith("vxlan") else "geneve"
        uplink.local_mac, uplink.remote_mac = _mac(params["smac"]), _mac(params["dmac"])
        uplink.local_ip, uplink.remote_ip = _ip(params["sip"]), _ip(params["dip"])
        uplink.peer_mac = _mac(entry.match["hdr.eth.dstAddr"][0])
    for entry in model.table_entries(pnic, "policy"):
        guest = entry.match.get("hdr.eth.dstAddr")
        if entry.params.get("port") == vf and guest is not None:
            uplink.guest_mac = _mac(guest[0])
            break
    return uplink


def main(argv=None) -> int:
    from rich.console import Console
    from rich.table import Table

    from p4nic.runtime.up import running_host
    from p4nic.runtime.wire import PacketSocketError, PacketWire
    parser = argparse.ArgumentParser(prog="p4nic traffic", description=__doc__.split("\n")[0])
    parser.add_argument("host", nargs="?", help="the host's name (default: the one that is up)")
    parser.add_argument("--tcp", type=int, default=2, metavar="N", help="TCP conversations")
    parser.add_argument("--udp", type=int, default=2, metavar="N", help="UDP conversations")
    parser.add_argument("--packets", type=int, default=5, metavar="N",
                        help="exchanges per conversation")
    parser.add_argument("--port", type=int, default=80, help="the guest's TCP port")
    parser.add_argument("--guest-ip", metavar="IP", help="the address to talk to")
    parser.add_argument("--json", action="store_true", help="the report as JSON")
    options = parser.parse_args(argv)
    try:
        described = running_host(options.host)
    except ValueError as exc:
        print(f"p4nic traffic: {exc}", file=sys.stderr)
        return 1
    from p4nic.dsl import load
    uplink = uplink_of(load(described["file"]), described.get("pnic"), described.get("vf"))
    if options.guest_ip:
        uplink.guest_ip = options.guest_ip
    socket = described["nics"][described["pnic"] or described["vnic"]]["packet_socket"]
    try:
        wire = PacketWire(socket)
    except PacketSocketError as exc:
        print(f"p4nic traffic: {exc}", file=sys.stderr)
        return 1
    with wire:
        conversations = Traffic(wire, uplink).run(options.tcp, options.udp, options.packets,
                                                  dport=options.port)
    lost = sum(c.lost + c.wrong for c in conversations)
    if options.json:
        print(json.dumps([{"proto": c.proto, "sport": c.sport, "dport": c.dport,
                           "sent": c.sent, "answered": c.answered, "lost": c.lost,
                           "wrong": c.wrong}
                          for c in conversations]))
    else:
        table = Table(title=f"traffic through {described['host']}")
        for column in ("flow", "sent", "answered", "lost", "median RTT"):
            table.add_column(column)
        for c in conversations:
            rtts = sorted(c.rtts)
            median = f"{rtts[len(rtts) // 2] * 1000:.1f} ms" if rtts else "-"
            table.add_row(f"{c.proto} {uplink.peer_ip}:{c.sport} → {uplink.guest_ip}:{c.dport}",
                          str(c.sent), str(c.answered), str(c.lost), median)
        Console().print(table)
    return 1 if lost else 0
