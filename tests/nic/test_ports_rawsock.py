"""Linux interfaces as ports, on a veth pair made for the test (needs root and `ip`)."""
import os
import shutil
import socket
import subprocess
import time

import pytest

from p4nic.nic.ports import PortError
from p4nic.nic.ports.rawsock import RawSocketPort

ETH_P_ALL = 0x0003


def run_ip(*args):
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


@pytest.fixture
def veth_pair():
    """Two ends of a fresh veth pair, up, with IPv6 off so the kernel sends nothing on its own."""
    if os.geteuid() != 0:
        pytest.skip("raw sockets and veth pairs need root")
    if shutil.which("ip") is None:
        pytest.skip("the `ip` tool (iproute2) is not installed")
    a, b = f"p4r{os.getpid() % 100000}a", f"p4r{os.getpid() % 100000}b"
    made = run_ip("link", "add", a, "type", "veth", "peer", "name", b)
    if made.returncode != 0:
        pytest.skip(f"cannot create a veth pair here: {made.stderr.strip()}")
    try:
        for name in (a, b):
            disable = f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6"
            if os.path.exists(disable):
                with open(disable, "w") as f:
                    f.write("1")
            run_ip("link", "set", name, "up")
        yield a, b
    finally:
        run_ip("link", "del", a)


def frame(marker: bytes, ethertype=b"\x88\xb5") -> bytes:
    """An Ethernet frame with a local-experimental ethertype, so stray traffic is told apart."""
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + ethertype + marker.ljust(46, b"\0")


def collect(port, want, timeout=30.0):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        got += [p for p in port.receive(16) if p[1][12:14] in (b"\x88\xb5", b"\x81\x00")]
        time.sleep(0.01)
    return got


def test_packets_in_and_out_of_an_interface(veth_pair):
    a, b = veth_pair
    port = RawSocketPort(3, a)
    peer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    peer.bind((b, ETH_P_ALL))
    peer.settimeout(3)
    try:
        assert port.ports == {3} and port.fileno() >= 0
        peer.send(frame(b"hello"))
        assert collect(port, 1) == [(3, frame(b"hello"))]

        port.transmit([(3, frame(b"from-switch"))])
        while True:  # the peer socket also sees what it sends; skip to our frame
            data = peer.recv(2048)
            if data[14:25] == b"from-switch":
                break
        assert data == frame(b"from-switch")
        # what the switch sent out of the interface is not read back as received
        assert collect(port, 1, timeout=0.3) == []
    finally:
        peer.close()
        port.close()


def test_vlan_tag_reaches_the_pipeline(veth_pair):
    a, b = veth_pair
    port = RawSocketPort(1, a)
    peer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    peer.bind((b, ETH_P_ALL))
    try:
        tagged = frame(b"\x00\x05\x88\xb5" + b"tagged", ethertype=b"\x81\x00")
        peer.send(tagged)
        assert collect(port, 1) == [(1, tagged)]
    finally:
        peer.close()
        port.close()


def test_missing_interface_is_a_clear_error():
    if os.geteuid() != 0:
        pytest.skip("raw sockets need root")
    with pytest.raises(PortError, match="cannot open interface 'no-such-if0'"):
        RawSocketPort(1, "no-such-if0")
