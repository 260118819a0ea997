"""The guest's own network stack, as much as traffic through a host needs: it answers.

`p4nic up` attaches it to the VNIC's queue ports (the vswitch hands it every frame the VNIC
delivers to the guest and carries its answers back into the VNIC), so a conversation opened
from the uplink side — `p4nic traffic`, `make demo`, a user's own scapy — gets real replies
through every tier:

- TCP: a SYN gets a SYN-ACK, data is acknowledged and echoed back, a FIN is answered with a
  FIN-ACK, a RST forgets the connection;
- UDP: every datagram is echoed back;
- ICMP echo requests are answered.

It answers whatever address the frame was sent to (after the NICs' NAT, the guest's own), from
the queue the frame arrived on, with the frame's MAC addresses swapped.
"""
from __future__ import annotations

import threading
import zlib

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw


class GuestApp:
    """Answers TCP, UDP and ICMP echo; `transmit(port, frame)` sends an answer out of the guest."""

    def __init__(self, transmit):
        self.transmit = transmit
        self._next_seq: dict = {}        # (src, dst, sport, dport) of the peer -> our next seq
        self._lock = threading.Lock()
        self.answered = 0

    def receive(self, port: int, frame: bytes) -> None:
        packet = Ether(frame)
        if IP not in packet:
            return
        ip = packet[IP]
        if TCP in packet:
            answer = self._tcp(ip, packet[TCP])
        elif UDP in packet:
            answer = IP(src=ip.dst, dst=ip.src) / UDP(sport=ip[UDP].dport, dport=ip[UDP].sport) \
                / bytes(ip[UDP].payload)
        elif ICMP in packet and ip[ICMP].type == 8:
            answer = IP(src=ip.dst, dst=ip.src) / ICMP(type=0, id=ip[ICMP].id, seq=ip[ICMP].seq) \
                / bytes(ip[ICMP].payload)
        else:
            return
        if answer is not None:
            self.answered += 1
            self.transmit(port, bytes(Ether(src=packet.dst, dst=packet.src) / answer))

    def _tcp(self, ip, tcp):
        conn = (ip.src, ip.dst, tcp.sport, tcp.dport)
        flags = int(tcp.flags)
        payload = bytes(tcp.payload)
        with self._lock:
            if flags & 0x04:                                   # RST
                self._next_seq.pop(conn, None)
                return None
            if flags & 0x02:                                   # SYN: a new connection
                iss = zlib.crc32(repr(conn).encode()) & 0xFFFFFFFF
                self._next_seq[conn] = (iss + 1) & 0xFFFFFFFF
                return self._segment(ip, tcp, "SA", iss, tcp.seq + 1)
            seq = self._next_seq.get(conn)
            if seq is None:
                return None
            ack = tcp.seq + len(payload)
            if flags & 0x01:                                   # FIN
                self._next_seq.pop(conn)
                return self._segment(ip, tcp, "FA", seq, ack + 1)
            if payload:                                        # data: acknowledge and echo
                self._next_seq[conn] = (seq + len(payload)) & 0xFFFFFFFF
                return self._segment(ip, tcp, "PA", seq, ack) / Raw(payload)
            return None

    @staticmethod
    def _segment(ip, tcp, flags: str, seq: int, ack: int):
        return IP(src=ip.dst, dst=ip.src) / TCP(sport=tcp.dport, dport=tcp.sport, flags=flags,
                                               seq=seq & 0xFFFFFFFF, ack=ack & 0xFFFFFFFF,
                                               window=65535)
