"""Shared by the DSL tests: the repository's examples, and NICs to apply files to — `p4nic
switch` processes running p4src/vnic.p4 and pnic.p4 (or any program), reached over gRPC and
their nanomsg packet socket exactly as BMv2 would be — with `p4nic apply` and `p4nic plan` run
as a user runs them."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from p4nic.compiler.cli import serialize_p4info
from p4nic.runtime.wire import PacketWire
from p4nic.runtime.connection import Connection, P4RuntimeClientError
from p4nic.runtime.entities import EntityBuilder
from p4nic.runtime.local_switch import LocalSwitch

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CPU_PORT = 255
MARKER_PORT = 100          # no example sends anything there: the end-of-exchange marker's port
DEADLINE = 30.0            # seconds; only a failing test waits this long
# The tests' own controller takes the default role with the election id of the examples (1): it
# steps aside while a file's `p4nic apply` takes the NIC (`apply_file`), and comes back after.
ELECTION_ID = (0, 1)


class NicUnderTest:
    """A running NIC: `exchange` frames, read packet-ins, send packet-outs."""

    def __init__(self, json_path: Path, p4info_path: Path, workdir: Path, sentinel=None):
        """`sentinel(n)`: (in port, frame, out port) of a frame that leaves by `out port`
        carrying its payload, for programs without p4src's packet_out header."""
        self.switch = LocalSwitch(json_path, workdir, p4info_path=p4info_path,
                                  cpu_port=CPU_PORT)
        self.grpc_addr = self.switch.grpc_addr
        self.sentinel = sentinel
        self._markers = 0
        try:
            self.conn = Connection(self.grpc_addr, election_id=ELECTION_ID)
            self.conn.set_pipeline(p4info_path, json_path.read_bytes())
            self.p4 = EntityBuilder(p4info_path)
            self.wire = PacketWire(self.switch.packet_socket)
            if sentinel is None:
                self.check_wire()
        except BaseException:
            self.switch.stop()
            raise

    @contextmanager
    def stepped_aside(self):
        """Without the tests' controller inside the block; its primary again after it (once the
        block's own controllers have left the NIC)."""
        self.conn.close()
        try:
            yield
        finally:
            deadline = time.monotonic() + DEADLINE
            while True:
                try:
                    self.conn = Connection(self.grpc_addr, election_id=ELECTION_ID)
                    if self.conn.is_primary:
                        break
                    self.conn.close()
                except P4RuntimeClientError:
                    pass
                assert time.monotonic() < deadline, "the tests' controller is not primary again"
                time.sleep(0.05)

    def check_wire(self) -> None:
        marker = self._marker()
        assert any(marker(out) for out in self._until(marker)), \
            "nothing came back on the packet socket"

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
        self.wire.send(CPU_PORT, self._packet_out_header(MARKER_PORT) + frame)
        return lambda out: out == (MARKER_PORT, frame)

    def _packet_out_header(self, port: int) -> bytes:
        """p4src's packet_out header as it arrives on the CPU port: `port`, every other field
        0 (mode DIRECT), laid out by the P4Info's packet_out metadata."""
        value = width = 0
        for field in self.p4.names.packet_metadata("packet_out").metadata:
            value = (value << field.bitwidth) | (port if field.name == "port" else 0)
            width += field.bitwidth
        return value.to_bytes((width + 7) // 8, "big")

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


def p4nic(*argv, cwd=None) -> subprocess.CompletedProcess:
    """A `p4nic` command as a process."""
    return subprocess.run([sys.executable, "-m", "p4nic.cli", *map(str, argv)],
                          capture_output=True, text=True, timeout=600, cwd=cwd)


def targets(nics: dict) -> list:
    return [f"--target={name}={nic.grpc_addr}" for name, nic in nics.items()]


def apply_file(path, **nics) -> str:
    """`p4nic apply FILE --target NAME=ADDRESS ...` as a user runs it, then `p4nic plan
    --detailed-exitcode`, which must find nothing left to do; apply's output."""
    with ExitStack() as aside:
        for nic in nics.values():
            aside.enter_context(nic.stepped_aside())
        applied = p4nic("apply", path, *targets(nics))
        assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
        assert "Traceback" not in applied.stdout + applied.stderr
        planned = p4nic("plan", path, *targets(nics), "--detailed-exitcode")
        assert planned.returncode == 0, planned.stdout[-3000:] + planned.stderr[-3000:]
    return applied.stdout


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
