"""The port loop on a real Device: batching, routing output to the owning port, the CPU port."""
import json
import socket
import time
from pathlib import Path

from p4nic.nic.device import Device
from p4nic.nic.ports.dataplane import Dataplane
from p4nic.nic.ports.files import FilePorts
from p4nic.nic.ports.pcap import PcapWriter, read_pcap

ROUTER = Path(__file__).parent.parent / "stf" / "programs" / "l3_router.json"
ETH = bytes.fromhex("0000000000AA 0000000000BB 0800")


def packet(dst: str) -> bytes:
    return ETH + bytes.fromhex("45000014 00000000 4006 0000 C0A80001") + socket.inet_aton(dst)


def router(cpu_port=None) -> Device:
    """The L3 router with routes 10.2/16 -> port 2, 10.3/16 -> port 3, 10.9/16 -> port 9."""
    device = Device(cpu_port=cpu_port)
    device.load(json.loads(ROUTER.read_text()))
    table = device.state.tables["MyIngress.ipv4_lpm"]
    forward = device.state.action_ids["MyIngress.forward"]
    for port in (2, 3, 9):
        table.add([(0x0A000000 | port << 16, 16)], forward, (port, 0x0202))
    return device


def files(tmp_path, inputs: dict[str, list[bytes]], wait=0.0):
    for name, packets in inputs.items():
        writer = PcapWriter(tmp_path / f"{name}_in.pcap")
        for i, data in enumerate(packets):
            writer.write(data, timestamp=100.0 + i)
        writer.close()
    return FilePorts({int(name[1:]): name for name in inputs}, wait, directory=str(tmp_path))


def wait_until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_loop_routes_output_to_owning_ports_and_cpu(tmp_path):
    ports = files(tmp_path, {"p1": [packet("10.2.0.1"), packet("10.3.0.1"), packet("10.9.0.1"),
                                    packet("10.2.0.2")], "p2": [], "p3": []})
    to_cpu = []
    dataplane = Dataplane(router(cpu_port=9), [ports], cpu_port=9)
    dataplane.on_cpu_packets = to_cpu.extend
    dataplane.start()
    try:
        assert wait_until(lambda: len(to_cpu) == 1 and len(read_pcap(tmp_path / "p2_out.pcap")) == 2)
    finally:
        dataplane.stop()
    assert [p[30:34] for _, p in read_pcap(tmp_path / "p2_out.pcap")] == [
        socket.inet_aton("10.2.0.1"), socket.inet_aton("10.2.0.2")]
    assert [p[30:34] for _, p in read_pcap(tmp_path / "p3_out.pcap")] == [socket.inet_aton("10.3.0.1")]
    assert to_cpu[0][30:34] == socket.inet_aton("10.9.0.1")


def test_inject_from_another_thread_and_unowned_ports(tmp_path):
    ports = files(tmp_path, {"p2": []}, wait=3600)  # inputs never read: only injected packets
    dataplane = Dataplane(router(), [ports])
    dataplane.start()
    try:
        # port 9 has no owner and no CPU port is set: dropped, like BMv2 ports without interface
        dataplane.inject([(5, packet("10.2.7.7")), (5, packet("10.9.7.7"))])
    finally:
        dataplane.stop()
    assert [p[30:34] for _, p in read_pcap(tmp_path / "p2_out.pcap")] == [socket.inet_aton("10.2.7.7")]


def test_unreadable_input_stops_that_source_not_the_loop(tmp_path):
    (tmp_path / "p1_in.pcap").write_bytes(b"garbage, not a capture")
    broken = FilePorts({1: "p1"}, 0, directory=str(tmp_path))
    good = files(tmp_path, {"p3": [packet("10.3.1.1")]}, wait=0.2)
    dataplane = Dataplane(router(), [broken, good])
    dataplane.start()
    try:
        assert wait_until(lambda: len(read_pcap(tmp_path / "p3_out.pcap")) == 1)
    finally:
        dataplane.stop()
