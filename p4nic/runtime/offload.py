"""The stateful-offload method running by itself (US20240039803A1, US20240036898A1,
US20240036904A1): a flow's services move guest -> VNIC -> PNIC and back, with their state,
and no packet is lost or treated differently on the way.

    manager = OffloadManager(engine, policy, vnic=..., pnic=..., guest=...)
    manager.start()        # the guest serves punts; flows move by the policy
    manager.snapshot()     # every flow: tier, state, counters, NAT, moves
    manager.stop()

Who does what. The guest runs the services in software (`GuestServices`) for every packet its
VNIC punts (`PuntServer`, over the guest's P4Runtime role). When the policy says so, the guest
hands the flow to its VNIC: it writes the flow's `services.flow_table` entries, under its own
role, starting their counters where its own stopped. The host (this manager, the default role
on both NICs) later hands the flow on to the PNIC when the PNIC has room and can treat it the
same, and back to the VNIC when the PNIC is full, gone, or the policy changes. A flow's FIN or
RST (the pipelines' `flow_event_t` digest) returns it to the guest, which sees the close through;
a flow idle past the policy's timeout is ended on every tier.

How a move keeps every packet served. Each side of a connection (original, reply) has a key as
its packets reach the services stage and an action (allow, deny, NAT, load balancing). The
VNIC runs its services after classify/filter/acl; the PNIC runs its services after its policy
and rewrites (docs/pipelines.md). A packet of an RX side (from the uplink) crosses the PNIC,
then the VNIC; a TX side's, the VNIC then the PNIC. So:

- RX side to the PNIC: (1) the VNIC learns the translated key as a pass-through entry
  (`svc_allow`): no packet carries it yet; (2) the PNIC takes the side's entry: from now on it
  translates, and the VNIC passes the result; (3) the VNIC's own entry still serves the packets
  that crossed the PNIC before (2); it is deleted once its counter has stood still for a while.
  A packet arriving even later finds no entry and goes to the guest, which still knows the
  flow and treats it the same.
- TX side to the PNIC: (1) the PNIC takes the side's entry: no packet matches it while the
  VNIC still translates; (2) the VNIC's entry becomes a pass-through (one MODIFY): the next
  packet leaves the VNIC untranslated and the PNIC translates it.
- Back to the VNIC: the same steps in the other order.
At every instant exactly one tier translates a side, and a packet that meets no entry meets
the guest.

Counting. Every packet of a flow crosses the VNIC, so the VNIC is where a flow is counted:
its total is what the guest served in software plus the hits of every VNIC entry that ever
served or passed it (each entry's counter minus the count it started from). An entry written
to a NIC starts from the flow's total so far, so the NIC's own counter shows the whole flow
too (the PNIC counts the frames it receives: tunnel headers included on RX).

Which flows move. A flow goes to a NIC only if it would be treated the same there: the stages
that would see it on the other side of its NAT must not tell the translated flow from the
untranslated one (translation_check). Otherwise it stays, and `snapshot` says why.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import grpc
from p4.v1 import p4runtime_pb2

from p4nic.runtime.connection import P4RuntimeClientError, WriteError
from p4nic.runtime.entities import EntityBuilder
from p4nic.runtime.services.conntrack import ORIGINAL, REPLY, Direction
from p4nic.runtime.services.entries import FlowEntry, NotOffloadable
from p4nic.runtime.services.flows import FlowKey
from p4nic.runtime.services.punt import PuntServer
from p4nic.runtime.translation_check import distinguishing_entries, first_packet_entries
from p4nic.runtime.values import to_int

log = logging.getLogger("p4nic.offload")

GUEST, VNIC, PNIC, ENDED = "guest", "vnic", "pnic", "ended"
FLOW_TABLE = "services.flow_table"
FLOW_DIGEST = "flow_event_t"
SIDES = ("original", "reply")
TRANSLATING = ("svc_nat", "svc_lb")
# Tables whose stages run before the VNIC's services (they see a flow untranslated in the
# guest and VNIC tiers), after them on TX, and before the PNIC's services on TX.
VNIC_BEFORE_SERVICES = ("classify", "slot_after_classify", "filters", "slot_after_filter",
                        "acl", "slot_after_acl")
VNIC_AFTER_SERVICES = ("slot_after_services", "slot_after_qselect", "special_criteria",
                       "tunnel", "slot_after_encap")
PNIC_BEFORE_SERVICES = ("special_criteria", "policy")
GUEST_BATCH = 256             # punts served before the guest writes what became ready
CLOSE_GRACE_S = 2.0           # a closing flow returns to the guest after this, quiet or not
QUIET_READS = 2               # a draining entry is deleted after this many unchanged reads
BLOCKED_RETRY_S = 1.0         # how often a flow kept in place is reconsidered
TABLES_TTL_S = 1.0            # how long the tables a move is checked against are trusted


@dataclass
class Move:
    at: float
    source: str
    target: str
    reason: str


@dataclass
class Installed:
    """One entry of a flow on a NIC: what it matches and does, and the count it started from."""
    nic: str
    side: int
    match: dict
    action: str
    params: dict
    preset: tuple = (0, 0)
    counter: tuple = (0, 0)            # last read
    quiet: int = 0                     # unchanged reads while draining

    def hits(self) -> tuple:
        return (self.counter[0] - self.preset[0], self.counter[1] - self.preset[1])


@dataclass
class PnicMove:
    """One flow's move to the PNIC, while it is being written."""
    flow: "Flow"
    on_pnic: dict                       # side -> Installed on the PNIC
    passing: dict                       # side -> Installed VNIC pass-through


@dataclass
class Flow:
    """What the host knows of one connection."""
    conn: object                        # the engine's services Connection
    rx_sides: frozenset                 # sides whose packets arrive from the uplink
    opened_at: float = 0.0              # when the guest saw its first packet (manager clock)
    tier: str = GUEST
    serving: dict = field(default_factory=dict)      # side -> Installed (on the tier's NIC)
    passing: dict = field(default_factory=dict)      # side -> Installed VNIC pass-through
    draining: list = field(default_factory=list)     # [Installed] VNIC entries being retired
    retired: list = field(default_factory=lambda: [[0, 0], [0, 0]])   # hits of deleted entries
    moves: list = field(default_factory=list)
    blocked: str = ""                   # why it stays where it is ("" if it may move)
    blocked_at: float = 0.0
    closing: float | None = None        # when a FIN/RST was reported: it finishes its close
                                        # where it is, then returns to the guest for good
    idle_suspect: tuple | None = None   # totals when an idle-timeout notification came

    @property
    def key(self) -> FlowKey:
        return self.conn.key

    def vnic_entries(self) -> list:
        found = list(self.draining) + list(self.passing.values())
        if self.tier == VNIC:
            found += self.serving.values()
        return found


def _side_entries(entries: list) -> dict:
    return {SIDES.index(entry.side): entry for entry in entries}


def translated_match(entry: FlowEntry) -> dict:
    """The flow-table key of a side's packets after its own action rewrote them."""
    match = dict(entry.match)
    params = entry.params
    if entry.action == "svc_nat":
        match.update(src_addr=params["src_addr"], dst_addr=params["dst_addr"])
        if match["proto"] in (6, 17):
            match.update(sport=params["sport"], dport=params["dport"])
    elif entry.action == "svc_lb":
        match.update(dst_addr=params["backend_addr"])
        if match["proto"] in (6, 17):
            match.update(dport=params["backend_port"])
    return match


def _entry_key(table, entry) -> FlowKey:
    """The flow key of a `services.flow_table` entry read back from a NIC."""
    names = {f.id: f.name.split(".")[-1] for f in table.match_fields}
    return FlowKey.from_fields({names[m.field_id]: m.exact.value for m in entry.match})


def _rewrite_text(key: FlowKey | None, rewrite) -> str | None:
    """What a side's NAT does, in words: "dst 10.0.0.2:80 → 10.0.0.20:80"."""
    if key is None or rewrite is None:
        return None
    address = key.address
    changes = []
    if (rewrite.src, rewrite.sport) != (key.src, key.sport):
        changes.append(f"src {address(key.src)}:{key.sport} → {address(rewrite.src)}:"
                       f"{rewrite.sport}")
    if (rewrite.dst, rewrite.dport) != (key.dst, key.dport):
        changes.append(f"dst {address(key.dst)}:{key.dport} → {address(rewrite.dst)}:"
                       f"{rewrite.dport}")
    if rewrite.dmac is not None:
        changes.append(f"dmac → {rewrite.dmac:012x}")
    return ", ".join(changes) or None


def _key_values(match: dict) -> dict:
    """Flow-table match fields as the P4Info match-field names other tables use."""
    return {f"meta.{name}": to_int(match[name], name)
            for name in ("src_addr", "dst_addr", "sport", "dport")}


class Nic:
    """The manager's view of one NIC: a controller connection (default role) and its entry
    builder. `connect` returns the NIC's current controller, or raises P4RuntimeClientError
    while there is none; whoever opened the connection closes it."""

    def __init__(self, name: str, connect, builder: EntityBuilder):
        self.name = name
        self.connect = connect
        self.builder = builder
        self.conn = None
        self.up = False

    def open(self) -> bool:
        try:
            self.conn = self.connect()
        except (P4RuntimeClientError, KeyError) as exc:
            log.debug("%s: no controller connection: %s", self.name, exc)
            self.conn, self.up = None, False
            return False
        self.up = self.conn.stream_error is None
        return self.up

    def alive(self) -> bool:
        return self.up and self.conn is not None and self.conn.stream_error is None

    def release(self) -> None:
        self.conn, self.up = None, False


class OffloadManager:
    """Runs the offload method for one host (one VNIC with its guest, and the PNIC)."""

    def __init__(self, engine, policy, vnic: Nic, pnic: Nic | None, guest_conn,
                 interval: float = 0.1, clock=time.monotonic):
        self.engine = engine
        self.policy = policy
        self.vnic, self.pnic = vnic, pnic
        self.guest_conn = guest_conn     # the guest's own P4Runtime connection (role "guest")
        self.punts = PuntServer(engine, guest_conn, vnic.builder)
        self.interval = interval
        self.clock = clock
        self.lock = threading.RLock()    # the engine and the flows: one thread at a time
        self.flows: dict = {}            # id(conn) -> Flow
        self.events: list = []           # recent moves, newest last (for `p4nic status`)
        self._stop = threading.Event()
        self._threads: list = []
        self.idle_timeout_ns = int(policy.offload.idle_timeout_s * 1e9)
        self._tables: dict = {}          # (nic, table) -> (read at, (P4Info table, entries))

    # -- lifetime -----------------------------------------------------------------------------

    def start(self) -> None:
        for nic in self._nics():
            if nic.conn is None:
                nic.open()
            self._enable_digest(nic)
        self._threads = [threading.Thread(target=self._guest_loop, name="p4nic-guest",
                                          daemon=True),
                         threading.Thread(target=self._host_loop, name="p4nic-offload",
                                          daemon=True)]
        for thread in self._threads:
            thread.start()

    def set_policy(self, policy) -> None:
        """A new offload policy (the host's file changed): from the next round on, flows a
        tier may no longer hold, or holds beyond its new capacity, go back a tier."""
        with self.lock:
            self.policy = policy
            self.engine.set_offload(policy.offload)
            self.idle_timeout_ns = int(policy.offload.idle_timeout_s * 1e9)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _nics(self) -> list:
        return [nic for nic in (self.vnic, self.pnic) if nic is not None]

    def _enable_digest(self, nic: Nic) -> None:
        if not nic.alive():
            return
        entry = nic.builder.digest_entry(FLOW_DIGEST)
        try:
            nic.conn.insert(entry)
        except WriteError as exc:
            if any(code == "ALREADY_EXISTS" for _, code, _ in exc.errors):
                return
            log.warning("%s: cannot enable the %s digest: %s", nic.name, FLOW_DIGEST, exc)

    # -- the guest ----------------------------------------------------------------------------

    def _guest_loop(self) -> None:
        last_expiry = self.clock()
        while not self._stop.is_set():
            message = self.guest_conn.packet_in(self.interval)
            with self.lock:
                ready = []
                while message is not None:       # serve what waits, then hand flows over
                    flow = self._serve(message)
                    if flow is not None and flow not in ready:
                        ready.append(flow)
                    message = self.guest_conn.packet_in(0) if len(ready) < GUEST_BATCH else None
                if ready:
                    self._guest_to_vnic(ready)
                if self.clock() - last_expiry >= 1.0:
                    last_expiry = self.clock()
                    for conn in self.engine.expire():
                        self._forget(conn, "idle in the guest")

    def _serve(self, message) -> Flow | None:
        """Serve one punted packet; the flow if it is now ready to go to the VNIC."""
        result = self.punts.handle(message)
        conn = result.connection if result is not None else None
        if conn is None:
            return None
        flow = self.flows.get(id(conn))
        if flow is None:
            # the side that opened the connection came from the uplink: RX (restored
            # connections keep their record, so `opened` is known here)
            rx_side = ORIGINAL if conn.opened == Direction.RX else REPLY
            flow = self.flows[id(conn)] = Flow(conn, frozenset({rx_side}), self.clock())
        if result.offload_ready and flow.tier == GUEST and flow.closing is None:
            return flow
        return None

    def _guest_to_vnic(self, flows: list) -> None:
        """The guest hands flows to its VNIC, writing their entries under its own role (one
        Write for all of them)."""
        now = self.clock()
        capacity = self.policy.offload.vnic_capacity - self._count(VNIC)
        batch = {}
        for flow in flows:
            if flow.blocked and now - flow.blocked_at < BLOCKED_RETRY_S:
                continue
            reason = self._vnic_blocker(flow)
            if not reason:
                try:
                    entries = self.engine.flow_entries(flow.conn)
                except NotOffloadable as exc:
                    reason = str(exc)
            if not reason and len(batch) >= capacity:
                reason = (f"the VNIC holds its capacity of {self.policy.offload.vnic_capacity}"
                          " flows")
            if reason:
                flow.blocked, flow.blocked_at = reason, now
                continue
            batch[id(flow)] = (flow, {
                SIDES.index(e.side): Installed(VNIC, SIDES.index(e.side), e.match, e.action,
                                               e.params, tuple(e.counter), tuple(e.counter))
                for e in entries})
        failed = self._write_each(self.guest_conn, self.vnic, {
            key: [self._update(self.vnic, "INSERT", i) for i in installed.values()]
            for key, (_, installed) in batch.items()})
        for key, (flow, installed) in batch.items():
            if key in failed:
                flow.blocked, flow.blocked_at = f"the VNIC refused the flow: {failed[key]}", now
                continue
            self.engine.offloaded(flow.conn, VNIC)
            flow.serving, flow.tier, flow.blocked = installed, VNIC, ""
            self._moved(flow, GUEST, VNIC, "the guest's policy")

    def _write_each(self, conn, nic: Nic, updates: dict) -> dict:
        """One Write of every group's updates ({key: [Update]}), each group all or nothing:
        a group an update of which failed has its other inserts deleted again. Returns {key:
        why} for the groups that failed."""
        keys = [key for key, group in updates.items() for _ in group]
        flat = [update for group in updates.values() for update in group]
        if not flat:
            return {}
        failed = {}
        try:
            conn.write(flat)
        except WriteError as exc:
            for index, code, message in exc.errors:
                failed.setdefault(keys[index], f"{code} {message}")
        except P4RuntimeClientError as exc:
            return {key: str(exc) for key in updates}
        undo = [p4runtime_pb2.Update(type=p4runtime_pb2.Update.DELETE, entity=update.entity)
                for index, update in enumerate(flat)
                if keys[index] in failed and update.type == p4runtime_pb2.Update.INSERT]
        if undo:
            try:
                conn.write(undo)
            except P4RuntimeClientError:
                pass            # the failed inserts among them are not there to delete
        return failed

    # -- the host -----------------------------------------------------------------------------

    def _host_loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self.lock:
                    self.tick()
            except Exception:            # a NIC going away mid-tick must not stop the host
                log.exception("offload manager: tick failed")

    def tick(self) -> None:
        """One round of the host's work: NIC events, counters, moves, retirements. Counters
        are read after the events are taken and before they are acted on, so a flow that
        leaves a NIC on a FIN carries every packet counted up to its FIN."""
        self._check_pnic()
        events = [(nic, self._events(nic)) for nic in self._nics() if nic.alive()]
        self._read_counters()
        for nic, (digests, idle) in events:
            self._handle_events(nic, digests, idle)
        now = self.clock()
        ready = []
        for flow in list(self.flows.values()):
            self._retire_drained(flow)
            if flow.closing is not None and flow.tier in (VNIC, PNIC):
                if self._quiet(flow) or now - flow.closing > CLOSE_GRACE_S:
                    self._to_guest(flow, "TCP FIN/RST", closed=True)
                continue
            if flow.idle_suspect is not None:
                if self.totals(flow) == flow.idle_suspect:
                    self._end(flow, "idle timeout")
                    continue
                flow.idle_suspect = None
            if flow.tier == VNIC and self._pnic_ready(flow):
                if not flow.blocked or now - flow.blocked_at >= BLOCKED_RETRY_S:
                    ready.append(flow)
        if ready:
            self._vnic_to_pnic(ready)
        self._enforce_policy()

    def _enforce_policy(self) -> None:
        """Flows on a tier the policy no longer lets hold them (or beyond its capacity) go
        back: PNIC -> VNIC, VNIC -> guest; the newest moves first."""
        offload = self.policy.offload
        for tier, allowed, capacity in (
                (PNIC, offload.to_pnic_after_packets is not None or
                 offload.to_pnic_when_established, offload.pnic_capacity),
                (VNIC, offload.to_vnic_after_packets is not None or
                 offload.to_vnic_when_established, offload.vnic_capacity)):
            held = sorted((f for f in self.flows.values() if f.tier == tier),
                          key=lambda f: f.moves[-1].at if f.moves else 0.0)
            excess = held if not allowed else held[capacity:]
            for flow in excess:
                reason = "the offload policy changed"
                if tier == PNIC:
                    self._pnic_to_vnic(flow, reason, pnic_alive=bool(self.pnic and
                                                                     self.pnic.alive()))
                else:
                    self._to_guest(flow, reason)

    def _check_pnic(self) -> None:
        """A PNIC that went away: its flows fall back to the VNIC; reconnect when it is back."""
        pnic = self.pnic
        if pnic is None:
            return
        if pnic.up and not pnic.alive():
            log.warning("PNIC %s went away: its flows fall back to the VNIC", pnic.name)
            pnic.release()
            for flow in list(self.flows.values()):
                if flow.tier == PNIC:
                    self._pnic_to_vnic(flow, "the PNIC went away", pnic_alive=False)
        if not pnic.up and pnic.open():
            log.info("PNIC %s is back", pnic.name)
            self._enable_digest(pnic)

    @staticmethod
    def _events(nic: Nic) -> tuple:
        """The digest lists and idle-timeout notifications the NIC has sent (acknowledged)."""
        digests, idle = [], []
        while (digest := nic.conn.digest(0)) is not None:
            nic.conn.ack_digest(digest)
            digests.append(digest)
        while (note := nic.conn.idle_timeout(0)) is not None:
            idle.append(note)
        return digests, idle

    def _handle_events(self, nic: Nic, digests: list, idle: list) -> None:
        for digest in digests:
            for sample in nic.builder.parse_digest(digest).samples:
                flow = self._find(sample)
                if flow is not None and flow.tier in (VNIC, PNIC) and flow.closing is None:
                    flow.closing = self.clock()
        for note in idle:
            for entry in note.table_entry:
                flow = self._find_entry(nic, entry)
                if flow is not None and flow.idle_suspect is None:
                    flow.idle_suspect = self.totals(flow)

    # -- reading counters ---------------------------------------------------------------------

    def _read_counters(self) -> None:
        """Every flow-table entry's counter on each NIC, in one Read per NIC."""
        for nic in self._nics():
            if not nic.alive():
                continue
            table = nic.builder.names.table(FLOW_TABLE)
            query = p4runtime_pb2.TableEntry(table_id=table.preamble.id)
            query.counter_data.SetInParent()
            try:
                found = nic.conn.read(query)
            except P4RuntimeClientError as exc:
                log.debug("%s: flow-table read failed: %s", nic.name, exc)
                continue
            counters = {_entry_key(table, entity.table_entry):
                        (entity.table_entry.counter_data.packet_count,
                         entity.table_entry.counter_data.byte_count) for entity in found}
            on_vnic = nic is self.vnic
            for flow in self.flows.values():
                for installed in self._installed(flow):
                    if (installed.nic == VNIC) != on_vnic:
                        continue
                    counter = counters.get(FlowKey.from_fields(installed.match))
                    if counter is not None:
                        installed.quiet = installed.quiet + 1 if counter == installed.counter else 0
                        installed.counter = counter

    @staticmethod
    def _installed(flow: Flow) -> list:
        return [*flow.serving.values(), *flow.passing.values(), *flow.draining]

    def totals(self, flow: Flow) -> tuple:
        """Per side (packets, bytes) of the whole flow: the guest's plus the VNIC's hits."""
        out = []
        for side in (ORIGINAL, REPLY):
            packets = flow.conn.packets[side] + flow.retired[side][0]
            octets = flow.conn.bytes[side] + flow.retired[side][1]
            for installed in flow.vnic_entries():
                if installed.side == side:
                    hits = installed.hits()
                    packets, octets = packets + hits[0], octets + hits[1]
            out.append((packets, octets))
        return tuple(out)

    # -- deciding -----------------------------------------------------------------------------

    def _quiet(self, flow: Flow) -> bool:
        """No packet of the flow has hit any of its entries for QUIET_READS reads."""
        return all(entry.quiet >= QUIET_READS for entry in self._installed(flow))

    def _pnic_ready(self, flow: Flow) -> bool:
        """The policy's criteria for the PNIC: after N packets (both sides), or once the
        connection is established — on a NIC, once both sides have been seen (TCP: the
        handshake's third packet)."""
        if self.pnic is None or not self.pnic.alive() or flow.closing is not None:
            return False
        offload = self.policy.offload
        totals = self.totals(flow)
        packets = totals[0][0] + totals[1][0]
        if offload.to_pnic_after_packets is not None and packets >= offload.to_pnic_after_packets:
            return True
        if offload.to_pnic_when_established:
            both = totals[0][0] > 0 and totals[1][0] > 0
            return both and (packets >= 3 or flow.key.proto != 6)
        return False

    def _vnic_blocker(self, flow: Flow) -> str:
        """Why the VNIC would treat the flow differently from the guest ("" if it would not):
        its stages before the services see the flow untranslated on the VNIC, translated when
        the guest served it (the guest returns translated packets into the same stages)."""
        return self._distinguished(flow, self.vnic, VNIC_BEFORE_SERVICES, all_sides=True)

    def _pnic_blocker(self, flow: Flow) -> str:
        """Why the PNIC would treat the flow differently from the VNIC: a TX side meets the
        VNIC's later stages and the PNIC's earlier ones untranslated once the PNIC translates."""
        reason = self._vnic_blocker(flow)
        if not reason:
            reason = self._distinguished(flow, self.vnic, VNIC_AFTER_SERVICES, all_sides=False)
        if not reason:
            reason = self._distinguished(flow, self.pnic, PNIC_BEFORE_SERVICES, all_sides=False)
        return reason

    def _distinguished(self, flow: Flow, nic: Nic, tables: tuple, all_sides: bool) -> str:
        try:
            entries = self.engine.flow_entries(flow.conn)
        except NotOffloadable as exc:
            return str(exc)
        for entry in entries:
            side = SIDES.index(entry.side)
            if entry.action not in TRANSLATING or (not all_sides and side in flow.rx_sides):
                continue
            before, after = _key_values(entry.match), _key_values(translated_match(entry))
            for name in tables:
                table, installed = self._table(nic, name)
                if table is None:
                    continue
                found = distinguishing_entries(table, installed, before, after)
                if name == "special_criteria":
                    found += first_packet_entries(table, installed)
                if found:
                    return (f"{nic.name} table {name} treats the {entry.side} side "
                            f"differently before and after its NAT")
        return ""

    def _table(self, nic: Nic, name: str) -> tuple:
        """A table's P4Info and entries, read at most once per TABLES_TTL_S: the tables a move
        is checked against change when a file is applied, not per flow."""
        cached = self._tables.get((nic.name, name))
        if cached is not None and self.clock() - cached[0] < TABLES_TTL_S:
            return cached[1]
        try:
            info = nic.builder.names.table(name)
        except ValueError:
            return None, []
        found = nic.conn.read(p4runtime_pb2.TableEntry(table_id=info.preamble.id))
        result = (info, [entity.table_entry for entity in found])
        self._tables[(nic.name, name)] = (self.clock(), result)
        return result

    def _count(self, tier: str) -> int:
        return sum(1 for flow in self.flows.values() if flow.tier == tier)

    # -- moving -------------------------------------------------------------------------------

    def _update(self, nic: Nic, kind: str, installed: Installed, *, action=None, params=None,
                preset=None):
        builder = nic.builder
        entry = builder.table_entry(
            FLOW_TABLE, installed.match,
            None if kind == "DELETE" else (action or installed.action),
            None if kind == "DELETE" else (installed.params if params is None else params),
            idle_timeout_ns=0 if kind == "DELETE" else self.idle_timeout_ns,
            counter=None if kind != "INSERT" else (preset or installed.preset))
        return p4runtime_pb2.Update(type=getattr(p4runtime_pb2.Update, kind),
                                    entity=p4runtime_pb2.Entity(table_entry=entry))

    def _vnic_to_pnic(self, flows: list) -> None:
        """The host hands flows on to the PNIC: three Writes for all of them, in the order
        the module docstring gives for one side."""
        now = self.clock()
        room = self.policy.offload.pnic_capacity - self._count(PNIC)
        moves = {}
        for flow in flows:
            reason = self._pnic_blocker(flow)
            if not reason and len(moves) >= room:
                reason = (f"the PNIC holds its capacity of {self.policy.offload.pnic_capacity}"
                          " flows")
            if reason:
                flow.blocked, flow.blocked_at = reason, now
                continue
            moves[id(flow)] = self._pnic_move(flow)
        # RX (1): the VNIC will pass what the PNIC translates
        failed = self._write_each(self.vnic.conn, self.vnic, {
            key: [self._update(self.vnic, "INSERT", p) for side, p in move.passing.items()
                  if side in move.flow.rx_sides]
            for key, move in moves.items()})
        # (2): the PNIC takes the flows' entries; an RX side is translated there from now on
        failed.update(self._write_each(self.pnic.conn, self.pnic, {
            key: [self._update(self.pnic, "INSERT", i) for i in move.on_pnic.values()]
            for key, move in moves.items() if key not in failed}))
        for key in failed:
            move = moves.pop(key)
            self._delete(self.vnic, [p for side, p in move.passing.items()
                                     if side in move.flow.rx_sides])
            move.flow.blocked, move.flow.blocked_at = f"the PNIC refused it: {failed[key]}", now
        # TX (3): the VNIC's entries become pass-throughs; the PNIC translates from now on
        refused = self._write_each(self.vnic.conn, self.vnic, {
            key: [self._update(self.vnic, "MODIFY", entry, action="svc_allow",
                               params={"ct_state": entry.params.get("ct_state", 0)})
                  for side, entry in move.flow.serving.items()
                  if side not in move.flow.rx_sides]
            for key, move in moves.items()})
        for key, move in moves.items():
            flow = move.flow
            if key in refused:
                log.error("VNIC refused a pass-through for %s: %s", flow.key, refused[key])
            for side, entry in flow.serving.items():
                if side not in flow.rx_sides:           # now the VNIC's pass-through
                    entry.action = "svc_allow"
                    entry.params = {"ct_state": entry.params.get("ct_state", 0)}
                    move.passing[side] = entry
                elif side in move.passing:              # RX: its own entry drains, then goes
                    flow.draining.append(entry)
                else:                                   # untranslated: its own pass-through
                    move.passing[side] = entry
            flow.passing, flow.serving, flow.tier, flow.blocked = (move.passing, move.on_pnic,
                                                                   PNIC, "")
            self.engine.offloaded(flow.conn, PNIC)
            self._moved(flow, VNIC, PNIC, "the host's policy")

    def _pnic_move(self, flow: Flow) -> "PnicMove":
        """What moving the flow to the PNIC writes: its entries there (starting from the
        flow's counts) and the VNIC pass-throughs of its translated RX sides."""
        totals = self.totals(flow)
        on_pnic = {side: Installed(PNIC, side, s.match, s.action, s.params, totals[side],
                                   totals[side]) for side, s in flow.serving.items()}
        passing = {}
        for side, serving in flow.serving.items():
            if side in flow.rx_sides and serving.action in TRANSLATING:
                passing[side] = Installed(VNIC, side, translated_match(
                    FlowEntry(SIDES[side], serving.match, serving.action, serving.params)),
                    "svc_allow", {"ct_state": serving.params["ct_state"]})
        return PnicMove(flow, on_pnic, passing)

    def _pnic_to_vnic(self, flow: Flow, reason: str, pnic_alive: bool = True) -> None:
        """Back to the VNIC, which takes each side over before the PNIC lets go of it."""
        totals = self.totals(flow)
        serving, inserts, modifies, drained = {}, [], [], []
        for side, on_pnic in flow.serving.items():
            passing = flow.passing.get(side)
            # the VNIC may still hold the side's own key: a pass-through (TX, untranslated
            # RX) or its old entry, still draining; that entry takes the action back
            held = [e for e in [passing, *flow.draining]
                    if e is not None and e.match == on_pnic.match]
            if held:
                entry = held[0]
                if entry in flow.draining:
                    flow.draining.remove(entry)
                entry.action, entry.params = on_pnic.action, on_pnic.params
                modifies.append(entry)
            else:
                entry = Installed(VNIC, side, on_pnic.match, on_pnic.action, on_pnic.params,
                                  totals[side], totals[side])
                inserts.append(entry)                  # translated RX: a new entry
            if passing is not None and passing is not entry:
                drained.append(passing)
            serving[side] = entry
        try:
            updates = [self._update(self.vnic, "INSERT", e) for e in inserts]
            updates += [self._update(self.vnic, "MODIFY", e) for e in modifies]
            if updates:
                self.vnic.conn.write(updates)
        except P4RuntimeClientError as exc:
            log.error("VNIC refused %s falling back from the PNIC: %s", flow.key, exc)
            self._to_guest(flow, f"{reason}; the VNIC refused it")
            return
        if pnic_alive:
            self._delete(self.pnic, list(flow.serving.values()))
        flow.draining += drained
        flow.passing, flow.serving, flow.tier = {}, serving, VNIC
        self.engine.offloaded(flow.conn, VNIC)
        self._moved(flow, PNIC, VNIC, reason)

    def _to_guest(self, flow: Flow, reason: str, closed: bool = False) -> None:
        """The flow returns to the guest with its state and counters: a connection whose close
        finished on a NIC (`closed`: it stays in the guest, in TIME_WAIT), or one a NIC may no
        longer keep. The counters are read before the entries go; only a packet between that
        read and the delete could be missed, which is why a closing flow waits to be quiet."""
        source = flow.tier
        totals = self.totals(flow)
        entries = [FlowEntry(SIDES[side], installed.match, installed.action, installed.params,
                             totals[side])
                   for side, installed in sorted(flow.serving.items())]
        conn = self.engine.restore(entries, closed=closed)
        self._delete_everywhere(flow)
        del self.flows[id(flow.conn)]
        flow.conn, flow.tier = conn, GUEST
        if closed:
            flow.closing = flow.closing or self.clock()
        flow.serving, flow.passing, flow.draining = {}, {}, []
        flow.retired = [[0, 0], [0, 0]]
        self.flows[id(conn)] = flow
        self._moved(flow, source, GUEST, reason)

    def _end(self, flow: Flow, reason: str) -> None:
        source = flow.tier
        self._delete_everywhere(flow)
        self.engine.end(flow.conn)
        self._forget(flow.conn, reason, source)

    def _forget(self, conn, reason: str, source: str = GUEST) -> None:
        flow = self.flows.pop(id(conn), None)
        if flow is not None:
            flow.tier = ENDED
            self._moved(flow, source, ENDED, reason)

    def _delete_everywhere(self, flow: Flow) -> None:
        on_vnic = flow.vnic_entries()
        self._delete(self.vnic, on_vnic)
        if flow.tier == PNIC and self.pnic is not None and self.pnic.alive():
            self._delete(self.pnic, list(flow.serving.values()))

    def _retire_drained(self, flow: Flow) -> None:
        quiet = [entry for entry in flow.draining if entry.quiet >= QUIET_READS]
        if quiet:
            self._delete(self.vnic, quiet)
            for entry in quiet:
                flow.draining.remove(entry)
                hits = entry.hits()
                flow.retired[entry.side][0] += hits[0]
                flow.retired[entry.side][1] += hits[1]

    def _delete(self, nic: Nic, entries: list) -> None:
        if not entries or not nic.alive():
            return
        try:
            nic.conn.write([self._update(nic, "DELETE", e) for e in entries])
        except WriteError as exc:
            missing = all(code == "NOT_FOUND" for _, code, _ in exc.errors)
            if not missing:
                log.warning("%s: deleting flow entries: %s", nic.name, exc)
        except P4RuntimeClientError as exc:
            log.warning("%s: deleting flow entries: %s", nic.name, exc)

    @staticmethod
    def _refusal(nic: Nic, exc: Exception) -> str:
        if isinstance(exc, WriteError) and any(code == "RESOURCE_EXHAUSTED"
                                               for _, code, _ in exc.errors):
            return f"the {nic.name} flow table is full"
        if getattr(exc, "code", None) == grpc.StatusCode.UNAVAILABLE:
            return f"the {nic.name} is unreachable"
        return f"the {nic.name} refused the flow: {exc}"

    def _moved(self, flow: Flow, source: str, target: str, reason: str) -> None:
        move = Move(self.clock(), source, target, reason)
        flow.moves.append(move)
        self.events.append((str(flow.key), move))
        del self.events[:-200]
        log.info("%s: %s -> %s (%s)", flow.key, source, target, reason)

    # -- finding flows ------------------------------------------------------------------------

    def _find(self, fields: dict) -> Flow | None:
        """The flow a digest sample belongs to."""
        try:
            return self._find_key(FlowKey.from_fields(fields))
        except ValueError:
            return None

    def _find_key(self, key: FlowKey) -> Flow | None:
        """The flow one of whose sides has `key`, or whose VNIC pass-through holds it."""
        conn = self.engine.find(key)
        if conn is not None:
            return self.flows.get(id(conn))
        for flow in self.flows.values():
            if any(FlowKey.from_fields(p.match) == key for p in flow.passing.values()):
                return flow
        return None

    def _find_entry(self, nic: Nic, entry) -> Flow | None:
        """The flow a flow-table entry `nic` reported belongs to."""
        return self._find_key(_entry_key(nic.builder.names.table(FLOW_TABLE), entry))

    # -- status -------------------------------------------------------------------------------

    def snapshot(self) -> dict:
        """Every flow the host knows, JSON-ready (p4nic status)."""
        with self.lock:
            flows = []
            for flow in self.flows.values():
                totals = self.totals(flow)
                conn = flow.conn
                flows.append({
                    "flow": str(flow.key),
                    "tier": flow.tier,
                    "state": getattr(conn.state, "name", str(conn.state)),
                    "ct_state": conn.ct_state,
                    "packets": [totals[0][0], totals[1][0]],
                    "bytes": [totals[0][1], totals[1][1]],
                    "nat": [_rewrite_text(key, rewrite) for key, rewrite
                            in ((conn.key, conn.rewrites[ORIGINAL]),
                                (conn.reply_key, conn.rewrites[REPLY]))],
                    "backend": (f"{conn.backend.addr}:{conn.backend.port}"
                                if conn.backend is not None else None),
                    "blocked": flow.blocked,
                    "opened": flow.opened_at,
                    "moves": [{"at": m.at, "from": m.source, "to": m.target, "why": m.reason}
                              for m in flow.moves]})
            return {"flows": flows,
                    "tiers": {tier: self._count(tier) for tier in (GUEST, VNIC, PNIC)},
                    "pnic_up": bool(self.pnic and self.pnic.alive()),
                    "moves": [{"flow": key, "at": m.at, "from": m.source, "to": m.target,
                               "why": m.reason} for key, m in self.events[-20:]]}
