"""Packet I/O on a running switch's packet socket: the public p4nic.runtime.wire.PacketWire and
the `p4nic send` / `p4nic sniff` commands, run as processes against a `p4nic switch` process
running the VNIC."""
import subprocess
import sys

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import EntityBuilder
from p4nic.runtime.local_switch import LocalSwitch
from p4nic.runtime.nicdefs import PKT_OUT_DIRECT
from p4nic.runtime.wire import PacketSocketBusy, PacketSocketError, PacketWire

P4NIC = [sys.executable, "-m", "p4nic.cli"]
GUEST_MAC = "00:00:00:00:0a:01"
FRAME = Ether(dst=GUEST_MAC) / IP(src="10.0.0.1", dst="10.0.0.5") / TCP(dport=80)


@pytest.fixture(scope="module")
def vnic(tmp_path_factory):
    """The VNIC with one filter: frames to GUEST_MAC from the uplink leave by queue 3."""
    with LocalSwitch.pipeline("vnic", tmp_path_factory.mktemp("vnic")) as switch:
        p4 = EntityBuilder(switch.p4info_path)
        with Connection(switch.grpc_addr, election_id=(0, 1)) as conn:
            conn.set_pipeline(switch.p4info_path, switch.json_path.read_bytes())
            conn.insert(p4.table_entry("filters", {"dstAddr": GUEST_MAC}, "filter_to_queue",
                                       {"queue": 3}, priority=10))
            yield switch, conn, p4


def p4nic(*args, timeout=120):
    return subprocess.run(P4NIC + list(args), capture_output=True, text=True, timeout=timeout)


def test_packet_wire_sends_scapy_frames_and_receives_per_port(vnic):
    switch, _, _ = vnic
    with PacketWire(switch.packet_socket) as wire:
        wire.send(0, FRAME)
        assert wire.expect(port=3, timeout=30) == (3, bytes(FRAME))
        wire.send(0, bytes(FRAME))
        wire.send(0, bytes(FRAME))
        assert wire.receive(timeout=30, count=2) == [(3, bytes(FRAME))] * 2
        assert wire.receive() == []
        assert wire.expect(port=3, timeout=0.2) is None
        with pytest.raises(ValueError, match="port 512 is outside 0..511"):
            wire.send(512, FRAME)


def test_send_prints_what_comes_out(vnic):
    switch, _, _ = vnic
    r = p4nic("send", switch.packet_socket, "0",
              f"Ether(dst='{GUEST_MAC}')/IP(src='10.0.0.1', dst='10.0.0.5')/TCP(dport=80)", "--wait", "2")
    assert r.returncode == 0, r.stderr
    assert "sent 1 frame of 54 bytes to port 0" in r.stdout
    assert "port 3: 54 bytes: Ether / IP / TCP 10.0.0.1:ftp_data > 10.0.0.5:http S" in r.stdout


def test_send_takes_hex_bytes(vnic):
    switch, _, _ = vnic
    r = p4nic("send", switch.packet_socket, "0", bytes(FRAME).hex(), "--wait", "2", "--hex")
    assert r.returncode == 0, r.stderr
    assert f"  {bytes(FRAME).hex()}" in r.stdout


def test_sniff_prints_frames_of_one_port_and_the_socket_is_one_peer(vnic):
    """sniff holds the PAIR socket: a packet-out over P4Runtime shows up in it, and a second
    peer (send, a PacketWire) is refused with a clear reason."""
    switch, conn, p4 = vnic
    sniff = subprocess.Popen(P4NIC + ["sniff", switch.packet_socket, "--port", "3", "--count",
                                      "1", "--timeout", "60"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "listening on" in sniff.stderr.readline()
        busy = p4nic("send", switch.packet_socket, "0", "Ether()")
        assert busy.returncode == 1
        assert "is busy: another client" in busy.stderr and "PAIR socket" in busy.stderr
        assert "Traceback" not in busy.stderr
        with pytest.raises(PacketSocketBusy):
            PacketWire(switch.packet_socket, timeout=2)
        frame = bytes(Ether(dst="00:00:00:00:0b:02") / IP(src="10.9.9.1", dst="10.9.9.9"))
        conn.send_packet_out(p4.packet_out(frame, port=4, mode=PKT_OUT_DIRECT))
        conn.send_packet_out(p4.packet_out(frame, port=3, mode=PKT_OUT_DIRECT))
        out, err = sniff.communicate(timeout=60)
    finally:
        if sniff.poll() is None:
            sniff.kill()
            sniff.wait()
    assert sniff.returncode == 0, err
    assert out.splitlines() == ["port 3: 34 bytes: Ether / 10.9.9.1 > 10.9.9.9 hopopt"]


def test_sniff_timeout_before_count_exits_1(vnic):
    switch, _, _ = vnic
    r = p4nic("sniff", switch.packet_socket, "--count", "1", "--timeout", "0.5")
    assert r.returncode == 1
    assert r.stdout == ""


def test_errors_are_clear(tmp_path, vnic):
    switch, _, _ = vnic
    nobody = p4nic("send", f"ipc://{tmp_path}/none.ipc", "0", "Ether()")
    assert nobody.returncode == 1
    assert nobody.stderr.startswith("p4nic send: error: cannot reach the packet socket")
    bad_frame = p4nic("send", switch.packet_socket, "0", "Ether(/")
    assert bad_frame.returncode == 2 and "cannot build a frame from" in bad_frame.stderr
    not_packet = p4nic("send", switch.packet_socket, "0", "3")
    assert not_packet.returncode == 2 and "is a int, not a scapy packet" in not_packet.stderr
    bad_port = p4nic("send", switch.packet_socket, "600", "Ether()")
    assert bad_port.returncode == 2 and "'600' is not a port number 0..511" in bad_port.stderr
    with pytest.raises(PacketSocketError, match="cannot reach"):
        PacketWire(f"ipc://{tmp_path}/none.ipc")
    for r in (nobody, bad_frame, not_packet, bad_port):
        assert "Traceback" not in r.stderr
