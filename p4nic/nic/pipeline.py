"""The v1model packet flow of simple_switch around the generated parser, controls and deparser.

parser -> verify checksums -> ingress -> traffic manager (clone I2E, digest, resubmit,
multicast, drop, unicast, priority queues) -> egress -> clone E2E, drop -> compute checksums +
deparser -> recirculate or transmit. The order and the metadata each copy keeps follow
docs/simple_switch.md ("after-ingress" / "after-egress" pseudocode) and
targets/simple_switch/simple_switch.cpp (ingress_thread, egress_thread, enqueue, multicast,
copy_field_list_and_set_type).

A batch (one `Device.process` call) is a burst that arrives at once. Every packet of it runs
through ingress first; what ingress sends out is enqueued on per-egress-port queues (K of them per
port with --priority-queues K, the queue picked by standard_metadata.priority as
SimpleSwitch::enqueue does); egress then drains them as QueueingLogicPriRL serves them, the
highest-numbered priority queue first and each queue in FIFO order. With one queue that is the
order packets were enqueued in, so output per port stays FIFO. enq_qdepth counts the packets
already waiting in the packet's queue of its port, deq_qdepth those left behind it (both as
egress_buffers.size() reads them), and deq_timedelta the time between enqueue and dequeue.
Egress clones join the back of the queues; recirculated packets enter ingress after the queues
are empty, as the next burst.

Without a trace and with one queue per port ("plain" mode, the default), `first_pass` and
`drain_plain` run that flow for a whole batch in two loops, the unicast case inline; clones,
resubmits, recirculation, multicast, digests and truncation take the general methods. Queueing
metadata and timestamps are computed only if the program can read them.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from .codegen import (
    PKT_INSTANCE_TYPE_EGRESS_CLONE,
    PKT_INSTANCE_TYPE_INGRESS_CLONE,
    PKT_INSTANCE_TYPE_NORMAL,
    PKT_INSTANCE_TYPE_RECIRC,
    PKT_INSTANCE_TYPE_REPLICATION,
    PKT_INSTANCE_TYPE_RESUBMIT,
    CompiledProgram,
    PacketAbort,
)

# A packet that keeps resubmitting, recirculating or cloning itself would spin BMv2 forever; we
# stop it and every copy of it after this many pipeline passes.
MAX_PASSES = 1024

_log = logging.getLogger("p4nic.nic")


class V1Model:
    """Runs packets of one compiled program through simple_switch's v1model flow."""

    def __init__(self, compiled: CompiledProgram, state, *, drop_port: int = 511,
                 priority_queues: int = 1, tracer=None):
        self.c = compiled
        self.replication = state.replication
        self.drop_port = drop_port
        self.nb_queues = priority_queues
        self.tracer = tracer
        self.t0 = time.perf_counter()
        layout = compiled.layout
        self.init = layout.init
        self.meta_end = layout.meta_end
        reg = layout.reg
        std = layout.std
        self.EXIT, self.CLONE = reg["EXIT"], reg["CLONE"]
        self.CLONE_FL, self.RESUBMIT, self.RECIRC = reg["CLONE_FL"], reg["RESUBMIT"], reg["RECIRC"]
        self.LEARN, self.TRUNC, self.PKT_LEN = reg["LEARN"], reg["TRUNC"], reg["PKT_LEN"]
        self.ING_LEN, self.PKT_ID = reg["ING_LEN"], reg["PKT_ID"]
        self.INGRESS_PORT = std["standard_metadata.ingress_port"]
        self.PACKET_LENGTH = std["standard_metadata.packet_length"]
        self.INSTANCE_TYPE = std["standard_metadata.instance_type"]
        self.EGRESS_SPEC = std["standard_metadata.egress_spec"]
        self.EGRESS_PORT = std["standard_metadata.egress_port"]
        self.MCAST_GRP = std["intrinsic_metadata.mcast_grp"]
        self.EGRESS_RID = std["intrinsic_metadata.egress_rid"]
        self.PRIORITY = std["intrinsic_metadata.priority"]
        self.QID = std["queueing_metadata.qid"]
        declared = layout.std_declared
        widths = layout.std_width
        # egress_thread sets egress_spec to drop_port + 1, truncated to the field like any set
        self.egress_spec_start = (drop_port + 1) & (
            (1 << widths["standard_metadata.egress_spec"]) - 1)
        self.port_mask = (1 << widths["standard_metadata.ingress_port"]) - 1
        self.rid_mask = (1 << widths["intrinsic_metadata.egress_rid"]) - 1

        def read(name):  # unread metadata need not be computed: nobody can see it
            return name in declared and (tracer is not None or compiled.reads(std[name]))

        def ts_slot(name):
            """(slot, mask) of a clock-derived field the program declares and may read."""
            return (std[name], (1 << widths[name]) - 1) if read(name) else None

        self.ING_TS = ts_slot("intrinsic_metadata.ingress_global_timestamp")
        self.EG_TS = ts_slot("intrinsic_metadata.egress_global_timestamp")
        queueing = ("queueing_metadata.enq_timestamp", "queueing_metadata.enq_qdepth",
                    "queueing_metadata.deq_timedelta", "queueing_metadata.deq_qdepth")
        # SimpleSwitch::check_queueing_metadata: all four fields or none
        wanted = any(read(n) for n in queueing + ("queueing_metadata.qid",))
        self.queueing = [(std[n], (1 << widths[n]) - 1) for n in queueing] \
            if wanted and all(n in declared for n in queueing) else None
        # egress_thread sets qid only along with the other queueing fields
        self.qid_declared = self.queueing is not None and "queueing_metadata.qid" in declared
        self.clocked = any(x is not None for x in (self.ING_TS, self.EG_TS, self.queueing))
        self.now = 0  # microseconds since the device started, read at arrival and at dequeue
        # No trace and one queue per port: the loops below run the common case inline (first
        # ingress pass of a batch, plain unicast egress) and call the general methods only for
        # the packets that need them.
        self.plain = tracer is None and priority_queues == 1
        self.queues = [deque() for _ in range(priority_queues)]  # qid -> (port, PHV, budget)
        self.waiting = {}  # (port, qid) -> packets in that queue, kept with queueing metadata
        self.packet_id = 0
        self.digests = {}  # learn list id -> samples, flushed by the device after each batch

    # ---- one batch -------------------------------------------------------------------------

    def process(self, batch, out: list):
        """Run a batch of (port, bytes) received together; append (egress_port, bytes) to `out`.

        Each packet carries a pass budget shared with all its copies (a one-item list counting
        passes), so one that loops forever is stopped without costing the rest of the batch."""
        arrival, ingress_pass = self.arrival, self.ingress_pass
        clocked, clock, t0 = self.clocked, time.perf_counter, self.t0  # tick(), inlined
        if clocked:  # the burst arrives at once: one ingress_global_timestamp for all of it
            self.tick()
        if self.plain:
            ingress = self.first_pass(batch)
        else:
            ingress = []
            for port, data in batch:
                if type(data) is not bytes:  # bytearray / memoryview from a port: the code slices bytes
                    data = bytes(data)
                ingress.append((arrival(port, data), data, [0]))
        while True:  # the first pass may have queued packets even with nothing left to ingress
            recirculated = []
            for h, data, budget in ingress:  # resubmitted packets join the end of `ingress`
                budget[0] += 1
                if budget[0] <= MAX_PASSES or self.exhausted(h, budget):
                    if clocked:  # enq_timestamp: when this packet's ingress enqueues it
                        self.now = int((clock() - t0) * 1e6)
                    try:
                        ingress_pass(h, data, budget, ingress)
                    except Exception:  # a NIC bug must cost one packet, not the port loop
                        _log.exception("packet from port %s dropped: internal error in ingress",
                                       h[self.INGRESS_PORT])
            if self.plain:
                self.drain_plain(recirculated, out)
            else:
                self.drain(recirculated, out)
            if not recirculated:
                return
            ingress = recirculated

    def first_pass(self, batch) -> list:
        """Ingress of a fresh batch in plain mode, `arrival` and `ingress_pass` inlined for the
        packets that leave ingress as unicast or drop; returns the resubmitted packets."""
        init, c, queue = self.init, self.c, self.queues[0]
        parse, ingress = c.parse, c.ingress
        port_mask, drop_port = self.port_mask, self.drop_port
        INGRESS_PORT, PACKET_LENGTH, PKT_LEN, ING_LEN = (
            self.INGRESS_PORT, self.PACKET_LENGTH, self.PKT_LEN, self.ING_LEN)
        CLONE, RESUBMIT, LEARN, MCAST_GRP, EGRESS_SPEC, INSTANCE_TYPE = (
            self.CLONE, self.RESUBMIT, self.LEARN, self.MCAST_GRP, self.EGRESS_SPEC,
            self.INSTANCE_TYPE)
        PRIORITY = self.PRIORITY
        clocked, clock, t0 = self.clocked, time.perf_counter, self.t0
        direct = self.queueing is None  # no queueing metadata: enqueue is an append
        if self.ING_TS is not None:  # arrival: one reading for the burst
            init = init[:]
            init[self.ING_TS[0]] = self.now & self.ING_TS[1]
        resubmitted = []
        for port, data in batch:
            if type(data) is not bytes:  # bytearray / memoryview from a port: the code slices bytes
                data = bytes(data)
            h = init[:]
            h[INGRESS_PORT] = port & port_mask
            h[PACKET_LENGTH] = h[PKT_LEN] = h[ING_LEN] = len(data)
            h[INSTANCE_TYPE] = PKT_INSTANCE_TYPE_NORMAL
            budget = [1]
            if clocked:  # enq_timestamp: when this packet's ingress enqueues it
                self.now = int((clock() - t0) * 1e6)
            try:
                parse(h, data)
                if ingress is not None:
                    ingress(h)
                if (h[CLONE] is None and h[RESUBMIT] is None and not h[LEARN]
                        and not h[MCAST_GRP]):
                    egress_port = h[EGRESS_SPEC]
                    if egress_port != drop_port:
                        h[INSTANCE_TYPE] = PKT_INSTANCE_TYPE_NORMAL
                        if direct and not h[PRIORITY]:
                            queue.append((egress_port, h, budget))
                        else:  # queueing metadata, or a priority enqueue drops
                            self.enqueue(egress_port, h, budget)
                else:
                    self.after_ingress(h, data, budget, resubmitted)
            except PacketAbort:
                continue  # no tracer in plain mode: nothing to say
            except Exception:  # a NIC bug must cost one packet, not the port loop
                _log.exception("packet from port %s dropped: internal error in ingress", port)
        return resubmitted

    def arrival(self, port: int, data: bytes) -> list:
        """The PHV of a packet received on `port` at `self.now`."""
        h = self.init[:]
        self.packet_id += 1
        if self.tracer is not None:
            h[self.PKT_ID] = (self.packet_id, 0)
        h[self.INGRESS_PORT] = port & self.port_mask
        n = len(data)
        h[self.PACKET_LENGTH] = n
        h[self.PKT_LEN] = n
        h[self.ING_LEN] = n
        h[self.INSTANCE_TYPE] = PKT_INSTANCE_TYPE_NORMAL
        if self.ING_TS is not None:
            h[self.ING_TS[0]] = self.now & self.ING_TS[1]
        if self.tracer is not None:
            self.tracer.packet_in(h, port, n)
        return h

    def tick(self):
        """Read the clock: microseconds since the device started, as BMv2's get_ts()."""
        self.now = int((time.perf_counter() - self.t0) * 1e6)

    def exhausted(self, h, budget) -> bool:
        """A pass over the packet's budget: say so once, then drop it (always False)."""
        if budget[0] == MAX_PASSES + 1:
            self.note(h, "Packet keeps resubmitting/recirculating/cloning: dropped")
        return False

    def note(self, h, text):
        if self.tracer is not None:
            self.tracer.note(h, text)

    def new_copy(self, copy_of):
        """A fresh PHV for a copy (BMv2: new packet, metadata reset, registers cleared)."""
        c = self.init[:]
        pid = copy_of[self.PKT_ID]
        c[self.PKT_ID] = (pid[0], pid[1] + 1) if pid else None
        return c

    # ---- ingress and the traffic manager -----------------------------------------------------

    def ingress_pass(self, h, data, budget, ingress):
        c = self.c
        try:
            c.parse(h, data)
            if c.ingress is not None:
                c.ingress(h)
        except PacketAbort as e:
            self.note(h, f"{e}: packet dropped")
            return
        if (h[self.CLONE] is None and h[self.RESUBMIT] is None and not h[self.LEARN]
                and not h[self.MCAST_GRP]):  # the common case: unicast or drop
            port = h[self.EGRESS_SPEC]
            if port == self.drop_port:
                if self.tracer is not None:
                    self.tracer.note(h, "Dropping packet at the end of ingress")
                return
            h[self.INSTANCE_TYPE] = PKT_INSTANCE_TYPE_NORMAL
            if self.tracer is not None:
                self.tracer.note(h, f"Egress port is {port}")
            self.enqueue(port, h, budget)
            return
        self.after_ingress(h, data, budget, ingress)

    def after_ingress(self, h, data, budget, ingress):
        """The after-ingress pseudocode of docs/simple_switch.md, in its order."""
        c = self.c
        ingress_len = h[self.ING_LEN]
        sid = h[self.CLONE]
        if sid is not None:  # INGRESS CLONING: the packet as it entered ingress, parsed again
            h[self.CLONE] = None
            session = self.replication.clone_sessions.get(sid)
            if session is not None:
                clone = self.new_copy(h)
                clone[self.INGRESS_PORT] = h[self.INGRESS_PORT]
                c.parse(clone, data)
                # copy_field_list_and_set_type: metadata reset after parsing, then the field list
                clone[:self.meta_end] = self.init[:self.meta_end]
                self.copy_field_list(h[self.CLONE_FL], clone, h)
                clone[self.INSTANCE_TYPE] = PKT_INSTANCE_TYPE_INGRESS_CLONE
                clone[self.PKT_LEN] = ingress_len
                clone[self.ING_LEN] = ingress_len
                self.note(h, f"Cloning packet at ingress to session {sid}")
                self.clone_to_session(clone, session, budget)
        learn = h[self.LEARN]
        if learn:  # LEARNING
            h[self.LEARN] = 0
            entry = c.learn_lists.get(learn)
            if entry is not None:
                self.digests.setdefault(learn, []).append(entry[1](h))
        fl = h[self.RESUBMIT]
        if fl is not None:  # RESUBMIT: original packet, fresh metadata + the field list
            re = self.new_copy(h)
            self.copy_field_list(fl, re, h)
            re[self.INSTANCE_TYPE] = PKT_INSTANCE_TYPE_RESUBMIT
            re[self.PKT_LEN] = ingress_len
            re[self.ING_LEN] = ingress_len
            re[self.PACKET_LENGTH] = ingress_len
            self.note(h, "Resubmitting packet")
            ingress.append((re, data, budget))
            return
        mgid = h[self.MCAST_GRP]
        if mgid:  # MULTICAST
            h[self.INSTANCE_TYPE] = PKT_INSTANCE_TYPE_REPLICATION
            self.note(h, f"Multicast requested for packet (group {mgid})")
            self.multicast(h, self.replication.multicast_groups.get(mgid, ()), budget)
            return
        port = h[self.EGRESS_SPEC]
        if port == self.drop_port:
            self.note(h, "Dropping packet at the end of ingress")
            return
        h[self.INSTANCE_TYPE] = PKT_INSTANCE_TYPE_NORMAL
        self.note(h, f"Egress port is {port}")
        self.enqueue(port, h, budget)

    def copy_field_list(self, fl_id, dst, src):
        copy = self.c.field_lists.get(fl_id)
        if copy is not None:
            copy(dst, src)

    def multicast(self, h, replicas, budget, trunc=None):
        """SimpleSwitch::multicast: one copy per (port, rid), egress_rid set, registers cleared."""
        for port, rid in replicas:
            c = h[:]
            c[self.EGRESS_RID] = rid & self.rid_mask
            self.clear_registers(c, h)
            if trunc:
                c[self.TRUNC] = trunc
            self.note(h, f"Replicating packet on port {port}")
            self.enqueue(port, c, budget)

    def clear_registers(self, c, h):
        """RegisterAccess::clear_all, keeping the packet length."""
        c[self.EXIT] = 0
        c[self.CLONE] = c[self.RESUBMIT] = c[self.RECIRC] = c[self.TRUNC] = None
        c[self.LEARN] = 0
        c[self.PKT_LEN] = h[self.PKT_LEN]

    def clone_to_session(self, clone, session, budget):
        # A P4Runtime clone session lists replicas; BMv2's PI turns them into a multicast group
        # for the mirroring session, so every replica is a copy with its egress_rid. A session
        # naming a group (mirroring_add_mc) reads the group now, as simple_switch.cpp's
        # "Cloning packet to MGID" multicast() does.
        trunc = session.packet_length_bytes or None
        if session.multicast_group:
            replicas = self.replication.multicast_groups.get(session.multicast_group, ())
            self.multicast(clone, replicas, budget, trunc)
        self.multicast(clone, session.replicas, budget, trunc)

    def enqueue(self, port, h, budget):
        """SimpleSwitch::enqueue: priority check, queueing metadata, then the port's queue."""
        priority = h[self.PRIORITY]
        if priority >= self.nb_queues:
            self.note(h, "Priority out of range, dropping packet")
            return
        if self.queueing is not None:
            ts, depth = self.queueing[0], self.queueing[1]
            h[ts[0]] = self.now & ts[1]
            queue = (port, priority)
            waiting = self.waiting.get(queue, 0)
            h[depth[0]] = waiting & depth[1]
            self.waiting[queue] = waiting + 1
        self.queues[priority].append((port, h, budget))

    def drain(self, recirculated, out):
        """Egress for every queued packet, highest priority queue first (QueueingLogicPriRL)."""
        queues = self.queues
        waiting = self.waiting if self.queueing is not None else None
        egress_pass = self.egress_pass
        top = qid = len(queues) - 1
        while qid >= 0:
            queue = queues[qid]
            if not queue:
                qid -= 1
                continue
            port, h, budget = queue.popleft()
            if waiting is not None:
                waiting[port, qid] -= 1
            budget[0] += 1
            if budget[0] <= MAX_PASSES or self.exhausted(h, budget):
                try:
                    egress_pass(port, h, budget, recirculated, out)
                except Exception:  # a NIC bug must cost one packet, not the port loop
                    _log.exception("packet to port %s dropped: internal error in egress", port)
            qid = top  # an egress clone may have joined a higher-priority queue

    def drain_plain(self, recirculated, out):
        """`drain` and `egress_pass` for plain mode: one queue, no trace; a packet that clones,
        recirculates or is truncated goes on through `after_egress`."""
        queue, c = self.queues[0], self.c
        clocked, egress_clock = self.clocked, self.egress_clock
        waiting = self.waiting if self.queueing is not None else None
        QID = self.QID if self.qid_declared else None
        egress, deparse = c.egress, c.deparse
        port_mask, drop_port, egress_spec_start = self.port_mask, self.drop_port, self.egress_spec_start
        EGRESS_PORT, EGRESS_SPEC, PACKET_LENGTH, PKT_LEN = (
            self.EGRESS_PORT, self.EGRESS_SPEC, self.PACKET_LENGTH, self.PKT_LEN)
        CLONE, RECIRC, TRUNC = self.CLONE, self.RECIRC, self.TRUNC
        stamped = clocked or waiting is not None or QID is not None
        while queue:  # egress clones join the queue while it drains
            draining = list(queue)
            queue.clear()
            for port, h, budget in draining:
                budget[0] += 1
                if budget[0] > MAX_PASSES and not self.exhausted(h, budget):
                    if waiting is not None:
                        waiting[port, 0] -= 1
                    continue
                try:
                    if stamped:
                        if waiting is not None:
                            waiting[port, 0] -= 1
                        if clocked:
                            egress_clock(port, h)
                        if QID is not None:
                            h[QID] = 0  # the one queue's qid (= the priority enqueue checked)
                    h[EGRESS_PORT] = port & port_mask
                    h[EGRESS_SPEC] = egress_spec_start
                    h[PACKET_LENGTH] = h[PKT_LEN]
                    if egress is not None:
                        egress(h)
                    if h[CLONE] is None and h[RECIRC] is None and h[TRUNC] is None:
                        if h[EGRESS_SPEC] != drop_port:
                            out.append((port, deparse(h)))
                    else:
                        self.after_egress(port, h, budget, recirculated, out)
                except PacketAbort:
                    continue
                except Exception:  # a NIC bug must cost one packet, not the port loop
                    _log.exception("packet to port %s dropped: internal error in egress", port)

    # ---- egress --------------------------------------------------------------------------

    def egress_clock(self, port, h):
        """The clock reading at dequeue: egress timestamp and queueing metadata."""
        self.now = now = int((time.perf_counter() - self.t0) * 1e6)  # tick(), inlined
        if self.EG_TS is not None:
            h[self.EG_TS[0]] = now & self.EG_TS[1]
        if self.queueing is not None:  # egress_thread, after egress_buffers.pop_back
            enq, _, delta, depth = self.queueing
            h[delta[0]] = (now - h[enq[0]]) & delta[1]
            h[depth[0]] = self.waiting[port, h[self.PRIORITY]] & depth[1]

    def egress_pass(self, port, h, budget, recirculated, out):
        c = self.c
        if self.clocked:
            self.egress_clock(port, h)
        if self.qid_declared:
            h[self.QID] = h[self.PRIORITY]
        h[self.EGRESS_PORT] = port & self.port_mask
        # egress_thread: egress_spec starts as drop_port + 1 so "not dropped" is the default
        h[self.EGRESS_SPEC] = self.egress_spec_start
        h[self.PACKET_LENGTH] = h[self.PKT_LEN]
        if c.egress is not None:
            try:
                c.egress(h)
            except PacketAbort as e:
                self.note(h, f"{e}: packet dropped")
                return
        self.after_egress(port, h, budget, recirculated, out)

    def after_egress(self, port, h, budget, recirculated, out):
        """The after-egress pseudocode of docs/simple_switch.md: clone, drop, deparse,
        recirculate or transmit."""
        c = self.c
        sid = h[self.CLONE]
        if sid is not None:  # EGRESS CLONING: headers as they are now, metadata reset
            h[self.CLONE] = None
            session = self.replication.clone_sessions.get(sid)
            if session is not None:
                clone = h[:]
                clone[:self.meta_end] = self.init[:self.meta_end]
                self.copy_field_list(h[self.CLONE_FL], clone, h)
                clone[self.INSTANCE_TYPE] = PKT_INSTANCE_TYPE_EGRESS_CLONE
                pid = h[self.PKT_ID]
                clone[self.PKT_ID] = (pid[0], pid[1] + 1) if pid else None
                self.note(h, f"Cloning packet at egress to session {sid}")
                self.clone_to_session(clone, session, budget)
        if h[self.EGRESS_SPEC] == self.drop_port:
            self.note(h, "Dropping packet at the end of egress")
            return
        data = c.deparse(h)
        fl = h[self.RECIRC]
        if fl is not None:  # RECIRCULATE: the deparsed packet enters the parser again
            re = self.new_copy(h)
            self.copy_field_list(fl, re, h)
            re[self.INSTANCE_TYPE] = PKT_INSTANCE_TYPE_RECIRC
            n = len(data)
            re[self.PKT_LEN] = n
            re[self.ING_LEN] = n
            re[self.PACKET_LENGTH] = n
            self.note(h, "Recirculating packet")
            recirculated.append((re, data, budget))
            return
        trunc = h[self.TRUNC]
        if trunc is not None:
            data = data[:trunc]
        if self.tracer is not None:
            self.tracer.transmit(h, port, len(data))
        out.append((port, data))
