"""Connections: what the engine tracks for a flow, their states and timeouts.

A `Connection` holds both keys of a flow (original: its first packet's; reply: what the other
side's packets look like after translation), the state machine (`tcp.TcpTracker`, or a
`DatagramTracker` for UDP, ICMP and other IP protocols: UNREPLIED until the reply side is seen),
the services' decisions (firewall verdict and NAT rewrite per side, SNAT port, LB backend) and
per-side packet/byte counters, counted as a NIC's direct counter counts them.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property

from p4nic.runtime.nicdefs import CT_STATE_ESTABLISHED, CT_STATE_NEW
from p4nic.runtime.services.flows import (ICMP_ANSWER_TYPES, ICMP_ANSWERS, IPPROTO_TCP,
                                          IPPROTO_UDP, FlowKey)
from p4nic.runtime.services.packets import Packet, Rewrite
from p4nic.runtime.services.tcp import ACCEPT, ORIGINAL, REPLY, TcpState, TcpTracker

__all__ = ["ORIGINAL", "REPLY", "ENDED", "GUEST", "Connection", "DatagramState",
           "DatagramTracker", "Direction", "Timeouts", "open_tracker", "restored_tracker"]

GUEST = "guest"          # Connection.tier while the engine serves the flow
ENDED = "ended"          # Connection.tier once the engine has forgotten it


class Direction(IntEnum):
    """Where a packet comes from, as meta.dir: RX from the uplink, TX from the guest."""
    RX = 0
    TX = 1


class DatagramState(IntEnum):
    UNREPLIED = 1
    REPLIED = 2


@dataclass(frozen=True)
class Timeouts:
    """Seconds a connection may stay idle in each state (Linux nf_conntrack's defaults)."""
    tcp_syn_sent: float = 120.0
    tcp_syn_recv: float = 60.0
    tcp_established: float = 432000.0
    tcp_fin_wait: float = 120.0
    tcp_close_wait: float = 60.0
    tcp_last_ack: float = 30.0
    tcp_time_wait: float = 120.0
    tcp_close: float = 10.0
    udp_unreplied: float = 30.0
    udp_replied: float = 120.0
    icmp: float = 30.0
    other: float = 600.0

    @cached_property
    def tcp(self) -> dict:
        return {state: getattr(self, f"tcp_{state.name.lower()}") for state in TcpState}


class DatagramTracker:
    """UDP, ICMP and other protocols: a connection is REPLIED once the reply side sends."""
    __slots__ = ("state", "proto", "reason")
    alive = True

    def __init__(self, proto: int, state: DatagramState = DatagramState.UNREPLIED):
        self.proto = proto
        self.state = state
        self.reason = ""

    @property
    def ct_state(self) -> int:
        return CT_STATE_ESTABLISHED if self.state == DatagramState.REPLIED else CT_STATE_NEW

    def update(self, side: int, frame: bytes, l4: int, end: int) -> int:
        if side == REPLY:
            self.state = DatagramState.REPLIED
        return ACCEPT

    def timeout(self, timeouts: Timeouts) -> float:
        if self.proto == IPPROTO_UDP:
            replied = self.state == DatagramState.REPLIED
            return timeouts.udp_replied if replied else timeouts.udp_unreplied
        return timeouts.icmp if self.proto in ICMP_ANSWERS else timeouts.other


def open_tracker(frame: bytes, packet: Packet, key: FlowKey):
    """The tracker of a new connection opened by this packet, or the reason it opens none."""
    if packet.proto == IPPROTO_TCP:
        return TcpTracker.opening(frame, packet.l4, packet.end)
    if key.sport in ICMP_ANSWER_TYPES.get(key.proto, ()):
        return "ICMP answer to no tracked query"
    return DatagramTracker(packet.proto)


def restored_tracker(proto: int, ct_state: int, counters: tuple, closed: bool = False):
    """The tracker of a connection a NIC gives back. A NIC keeps the ct_state it was written
    with (a flow offloaded at its SYN stays CT_STATE_NEW there), so its counters tell more:
    replies mean the reply side has sent, and for TCP, replies plus a second packet from the
    original side mean the handshake is complete. `closed`: the NIC reported the TCP
    connection's FIN or RST and its close has gone quiet: it is in TIME_WAIT."""
    (sent, _), (replied, _) = counters
    if proto == IPPROTO_TCP and closed:
        return TcpTracker.picked_up(TcpState.TIME_WAIT)
    if proto == IPPROTO_TCP:
        if ct_state == CT_STATE_ESTABLISHED or (replied and sent >= 2):
            return TcpTracker.picked_up(TcpState.ESTABLISHED)
        return TcpTracker.picked_up(TcpState.SYN_RECV if replied else TcpState.SYN_SENT)
    established = ct_state == CT_STATE_ESTABLISHED or replied > 0
    return DatagramTracker(proto, DatagramState.REPLIED if established else
                           DatagramState.UNREPLIED)


class Connection:
    """One tracked flow. `packets`/`bytes` are per side (ORIGINAL, REPLY); `tier` is where the
    flow is served ("guest", or whatever the offload manager marks: "vnic", "pnic")."""
    __slots__ = ("key", "reply_key", "packed", "tracker", "opened", "allowed", "rewrites",
                 "snat", "backend", "decided_by", "blocker", "packets", "bytes", "last_seen",
                 "timeout", "tier")

    def __init__(self, key: FlowKey, reply_key: FlowKey | None, tracker,
                 opened: Direction | None, allowed: tuple, rewrites: tuple, now: float,
                 timeouts: Timeouts, *,
                 snat=None, backend=None, decided_by: tuple = ("", "")):
        self.key = key
        self.reply_key = reply_key
        self.packed = (key.to_bytes(), reply_key.to_bytes() if reply_key else None)
        self.tracker = tracker
        self.opened = opened                # the first packet's direction (None: restored)
        self.allowed = allowed              # firewall verdict per side
        self.rewrites: tuple[Rewrite | None, Rewrite | None] = rewrites
        self.snat = snat                    # nat.SnatBinding holding a pool's port, or None
        self.backend = backend              # policy.Backend the load balancer chose, or None
        self.decided_by = decided_by        # per side: the firewall rule (or default) that decided
        self.blocker = ""                   # why the flow cannot go to a NIC ("" if it can)
        self.packets = [0, 0]
        self.bytes = [0, 0]
        self.last_seen = now
        self.timeout = tracker.timeout(timeouts)
        self.tier = GUEST

    @property
    def state(self):
        """TcpState, or DatagramState for the other protocols."""
        return self.tracker.state

    @property
    def ct_state(self) -> int:
        return self.tracker.ct_state

    @property
    def denied(self) -> bool:
        return not self.allowed[ORIGINAL]

    def counters(self, side: int) -> tuple:
        """(packets, bytes) of one side."""
        return self.packets[side], self.bytes[side]

    def __repr__(self) -> str:
        return (f"<Connection {self.key} {self.state.name} ct_state={self.ct_state} "
                f"tier={self.tier}>")
