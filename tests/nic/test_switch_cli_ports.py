"""`p4nic switch` as a process on each kind of port: pcap files (--use-files), Linux interfaces
with --pcap capture, and the P4Runtime server it starts."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from p4nic.nic.ports.pcap import PcapError, PcapWriter, read_pcap
from p4nic.processes import free_port

ROUTER = Path(__file__).parent.parent / "stf" / "programs" / "l3_router.json"
ETH = bytes.fromhex("0000000000AA 0000000000BB 0800")
ETH_P_ALL = 0x0003


def ipv4(dst: str) -> bytes:
    return bytes.fromhex("45000014 00000000 4006 0000 C0A80001") + socket.inet_aton(dst)


def routed_program(path: Path) -> None:
    """The router with const routes 10.0.0.0/8 -> port 2 and 10.10.0.0/16 -> port 3."""
    program = json.loads(ROUTER.read_text())
    table = program["pipelines"][0]["tables"][0]
    forward = next(a["id"] for a in program["actions"] if a["name"] == "MyIngress.forward")
    table["entries"] = [
        {"match_key": [{"match_type": "lpm", "key": key, "prefix_length": plen}],
         "action_entry": {"action_id": forward, "action_data": [port, mac]}, "priority": prio}
        for prio, (key, plen, port, mac) in enumerate(
            [("0x0a0a0000", 16, "0x0003", "0x000000000303"), ("0x0a000000", 8, "0x0002", "0x000000000202")])]
    path.write_text(json.dumps(program))


def captured(path: Path) -> list[bytes]:
    """Packets in a pcap file the switch may not have created yet."""
    return [p for _, p in read_pcap(path)] if path.exists() else []


def captured_so_far(path: Path) -> list[bytes]:
    """Packets in a capture being written: none yet if a read meets a record half written."""
    try:
        return captured(path)
    except PcapError:
        return []


def start_switch(tmp_path, *args):
    out = open(tmp_path / "switch.out", "w")
    proc = subprocess.Popen([sys.executable, "-m", "p4nic.cli", "switch", *args],
                            stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    return proc, out


def wait_for(condition, proc, tmp_path, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail("switch output:\n" + (tmp_path / "switch.out").read_text())
        time.sleep(0.05)


def stop(proc, out):
    proc.terminate()
    try:
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        out.close()


def test_use_files_reads_inputs_and_writes_outputs(tmp_path):
    routed_program(tmp_path / "router.json")
    writer = PcapWriter(tmp_path / "p1_in.pcap")
    for i, dst in enumerate(["10.1.2.3", "10.10.0.9", "11.0.0.1", "10.200.0.1"]):
        writer.write(ETH + ipv4(dst), timestamp=1000.0 + i)
    writer.close()
    for name in ("p2", "p3"):
        PcapWriter(tmp_path / f"{name}_in.pcap").close()
    proc, out = start_switch(tmp_path, "router.json", "-i", "1@p1", "-i", "2@p2", "-i", "3@p3",
                             "--use-files", "0", "--", "--grpc-server-addr", "127.0.0.1:0")
    try:
        wait_for(lambda: len(captured(tmp_path / "p2_out.pcap")) == 2
                 and len(captured(tmp_path / "p3_out.pcap")) == 1, proc, tmp_path)
    finally:
        stop(proc, out)
    to_port2 = captured(tmp_path / "p2_out.pcap")
    assert [p[30:34] for p in to_port2] == [socket.inet_aton("10.1.2.3"), socket.inet_aton("10.200.0.1")]
    assert to_port2[0][:6] == bytes.fromhex("000000000202") and to_port2[0][22] == 0x3F
    assert captured(tmp_path / "p1_out.pcap") == []
    assert "Adding interface p1 as port 1 (files)" in (tmp_path / "switch.out").read_text()


MANY = 20000  # frames through one switch process: tens of thousands, every one counted


def numbered_frames(count: int) -> list[bytes]:
    """IPv4 frames to 10.1.x.y (routed to port 2), told apart by their identification and
    destination."""
    frames = []
    for i in range(count):
        ip = bytearray(ipv4(f"10.1.{i >> 8 & 0xFF}.{i & 0xFF}"))
        ip[4:6] = (i & 0xFFFF).to_bytes(2, "big")
        frames.append(ETH + bytes(ip))
    return frames


def routed_key(frame: bytes) -> bytes:
    """What a routed frame keeps of its input frame: identification and destination."""
    return frame[18:20] + frame[30:34]


def test_use_files_delivers_every_frame_and_writes_them_while_running(tmp_path):
    routed_program(tmp_path / "router.json")
    frames = numbered_frames(MANY)
    writer = PcapWriter(tmp_path / "p1_in.pcap")
    writer.write_many(frames, 1000.0)
    writer.close()
    PcapWriter(tmp_path / "p2_in.pcap").close()
    proc, out = start_switch(tmp_path, "router.json", "-i", "1@p1", "-i", "2@p2",
                             "--use-files", "0", "--", "--grpc-server-addr", "127.0.0.1:0")
    try:
        # read while the switch runs: output is written as it leaves, not when the switch stops
        wait_for(lambda: len(captured_so_far(tmp_path / "p2_out.pcap")) >= MANY, proc, tmp_path)
        assert proc.poll() is None
        routed = captured(tmp_path / "p2_out.pcap")
    finally:
        stop(proc, out)
    assert len(routed) == MANY
    assert [routed_key(f) for f in routed] == [routed_key(f) for f in frames]  # all, in order
    assert all(f[:6] == bytes.fromhex("000000000202") and f[22] == 0x3F for f in routed)


def test_nanomsg_delivers_every_frame(tmp_path):
    from p4nic.runtime.local_switch import LocalSwitch
    from p4nic.runtime.wire import PacketWire

    routed_program(tmp_path / "router.json")
    frames = numbered_frames(MANY)
    window = 500  # frames in flight: well inside the switch's queues, so none may be dropped
    received = []
    with LocalSwitch(tmp_path / "router.json", tmp_path) as switch:
        with PacketWire(switch.packet_socket) as wire:
            for first in range(0, MANY, window):
                for frame in frames[first:first + window]:
                    wire.send(1, frame)
                expected = min(window, MANY - first)
                got = wire.receive(timeout=120, count=expected)
                assert len(got) == expected, f"{first + len(got)} of {MANY} frames came back"
                received += got
    assert {port for port, _ in received} == {2}
    assert [routed_key(f) for _, f in received] == [routed_key(f) for f in frames]


@pytest.fixture
def two_veth_pairs():
    if os.geteuid() != 0:
        pytest.skip("raw sockets and veth pairs need root")
    if shutil.which("ip") is None:
        pytest.skip("the `ip` tool (iproute2) is not installed")
    tag = os.getpid() % 100000
    pairs = [(f"p4s{tag}a{i}", f"p4s{tag}b{i}") for i in (1, 2)]
    made = []
    try:
        for a, b in pairs:
            r = subprocess.run(["ip", "link", "add", a, "type", "veth", "peer", "name", b],
                               capture_output=True, text=True)
            if r.returncode != 0:
                pytest.skip(f"cannot create a veth pair here: {r.stderr.strip()}")
            made.append(a)
            for name in (a, b):
                disable = f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6"
                if os.path.exists(disable):
                    Path(disable).write_text("1")
                subprocess.run(["ip", "link", "set", name, "up"], check=True)
        yield pairs
    finally:
        for a in made:
            subprocess.run(["ip", "link", "del", a], capture_output=True)


def test_interfaces_forward_and_pcap_captures(tmp_path, two_veth_pairs):
    (a1, b1), (a2, b2) = two_veth_pairs
    routed_program(tmp_path / "router.json")
    captures = tmp_path / "pcaps"
    captures.mkdir()
    proc, out = start_switch(tmp_path, "router.json", "-i", f"1@{a1}", "-i", f"2@{a2}",
                             "--pcap", str(captures), "--", "--grpc-server-addr", "127.0.0.1:0")
    sender = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sender.bind((b1, ETH_P_ALL))
    receiver = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    receiver.bind((b2, ETH_P_ALL))
    receiver.settimeout(0.2)
    frame = ETH + ipv4("10.7.7.7") + b"payload!"
    try:
        wait_for(lambda: "Server listening" in (tmp_path / "switch.out").read_text(), proc, tmp_path)
        got = None
        deadline = time.monotonic() + 60
        while got is None and time.monotonic() < deadline:
            sender.send(frame)
            try:
                data = receiver.recv(2048)
                if data[30:34] == socket.inet_aton("10.7.7.7"):
                    got = data
            except socket.timeout:
                pass
        assert got is not None, "routed packet never left the second interface"
        assert got[:12] == bytes.fromhex("000000000202 0000000000AA") and got[22] == 0x3F
    finally:
        sender.close()
        receiver.close()
        stop(proc, out)
    assert frame in captured(captures / f"{a1}_in.pcap")
    assert got in captured(captures / f"{a2}_out.pcap")


def test_p4runtime_server_answers(tmp_path):
    import grpc
    from p4nic.proto import p4runtime_pb2, p4runtime_pb2_grpc

    port = free_port()
    proc, out = start_switch(tmp_path, "--no-p4", "--device-id", "4",
                             "--", "--grpc-server-addr", f"127.0.0.1:{port}", "--cpu-port", "255")
    try:
        wait_for(lambda: "Server listening on 127.0.0.1:" in (tmp_path / "switch.out").read_text(),
                 proc, tmp_path)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = p4runtime_pb2_grpc.P4RuntimeStub(channel)
            caps = stub.Capabilities(p4runtime_pb2.CapabilitiesRequest(), timeout=60)
            assert caps.p4runtime_api_version
            stub.GetForwardingPipelineConfig(  # --device-id reached the server
                p4runtime_pb2.GetForwardingPipelineConfigRequest(device_id=4), timeout=60)
            with pytest.raises(grpc.RpcError) as e:
                stub.GetForwardingPipelineConfig(
                    p4runtime_pb2.GetForwardingPipelineConfigRequest(device_id=0), timeout=60)
            assert e.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        stop(proc, out)


def test_start_up_errors_are_reported_not_raised(tmp_path):
    not_a_program = tmp_path / "not_a_program.json"
    not_a_program.write_text('{"pipelines": 3}')
    r = subprocess.run([sys.executable, "-m", "p4nic.cli", "switch", str(not_a_program)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and f"cannot load '{not_a_program}'" in r.stderr
    assert "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "p4nic.cli", "switch", str(ROUTER), "-i", "1@no-such-if9",
                        "--", "--grpc-server-addr", "127.0.0.1:0"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "no-such-if9" in r.stderr and "Traceback" not in r.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "p4nic.cli", "switch", str(ROUTER),
                            "--packet-in", f"ipc://{tmp_path}/x.ipc", "--", "--grpc-server-addr",
                            f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and f"127.0.0.1:{port}" in r.stderr and "Traceback" not in r.stderr


def test_a_grpc_port_in_use_stops_a_second_switch(tmp_path):
    """gRPC binds with SO_REUSEPORT by default, which would let a second switch start on the
    same port and take half of the P4Runtime connections; it must fail to start instead."""
    import grpc
    from p4nic.proto import p4runtime_pb2, p4runtime_pb2_grpc

    first, out = start_switch(tmp_path, "--no-p4", "--packet-in", f"ipc://{tmp_path}/first.ipc",
                              "--", "--grpc-server-addr", "127.0.0.1:0")
    try:
        wait_for(lambda: "Server listening on" in (tmp_path / "switch.out").read_text(),
                 first, tmp_path)
        address = re.search(r"Server listening on (\S+)", (tmp_path / "switch.out").read_text())[1]
        second = subprocess.run(
            [sys.executable, "-m", "p4nic.cli", "switch", "--no-p4", "--packet-in",
             f"ipc://{tmp_path}/second.ipc", "--", "--grpc-server-addr", address],
            capture_output=True, text=True, timeout=120)
        assert second.returncode == 1, second.stdout + second.stderr
        assert "Server listening" not in second.stdout
        assert f"cannot bind the P4Runtime server to {address}: address already in use" in second.stderr
        assert "Traceback" not in second.stderr
        with grpc.insecure_channel(address) as channel:     # the first one serves on
            stub = p4runtime_pb2_grpc.P4RuntimeStub(channel)
            assert stub.Capabilities(p4runtime_pb2.CapabilitiesRequest(), timeout=60)
    finally:
        stop(first, out)


@pytest.mark.parametrize("address, message", [
    ("localhost", "'localhost' has no port"),
    ("127.0.0.1:", "'' is not a port number"),
    ("localhost:grpc", "'grpc' is not a port number"),
    ("127.0.0.1:65536", "'65536' is not a port number"),
    ("[::1]", "'[::1]' has no port"),
])
def test_a_grpc_address_without_a_good_port_is_a_usage_error(address, message):
    r = subprocess.run([sys.executable, "-m", "p4nic.cli", "switch", "--no-p4", "--",
                        "--grpc-server-addr", address], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert "Server listening" not in r.stdout
