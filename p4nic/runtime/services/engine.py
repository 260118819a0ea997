"""`GuestServices`: the guest's stateful services in software, the reference the NICs match.

    services = GuestServices(policy)                 # policy.ServicePolicy
    result = services.process(frame, Direction.RX)   # a packet the VNIC punted
    if result.verdict is Verdict.FORWARD: ...send result.frame back (packet-out)
    if result.offload_ready: ...write services.flow_entries(result.connection) to the VNIC

A new flow meets the services in the policy's order — firewall (on the key as it arrives),
then load balancing or else destination NAT, then source NAT — and gets a `Connection` whose
decisions every later packet reuses: one dict lookup on the flow key, the state machine, and a
precomputed rewrite. The direction a packet comes from is recorded but decides nothing,
because a NIC's flow-table key has no direction either.

Counters count every packet that finds its connection, dropped or not, by its full frame
length, as a NIC's direct counter does. A connection whose idle time passes its state's
timeout ends (on its next packet, or `expire()`), except while the offload manager has it on a
NIC (`offloaded`): then the NIC's idle timeout and FIN/RST digest decide, and the manager
calls `restore` (the flow falls back, with its NIC state) or `end`.
"""
from __future__ import annotations

import dataclasses
import time
from enum import Enum
from typing import NamedTuple

from p4nic.runtime.nicdefs import (CT_STATE_ESTABLISHED, CT_STATE_INVALID,
                                   CT_STATE_UNTRACKED)
from p4nic.runtime.services.conntrack import (ENDED, GUEST, ORIGINAL, REPLY, Connection,
                                              Direction, Timeouts, open_tracker,
                                              restored_tracker)
from p4nic.runtime.services.entries import (FlowEntry, flow_entries, offload_blocker,
                                            read_entries, translated_key)
from p4nic.runtime.services.firewall import RuleSet
from p4nic.runtime.services.flows import FlowKey, reply_of
from p4nic.runtime.services.lb import LoadBalancers
from p4nic.runtime.services.nat import DestinationNats, SourceNats
from p4nic.runtime.services.packets import NOT_IP, Packet, Rewrite, parse
from p4nic.runtime.services.policy import ServicePolicy
from p4nic.runtime.services.tcp import REOPEN
from p4nic.runtime.values import to_int

TIERS = ("vnic", "pnic")
DIRECTIONS = frozenset(Direction)


class Verdict(Enum):
    FORWARD = "forward"
    DROP = "drop"


FORWARD, DROP = Verdict.FORWARD, Verdict.DROP


class Result(NamedTuple):
    """What the services did with one packet.

    frame: the packet as it leaves, rewritten as the NIC would (None: dropped). connection:
    None when untracked (not IP) or refused before a connection existed. side: ORIGINAL or
    REPLY, the side of the connection that sent it. ct_state: CT_STATE_* after this packet
    (CT_STATE_INVALID for a packet no state accepts). offload_ready: the policy says hand the
    flow to the VNIC now. reason: why it was dropped or left untracked ("" otherwise)."""
    verdict: Verdict
    frame: bytes | None
    connection: Connection | None
    side: int | None
    ct_state: int
    offload_ready: bool
    reason: str


class GuestServices:
    """Connection tracking, firewall, NAT and load balancing for one guest. Not thread-safe:
    call it from one thread, or hold one lock around every call."""

    def __init__(self, policy: ServicePolicy, clock=time.monotonic,
                 timeouts: Timeouts = Timeouts()):
        self.policy = policy
        self.clock = clock
        self.timeouts = timeouts
        self.firewall = RuleSet(policy.firewall)
        self.dnat = DestinationNats(policy.dnat)
        self.snat = SourceNats(policy.snat)
        self.balancers = LoadBalancers(policy.load_balancers)
        self._table: dict = {}        # packed flow key -> (Connection, side)
        self.set_offload(policy.offload)

    def set_offload(self, offload) -> None:
        """Take a new OffloadPolicy (its criteria decide `offload_ready` from now on); the
        firewall, NAT and load balancers stay as they were built."""
        self.policy = dataclasses.replace(self.policy, offload=offload)
        self._to_vnic = (offload.to_vnic_after_packets, offload.to_vnic_when_established)
        self._criteria = {"vnic": self._to_vnic,
                          "pnic": (offload.to_pnic_after_packets, offload.to_pnic_when_established)}

    # -- the packet path ----------------------------------------------------------------------

    def process(self, frame: bytes, direction: Direction) -> Result:
        """Run one packet (a whole Ethernet frame) through the services."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be Direction.RX or Direction.TX, not {direction!r}")
        if frame.__class__ is not bytes:
            frame = bytes(frame)
        packet = parse(frame)
        if packet.__class__ is not Packet:
            if packet is NOT_IP:
                return Result(FORWARD, frame, None, None, CT_STATE_UNTRACKED, False, packet)
            return Result(DROP, None, None, None, CT_STATE_INVALID, False, packet)
        now = self.clock()
        hit = self._table.get(packet.key)
        if hit is None:
            return self._open(frame, packet, direction, now)
        conn, side = hit
        if conn.tier == GUEST and now - conn.last_seen > conn.timeout:
            self.end(conn)
            return self._open(frame, packet, direction, now)
        if not conn.allowed[side]:
            conn.packets[side] += 1
            conn.bytes[side] += len(frame)
            conn.last_seen = now
            return Result(DROP, None, conn, side, conn.ct_state, self._ready(conn),
                          conn.decided_by[side])
        tracker = conn.tracker
        state = tracker.state
        verdict = tracker.update(side, frame, packet.l4, packet.end)
        if verdict == REOPEN:
            self.end(conn)
            return self._open(frame, packet, direction, now)
        conn.packets[side] += 1
        conn.bytes[side] += len(frame)
        if verdict:
            return Result(DROP, None, conn, side, CT_STATE_INVALID, False, tracker.reason)
        conn.last_seen = now
        if tracker.state != state:
            conn.timeout = tracker.timeout(self.timeouts)
        rewrite = conn.rewrites[side]
        out = frame if rewrite is None else rewrite.apply(frame, packet)
        return Result(FORWARD, out, conn, side, tracker.ct_state, self._ready(conn), "")

    def _open(self, frame: bytes, packet: Packet, direction, now: float) -> Result:
        """A packet of no tracked connection: open one, or say why not."""
        direction = Direction(direction)
        key = FlowKey.from_bytes(packet.key)
        tracker = open_tracker(frame, packet, key)
        if isinstance(tracker, str):
            return Result(DROP, None, None, None, CT_STATE_INVALID, False, tracker)
        allowed, decided_by = self.firewall.verdict(key)
        if not allowed:
            conn = Connection(key, None, tracker, direction, (False, False), (None, None), now,
                              self.timeouts, decided_by=(decided_by, ""))
            self._insert(conn, frame)
            return Result(DROP, None, conn, ORIGINAL, conn.ct_state, self._ready(conn),
                          decided_by)
        translated, backend, problem = self.balancers.translate(key)
        if backend is None and not problem:
            translated, _ = self.dnat.translate(key)
        binding = None
        if not problem:
            translated, binding, problem = self._source_nat(translated)
        reply_key = reply_of(translated)
        if not problem and (reply_key == key or reply_key.to_bytes() in self._table):
            problem = f"the reply key {reply_key} belongs to another connection"
        if problem:
            if binding is not None:
                binding.release()
            return Result(DROP, None, None, None, tracker.ct_state, False, problem)
        reply_allowed, reply_decided_by = self.firewall.reply_verdict(reply_key)
        rewrites = (self._forward_rewrite(key, translated, backend),
                    self._backward_rewrite(key, translated, reply_key))
        conn = Connection(key, reply_key, tracker, direction, (True, reply_allowed), rewrites,
                          now, self.timeouts, snat=binding, backend=backend,
                          decided_by=(decided_by, reply_decided_by))
        conn.blocker = offload_blocker(conn)
        self._insert(conn, frame)
        rewrite = rewrites[ORIGINAL]
        out = frame if rewrite is None else rewrite.apply(frame, packet)
        return Result(FORWARD, out, conn, ORIGINAL, conn.ct_state, self._ready(conn), "")

    def _source_nat(self, key: FlowKey) -> tuple:
        """SourceNats.translate; when it fails, idle connections may still hold what it needs
        (their timeout passed, but no packet of theirs came to end them): end them, retry."""
        translated, binding, problem = self.snat.translate(key, self._reply_free)
        if problem and self.expire():
            translated, binding, problem = self.snat.translate(key, self._reply_free)
        return translated, binding, problem

    def _reply_free(self, translated: FlowKey) -> bool:
        return reply_of(translated).to_bytes() not in self._table

    @staticmethod
    def _forward_rewrite(key: FlowKey, translated: FlowKey, backend) -> Rewrite | None:
        if translated == key and backend is None:
            return None
        dmac = to_int(backend.mac, "backend MAC") if backend is not None else None
        return Rewrite(key.ip_ver, translated.src, translated.dst, translated.sport,
                       translated.dport, dmac)

    @staticmethod
    def _backward_rewrite(key: FlowKey, translated: FlowKey, reply_key: FlowKey):
        """The reply side's packets get the original side's addresses and ports back."""
        if translated == key:
            return None
        if key.has_ports:
            return Rewrite(key.ip_ver, key.dst, key.src, key.dport, key.sport)
        return Rewrite(key.ip_ver, key.dst, key.src, reply_key.sport, reply_key.dport)

    def _insert(self, conn: Connection, frame: bytes | None = None) -> None:
        self._table[conn.packed[ORIGINAL]] = (conn, ORIGINAL)
        if conn.reply_key is not None:
            self._table[conn.packed[REPLY]] = (conn, REPLY)
        if frame is not None:
            conn.packets[ORIGINAL] += 1
            conn.bytes[ORIGINAL] += len(frame)

    # -- offload ------------------------------------------------------------------------------

    def _ready(self, conn: Connection) -> bool:
        """Result.offload_ready: ready_to_offload(conn, "vnic") for a flow the guest serves."""
        if conn.tier != GUEST or conn.blocker:
            return False
        after_packets, when_established = self._to_vnic
        tracker = conn.tracker
        if not tracker.alive:
            return False
        if after_packets is not None and conn.packets[0] + conn.packets[1] >= after_packets:
            return True
        return when_established and tracker.ct_state == CT_STATE_ESTABLISHED

    def ready_to_offload(self, conn: Connection, tier: str = "vnic") -> bool:
        """The policy's criteria for moving the flow to `tier` ("vnic" or "pnic") hold: after
        N packets (both sides), or once established. Never for a flow no action reproduces
        (conn.blocker) nor for a TCP connection in TIME_WAIT or CLOSE."""
        after_packets, when_established = self._criteria[tier]
        if conn.blocker or not conn.tracker.alive:
            return False
        if after_packets is not None and sum(conn.packets) >= after_packets:
            return True
        return when_established and conn.ct_state == CT_STATE_ESTABLISHED

    def flow_entries(self, conn: Connection) -> list:
        """The `services.flow_table` entries reproducing the connection (entries.FlowEntry);
        entries.NotOffloadable when none can."""
        return flow_entries(conn)

    def offloaded(self, conn: Connection, tier: str) -> None:
        """The offload manager put the flow on `tier`: the engine stops timing it out."""
        if tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")
        conn.tier = tier

    def restore(self, entries, closed: bool = False) -> Connection:
        """A flow falling back from a NIC: its entries (FlowEntry, with the counters and CT
        state read back from the NIC) become the engine's connection again, replacing any it
        still had for those keys; its SNAT port is taken again from the pool that hands it
        out, and a load-balanced flow keeps its backend. `closed`: a TCP connection whose FIN or
        RST the NIC reported, its close finished there: it comes back in TIME_WAIT."""
        flow = read_entries(entries)
        for key in (flow.key, flow.reply_key):
            hit = self._table.get(key.to_bytes()) if key is not None else None
            if hit is not None:
                self.end(hit[0])
        rewrite, binding, backend = flow.rewrites[ORIGINAL], None, None
        if rewrite is not None:
            translated = translated_key(flow.key, rewrite)
            if translated.src != flow.key.src or translated.sport != flow.key.sport:
                binding = self.snat.reserve(translated)
            if rewrite.dmac is not None:
                backend = self.balancers.backend(flow.key.address(rewrite.dst), rewrite.dport,
                                                 rewrite.dmac)
        tracker = restored_tracker(flow.key.proto, flow.ct_state, flow.counters, closed)
        conn = Connection(flow.key, flow.reply_key, tracker, None, flow.allowed, flow.rewrites,
                          self.clock(), self.timeouts, snat=binding, backend=backend,
                          decided_by=("restored from a NIC",) * 2)
        conn.blocker = offload_blocker(conn)
        for side in (ORIGINAL, REPLY):
            conn.packets[side], conn.bytes[side] = flow.counters[side]
        self._insert(conn)
        return conn

    # -- connections --------------------------------------------------------------------------

    def find(self, key) -> Connection | None:
        """The connection either of whose sides has this key: a FlowKey, or flow-table match
        fields / a flow_event_t digest sample as a dict."""
        if not isinstance(key, FlowKey):
            key = FlowKey.from_fields(key)
        hit = self._table.get(key.to_bytes())
        return hit[0] if hit is not None else None

    def end(self, conn: Connection) -> Connection:
        """Forget the connection (a FIN/RST digest, an idle timeout, a NIC that went away) and
        give its SNAT port back. Its counters stay readable on the returned object."""
        for packed in conn.packed:
            if packed is not None and self._table.get(packed, (None,))[0] is conn:
                del self._table[packed]
        if conn.snat is not None:
            conn.snat.release()
            conn.snat = None
        conn.tier = ENDED
        return conn

    def expire(self) -> list:
        """End every connection served here whose idle time passed its state's timeout."""
        now = self.clock()
        expired = [conn for conn in self.connections()
                   if conn.tier == GUEST and now - conn.last_seen > conn.timeout]
        return [self.end(conn) for conn in expired]

    def connections(self) -> list:
        return [conn for conn, side in self._table.values() if side == ORIGINAL]

    def __len__(self) -> int:
        return sum(1 for _, side in self._table.values() if side == ORIGINAL)


__all__ = ["Direction", "FlowEntry", "GuestServices", "Result", "Verdict"]
