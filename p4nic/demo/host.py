"""The host the demo runs: VNIC and PNIC as `p4nic switch` processes, their controllers and
packet sockets.

`DemoHost` compiles the shipped vnic.p4 and pnic.p4 (p4nic.pipelines) or a user's copies with
p4nic's compiler, starts one
`p4nic switch` per NIC (P4Runtime on a free 127.0.0.1 port, packets on a nanomsg socket in a
temporary directory), pushes each pipeline over P4Runtime and dials each packet socket.
`NicController` programs one NIC through p4nic.runtime and remembers what it changed, so each
feature leaves the NICs as it found them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from scapy.layers.l2 import Ether
from scapy.packet import Raw

from p4nic import pipelines
from p4nic.compiler.driver import compile_file
from p4nic.demo.checks import Event
from p4nic.demo.packets import BROADCAST, GUEST_MAC
from p4nic.runtime.wire import PacketWire
from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import EntityBuilder, as_entity
from p4nic.runtime.local_switch import LocalSwitch, write_compiled
from p4nic.runtime.nicdefs import PKT_OUT_DIRECT

ETHERTYPE_MARKER = 0x88B5   # IEEE 802 local experimental ethertype

CPU_PORT = 255          # p4src's default CPU_PORT (docs/pipelines.md, "Ports")
MARKER_PORT = 100       # no feature uses it: the port the end-of-step marker leaves by
TIMEOUT = 30.0          # seconds to wait for what a packet is expected to produce: only a
                        # failing step waits this long, and a loaded machine can stall seconds
SETTLE = 0.05           # then this long for packet-ins still on their way over gRPC


@dataclass
class CompiledProgram:
    name: str
    json_path: Path
    p4info_path: Path
    seconds: float
    tables: int
    actions: int


def compile_program(name: str, p4src: Path | None, outdir: Path) -> CompiledProgram:
    """Compile pipeline `name` ("vnic", "pnic") with p4nic's own compiler: the shipped one
    (p4nic.pipelines) when `p4src` is None, else p4src/NAME.p4; CompileError (file:line:column)
    on bad source."""
    start = time.perf_counter()
    if p4src is None:
        result = pipelines.compiled(name)
    else:
        result = compile_file(str(p4src / f"{name}.p4"), include_dirs=[str(p4src)])
    seconds = time.perf_counter() - start
    json_path, p4info_path = write_compiled(result, name, outdir)
    return CompiledProgram(name.upper(), json_path, p4info_path, seconds,
                           len(result.p4info.tables), len(result.p4info.actions))


OBJECT_ID_FIELDS = ("table_id", "action_profile_id", "digest_id", "counter_id")


def value_text(value) -> str:
    """A match value as p4runtime-shell writes it: a ternary (value, mask) as value&&&mask."""
    if isinstance(value, (tuple, list)):
        low, high = value
        return f"{low}&&&{high:#x}" if isinstance(high, int) else f"{low}&&&{high}"
    return str(value)


def plural(noun: str) -> str:
    return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"


def action_text(action, params) -> str:
    return f"{action}({', '.join(f'{k}={v}' for k, v in (params or {}).items())})"


def entry_text(table, match, action, params, priority=None, kwargs=None) -> str:
    """'filters dstAddr=… → filter_to_queue(queue=2) priority 10'."""
    keys = " ".join(f"{k}={value_text(v)}" for k, v in (match or {}).items()) or "(any)"
    extra = dict(kwargs or {})
    if "group_id" in extra:
        target = f"group {extra.pop('group_id')}"
    elif "member_id" in extra:
        target = f"member {extra.pop('member_id')}"
    else:
        target = action_text(action, params)
    counter = extra.pop("counter", None)
    text = f"{table} {keys} → {target}"
    text += f" priority {priority}" if priority is not None else ""
    text += f", counter starting at {counter[0]} packets / {counter[1]} bytes" if counter else ""
    return text


class NicController:
    """One P4Runtime controller of a NIC (a role, and its own arbitration), with an undo log.
    Every write it makes is told, in words, to `journal` (the report lists them)."""

    def __init__(self, nic: str, label: str, address: str, p4info_path: Path, role: str = "",
                 journal=None):
        self.nic = nic
        self.label = label
        self.conn = Connection(address, election_id=(0, 1), role=role)
        self.p4 = EntityBuilder(p4info_path)
        self.listening = True      # its packet-ins count as events of an exchange
        self.journal = journal or (lambda controller, text: None)
        self._undo: list = []      # ("delete", key-only entity) / ("modify", old default)

    def add(self, table: str, match: dict | None = None, action: str | None = None,
            params: dict | None = None, priority: int | None = None, **kwargs):
        """Insert one table entry; returns it (for delete or reading its counter)."""
        entry = self.p4.table_entry(table, match, action, params, priority, **kwargs)
        text = entry_text(table, match, action, params, priority, kwargs)
        self.insert(entry, note=f"insert {text}")
        return entry

    def change(self, table: str, match: dict, action: str, params: dict | None = None) -> None:
        """Modify one table entry's action (it is deleted, not reverted, by restore())."""
        self.conn.modify(self.p4.table_entry(table, match, action, params))
        self.journal(self, f"modify {entry_text(table, match, action, params)}")

    def insert(self, *entities, note: str | None = None) -> None:
        """Insert entities in one Write; `note` says what they are (else their kind and
        object)."""
        self.conn.insert(*entities)
        for entity in entities:
            self._undo.append(("delete", self._key(entity)))
        self.journal(self, note or f"insert {self._describe(entities)}")

    def delete(self, *entities) -> None:
        self.conn.delete(*entities)
        gone = {self._key(entity).SerializeToString() for entity in entities}
        self._undo = [(kind, e) for kind, e in self._undo
                      if kind != "delete" or e.SerializeToString() not in gone]
        self.journal(self, f"delete {self._describe(entities)}")

    def set_default(self, table: str, action: str, params: dict | None = None) -> None:
        """Change a table's default action (restored by restore())."""
        query = self.p4.table_entry(table, default=True)
        current = [e.table_entry for e in self.conn.read(query) if e.table_entry.is_default_action]
        self.conn.modify(self.p4.table_entry(table, action=action, params=params, default=True))
        if current:
            current[0].ClearField("counter_data")
            self._undo.append(("modify", current[0]))
        self.journal(self, f"default action of {table} := {action_text(action, params)}")

    def restore(self) -> None:
        """Undo every change, newest first (entries before the members they point at)."""
        while self._undo:
            kind, entity = self._undo.pop()
            getattr(self.conn, kind)(entity)

    @staticmethod
    def _key(entity):
        """What a DELETE needs: the entity without its action or counter data."""
        key = as_entity(entity)
        if key.WhichOneof("entity") == "table_entry":
            key.table_entry.ClearField("action")
            key.table_entry.ClearField("counter_data")
        return key

    def _describe(self, entities) -> str:
        """'3 table entries of classify, slot_after_filter' and the like."""
        kinds: dict = {}
        for entity in entities:
            entity = as_entity(entity)
            kind = entity.WhichOneof("entity")
            message = getattr(entity, kind)
            object_id = next((getattr(message, f) for f in OBJECT_ID_FIELDS
                              if hasattr(message, f)), None)
            name = self.p4.names.by_id(object_id).preamble.name if object_id else ""
            kinds.setdefault(kind.replace("_", " "), []).append(name.split(".", 1)[-1])
        return "; ".join(f"{len(names)} {plural(kind) if len(names) > 1 else kind} of "
                         f"{', '.join(dict.fromkeys(names))}" for kind, names in kinds.items())

    def numa_layout(self, nodes: dict, vcpu_node: dict) -> None:
        """NUMA layout on the `steering` tables: nodes {node: [queue ports]} (one selector
        group per node, one member per queue) and vcpu_node {vcpu: node}."""
        member_id = 0
        for node, queues in nodes.items():
            members = []
            for port in queues:
                member_id += 1
                self.insert(self.p4.action_profile_member("steering.numa_queues", member_id,
                                                          "set_queue", {"port": port}),
                            note=f"insert member {member_id} of steering.numa_queues → "
                                 f"set_queue(port={port})")
                members.append(member_id)
            self.insert(self.p4.action_profile_group("steering.numa_queues", node + 1, members),
                        note=f"insert group {node + 1} of steering.numa_queues: the queues "
                             f"{queues} of NUMA node {node}")
            self.add("steering.numa_queues", {"numa_node": node}, group_id=node + 1)
        for vcpu, node in vcpu_node.items():
            self.add("steering.vcpu_node", {"vcpu": vcpu}, "set_node", {"node": node})

    def direct_counter(self, entry) -> tuple:
        """(packets, bytes) of one entry's direct counter."""
        found = self.conn.read(self.p4.direct_counter_entry(entry))
        data = found[0].direct_counter_entry.data if found else None
        return (data.packet_count, data.byte_count) if data else (0, 0)

    def counter(self, name: str, index: int) -> int:
        """Packets counted in one cell of an indexed counter."""
        found = self.conn.read(self.p4.counter_entry(name, index))
        return found[0].counter_entry.data.packet_count if found else 0

    def controller_header(self, **fields) -> bytes:
        """The packet_out header as the NIC parses it on its CPU port: the P4Info's
        packet_out metadata fields, in order, packed into whole bytes (BMv2 controller
        header; the P4Runtime server prepends the same to every packet-out)."""
        value = width = 0
        for field in self.p4.names.packet_metadata("packet_out").metadata:
            value = (value << field.bitwidth) | fields.pop(field.name, 0)
            width += field.bitwidth
        if fields:
            raise ValueError(f"packet_out has no field(s) {sorted(fields)}")
        return value.to_bytes(width // 8, "big")

    def send_packet_out(self, frame: bytes, **metadata) -> None:
        self.conn.send_packet_out(self.p4.packet_out(frame, **metadata))

    def digest(self, timeout: float = TIMEOUT):
        """The next digest list, acknowledged, as a Digest (name, samples); None if none."""
        message = self.conn.digest(timeout=timeout)
        if message is None:
            return None
        self.conn.ack_digest(message)
        return self.p4.parse_digest(message)

    def packet_ins(self) -> list:
        """Packet-ins received so far, as Events."""
        events = []
        for message in self.conn.drain_packet_ins():
            packet_in = self.p4.parse_packet_in(message)
            events.append(Event(self.nic, packet_in.payload, None, self.label,
                                tuple(sorted(packet_in.metadata.items()))))
        return events

    def close(self) -> None:
        self.conn.close()


class DemoHost:
    """VNIC + PNIC running as processes; `exchange` sends a frame and gathers what comes out."""

    def __init__(self, p4src: Path | None, workdir: Path):
        self.p4src = p4src       # None: the pipelines p4nic ships
        self.workdir = workdir
        self.programs: dict = {}
        self.switches: dict = {}
        self.controllers: dict = {}      # "VNIC" / "PNIC" -> NicController (default role)
        self.extra_controllers: list = []  # other roles (the guest), while attached
        self.wires: dict = {}
        self.feature = None      # the Feature being shown: controllers' writes go to it
        self._markers = 0

    def compile(self) -> list:
        """Compile vnic.p4 and pnic.p4 into the work directory."""
        for name in pipelines.PIPELINES:
            program = compile_program(name, self.p4src, self.workdir)
            self.programs[program.name] = program
        return list(self.programs.values())

    def start(self) -> None:
        """Start both switches, push their pipelines over P4Runtime, dial their sockets."""
        for nic, program in self.programs.items():
            self.switches[nic] = LocalSwitch(program.json_path, self.workdir,
                                             p4info_path=program.p4info_path,
                                             cpu_port=CPU_PORT)
        for nic, program in self.programs.items():
            switch = self.switches[nic]
            controller = NicController(nic, f"{nic} controller", switch.grpc_addr,
                                       program.p4info_path, journal=self._journal)
            self.controllers[nic] = controller
            controller.conn.set_pipeline(program.p4info_path, program.json_path.read_bytes())
            self.wires[nic] = PacketWire(switch.packet_socket)
            self._check_wire(nic)

    @property
    def vnic(self) -> NicController:
        return self.controllers["VNIC"]

    @property
    def pnic(self) -> NicController:
        return self.controllers["PNIC"]

    def attach(self, nic: str, role: str, label: str) -> NicController:
        """Another controller of `nic` with its own P4Runtime role (e.g. the guest)."""
        controller = NicController(nic, label, self.switches[nic].grpc_addr,
                                   self.programs[nic].p4info_path, role=role,
                                   journal=self._journal)
        self.extra_controllers.append(controller)
        return controller

    def _journal(self, controller: NicController, text: str) -> None:
        if self.feature is not None:
            self.feature.writes.append((len(self.feature.rows) + 1, controller.label, text))

    def detach(self, controller: NicController) -> None:
        try:
            controller.restore()
        finally:
            controller.close()
            self.extra_controllers.remove(controller)

    def exchange(self, nic: str, port: int, frame: bytes, expect: int = 1) -> list:
        """Put `frame` on `port` of `nic` and return the Events it causes on either NIC.

        Right behind it goes a marker (see _send_marker). The NIC handles the frames of one
        socket in order, so once the marker is back every frame `frame` caused has come out —
        a drop is seen as surely as a delivery, without waiting on a clock. Then wait until
        `expect` events arrived and SETTLE more for packet-ins, which travel over gRPC.
        """
        self.collect()   # anything left over from an earlier step is not this step's doing
        self.wires[nic].send(port, frame)
        marker = self._send_marker(nic)
        return [event for event in self.collect(expect, marker) if event != marker]

    def _send_marker(self, nic: str) -> Event:
        """Send a packet-out through the packet socket itself (to the CPU port) that takes a
        numbered frame straight out of MARKER_PORT; returns the Event it will come back as."""
        self._markers += 1
        marker = bytes(Ether(dst=BROADCAST, src=GUEST_MAC, type=ETHERTYPE_MARKER)
                       / Raw(f"p4nic demo: marker {self._markers}".encode()))
        header = self.controllers[nic].controller_header(port=MARKER_PORT, mode=PKT_OUT_DIRECT)
        self.wires[nic].send(CPU_PORT, header + marker)
        return Event(nic, marker, MARKER_PORT)

    def _check_wire(self, nic: str) -> None:
        """A marker must come back before any feature runs: the socket works end to end."""
        marker = self._send_marker(nic)
        if marker not in self.collect(0, marker):
            raise OSError(f"{nic}: nothing came back on the packet socket "
                          f"{self.switches[nic].packet_socket} within {TIMEOUT} s")

    def collect(self, expect: int | None = None, marker: Event | None = None) -> list:
        """Events so far; with `expect`, wait up to TIMEOUT for that many besides `marker`
        (and for `marker` itself, which is returned too), then SETTLE."""
        events: list = []
        if expect is None:
            self._poll(events)
            return events
        deadline = time.monotonic() + TIMEOUT
        while True:
            self._poll(events)
            seen = marker is None or marker in events
            if (seen and len(events) - (marker is not None) >= expect
                    or time.monotonic() >= deadline):
                break
            time.sleep(0.002)
        time.sleep(SETTLE)
        self._poll(events)
        return events

    def _poll(self, events: list) -> None:
        for nic, wire in self.wires.items():
            events.extend(Event(nic, frame, port) for port, frame in wire.receive())
        for controller in [*self.controllers.values(), *self.extra_controllers]:
            found = controller.packet_ins()
            if controller.listening:
                events.extend(found)

    def addresses(self) -> list:
        """(NIC, P4Runtime address, packet socket, JSON, P4Info) for each running NIC."""
        return [(nic, switch.grpc_addr, switch.packet_socket, self.programs[nic].json_path,
                 self.programs[nic].p4info_path) for nic, switch in self.switches.items()]

    def release(self) -> None:
        """Close the demo's controllers and sockets, leaving the switches to other clients."""
        for controller in [*self.extra_controllers, *self.controllers.values()]:
            controller.close()
        for wire in self.wires.values():
            wire.close()
        self.extra_controllers, self.controllers, self.wires = [], {}, {}

    def stop(self) -> None:
        """Release everything and stop the switch processes (safe to call more than once)."""
        try:
            self.release()
        finally:
            for switch in self.switches.values():
                switch.stop()
            self.switches = {}
