"""Shared by the DSL tests: the repository's examples, and NICs to install a file's entities
on — `p4nic switch` processes running p4src/vnic.p4 and pnic.p4 (or any program), reached
over gRPC and their nanomsg packet socket exactly as BMv2 would be."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from p4.v1 import p4runtime_pb2

from p4nic.compiler.cli import serialize_p4info
from p4nic.runtime.wire import PacketWire
from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import EntityBuilder
from p4nic.runtime.local_switch import LocalSwitch

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CPU_PORT = 255
MARKER_PORT = 100          # no example sends anything there: the end-of-exchange marker's port
DEADLINE = 30.0            # seconds; only a failing test waits this long


class NicUnderTest:
    """A running NIC: `install` a NicEntries, `exchange` frames, read packet-ins."""

    def __init__(self, json_path: Path, p4info_path: Path, workdir: Path, sentinel=None):
        """`sentinel(n)`: (in port, frame, out port) of a frame that leaves by `out port`
        carrying its payload, for programs without p4src's packet_out header."""
        self.switch = LocalSwitch(json_path, workdir, p4info_path=p4info_path,
                                  cpu_port=CPU_PORT)
        self.sentinel = sentinel
        self._markers = 0
        try:
            self.conn = Connection(self.switch.grpc_addr, election_id=(0, 1))
            self.conn.set_pipeline(p4info_path, json_path.read_bytes())
            self.p4 = EntityBuilder(p4info_path)
            self.wire = PacketWire(self.switch.packet_socket)
            if sentinel is None:
                self.check_wire()
        except BaseException:
            self.switch.stop()
            raise

    def check_wire(self) -> None:
        marker = self._marker()
        assert any(marker(out) for out in self._until(marker)), \
            "nothing came back on the packet socket"

    def install(self, nic_entries) -> None:
        """Write the file's entities as plan/apply would on an empty NIC: inserts in the
        order given, default entries as modifies."""
        updates = []
        for desired in nic_entries.entities:
            entity = desired.entity
            default = (entity.WhichOneof("entity") == "table_entry"
                       and entity.table_entry.is_default_action)
            kind = p4runtime_pb2.Update.MODIFY if default else p4runtime_pb2.Update.INSERT
            updates.append(p4runtime_pb2.Update(type=kind, entity=entity))
        self.conn.write(updates)

    def uninstall(self, nic_entries) -> None:
        """Delete what `install` wrote (reverse order) and reset the file's defaults."""
        updates = []
        for desired in reversed(nic_entries.entities):
            entity = p4runtime_pb2.Entity()
            entity.CopyFrom(desired.entity)
            if entity.WhichOneof("entity") == "table_entry" and entity.table_entry.is_default_action:
                entity.table_entry.ClearField("action")
                entity.table_entry.ClearField("metadata")
                updates.append(p4runtime_pb2.Update(type=p4runtime_pb2.Update.MODIFY,
                                                    entity=entity))
            else:
                updates.append(p4runtime_pb2.Update(type=p4runtime_pb2.Update.DELETE,
                                                    entity=entity))
        self.conn.write(updates)

    def _marker(self):
        """Send a frame that comes back unmistakably, after every frame sent before it (the
        NIC handles one socket's frames in order); returns the test that recognises it.
        p4src: a packet-out through the packet socket (a frame on the CPU port) leaving by
        MARKER_PORT."""
        self._markers += 1
        tag = f"marker {self._markers}".encode()
        if self.sentinel is not None:
            port, frame, out_port = self.sentinel(tag)
            self.wire.send(port, frame)
            return lambda out: out[0] == out_port and out[1].endswith(tag)
        frame = b"\xff" * 6 + b"\x02" + b"\x00" * 5 + b"\x88\xb5" + tag
        value = width = 0           # the packet_out header: port MARKER_PORT, mode DIRECT
        for field in self.p4.names.packet_metadata("packet_out").metadata:
            value = (value << field.bitwidth) | (MARKER_PORT if field.name == "port" else 0)
            width += field.bitwidth
        header = value.to_bytes(width // 8, "big")
        self.wire.send(CPU_PORT, header + frame)
        return lambda out: out == (MARKER_PORT, frame)

    def _until(self, marker) -> list:
        seen = []
        deadline = time.monotonic() + DEADLINE
        while not any(marker(out) for out in seen) and time.monotonic() < deadline:
            seen += self.wire.receive()
            if not any(marker(out) for out in seen):
                time.sleep(0.002)
        return seen

    def exchange(self, port: int, frame) -> list:
        """Put `frame` on `port`; every (port, frame) it caused to leave the NIC."""
        self.wire.send(port, bytes(frame))
        marker = self._marker()
        return [out for out in self._until(marker) if not marker(out)]

    def frames(self, count: int) -> list:
        """The next `count` frames the NIC sends (for frames a packet-out causes, which come
        by gRPC, so no marker on the packet socket can follow them)."""
        seen = []
        deadline = time.monotonic() + DEADLINE
        while len(seen) < count and time.monotonic() < deadline:
            seen += self.wire.receive()
            if len(seen) < count:
                time.sleep(0.002)
        return seen

    def packet_in(self):
        """The next packet-in as (payload, {field: value}); fails after DEADLINE."""
        message = self.conn.packet_in(timeout=DEADLINE)
        assert message is not None, f"no packet-in within {DEADLINE} s"
        found = self.p4.parse_packet_in(message)
        return found.payload, found.metadata

    def close(self) -> None:
        try:
            self.wire.close()
            self.conn.close()
        finally:
            self.switch.stop()


@pytest.fixture(scope="session")
def programs(tmp_path_factory):
    """BMv2 JSON and P4Info files of p4src/vnic.p4 and pnic.p4, compiled once."""
    from p4nic.pipelines import compiled
    out = tmp_path_factory.mktemp("pipelines")
    found = {}
    for name in ("vnic", "pnic"):
        result = compiled(name)
        json_path, p4info_path = out / f"{name}.json", out / f"{name}.p4info.txtpb"
        json_path.write_text(json.dumps(result.bmv2_json))
        p4info_path.write_bytes(serialize_p4info(result.p4info, "text"))
        found[name] = (json_path, p4info_path)
    return found


def running(programs, name, tmp_path_factory):
    json_path, p4info_path = programs[name]
    return NicUnderTest(json_path, p4info_path, tmp_path_factory.mktemp(name))


@pytest.fixture(scope="module")
def vnic(programs, tmp_path_factory):
    nic = running(programs, "vnic", tmp_path_factory)
    yield nic
    nic.close()


@pytest.fixture(scope="module")
def pnic(programs, tmp_path_factory):
    nic = running(programs, "pnic", tmp_path_factory)
    yield nic
    nic.close()
