"""Shared by the DSL tests: the repository's examples, and NICs to apply files to — `p4nic
switch` processes running p4src/vnic.p4 and pnic.p4 (or any program), reached over gRPC and
their nanomsg packet socket exactly as BMv2 would be — with `p4nic apply` and `p4nic plan` run
as a user runs them."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
# The tests' own controller, beside the files' (which take the default role with their election
# id, 1 unless a file says otherwise): every role's primary gets the packet-ins, and a role of
# its own never stands in the way of `p4nic apply`.
OBSERVER_ROLE = "observer"


class NicUnderTest:
    """A running NIC: `exchange` frames, read packet-ins, send packet-outs (as the observer)."""

    def __init__(self, json_path: Path, p4info_path: Path, workdir: Path, sentinel=None):
        """`sentinel(n)`: (in port, frame, out port) of a frame that leaves by `out port`
        carrying its payload, for programs without p4src's packet_out header."""
        self.switch = LocalSwitch(json_path, workdir, p4info_path=p4info_path,
                                  cpu_port=CPU_PORT)
        self.grpc_addr = self.switch.grpc_addr
        self.sentinel = sentinel
        self._markers = 0
        try:
            _push_pipeline(self.grpc_addr, p4info_path, json_path.read_bytes())
            self.conn = Connection(self.grpc_addr, election_id=(0, 1), role=OBSERVER_ROLE)
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


def _push_pipeline(address: str, p4info_path: Path, config: bytes) -> None:
    """Push the program as the default role's primary, then step down (a lower election id,
    answered before this returns), so that a file's `p4nic apply` with election id 1 is
    primary at once, however soon after."""
    with Connection(address, election_id=(0, 1)) as conn:
        conn.set_pipeline(p4info_path, config)
        conn.election_id = (0, 0)
        assert not conn.arbitrate()


def p4nic(*argv, cwd=None) -> subprocess.CompletedProcess:
    """A `p4nic` command as a process."""
    return subprocess.run([sys.executable, "-m", "p4nic.cli", *map(str, argv)],
                          capture_output=True, text=True, timeout=600, cwd=cwd)


def targets(nics: dict) -> list:
    return [f"--target={name}={nic.grpc_addr}" for name, nic in nics.items()]


def apply_file(path, **nics) -> str:
    """`p4nic apply FILE --target NAME=ADDRESS ...` as a user runs it, then `p4nic plan
    --detailed-exitcode`, which must find nothing left to do; apply's output."""
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
