"""BMv2's nanomsg packet protocol, spoken by the switch side against PTF's own nn client."""
import socket
import struct
import threading
import time

import pynng
import pytest
from ptf.dataplane import DataPlanePacketSourceNN

from p4nic.nic.ports import PortError
from p4nic.nic.ports.nanomsg import NanomsgPorts


def receive_until(ports, count, timeout=30.0):
    """Polls the switch side until `count` packets arrived (control messages yield none); the
    timeout is generous because only a failing test reaches it."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        got += ports.receive(64)
        time.sleep(0.005)
    return got


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def switch_side(tmp_path):
    ports = NanomsgPorts(f"ipc://{tmp_path}/packets.ipc")
    yield ports
    ports.close()


@pytest.fixture(params=["ipc", "tcp"])
def address(request, tmp_path):
    """Where the switch listens and PTF dials: an IPC path or a loopback TCP port."""
    if request.param == "ipc":
        return f"ipc://{tmp_path}/packets.ipc", f"ipc://{tmp_path}/packets.ipc"
    port = free_tcp_port()
    return f"tcp://*:{port}", f"tcp://127.0.0.1:{port}"


def test_ptf_client_packets_both_ways(address):
    listen, dial = address
    switch_side = NanomsgPorts(listen)
    ptf = DataPlanePacketSourceNN(0, dial, 30000, 30000)
    try:
        ptf.port_add(1)
        ptf.port_add(2)
        ptf.send(1, b"\x01" * 60)
        ptf.send(2, b"\x02" * 64)
        assert receive_until(switch_side, 2) == [(1, b"\x01" * 60), (2, b"\x02" * 64)]
        assert switch_side.ports_info == {1: True, 2: True}

        switch_side.transmit([(2, b"out-on-2"), (1, b"out-on-1")])
        device, port, data, _ = ptf.recv()
        assert (device, port, data) == (0, 2, b"out-on-2")
        assert ptf.recv()[1:3] == (1, b"out-on-1")
    finally:
        ptf.close()
        switch_side.close()


def test_control_messages_and_info_request(switch_side, tmp_path):
    client = pynng.Pair0(recv_timeout=30000, send_timeout=30000)
    client.dial(f"ipc://{tmp_path}/packets.ipc")
    try:
        client.send(struct.pack("<iii", 0, 7, 0))            # PORT_ADD 7
        client.send(struct.pack("<iii", 2, 7, 0))            # PORT_SET_STATUS 7 down (BMv2: 0 = down)
        client.send(struct.pack("<iii", 5, 7, 0))            # INFO_REQ 7, hardware address
        client.send(struct.pack("<iii", 3, 7, 3) + b"abc")   # PACKET_IN 7
        assert receive_until(switch_side, 1) == [(7, b"abc")]
        assert switch_side.ports_info == {7: False}
        reply = client.recv()
        assert struct.unpack("<iiii", reply) == (6, 7, 0, 1)  # INFO_REP, NOT_SUPPORTED
        client.send(struct.pack("<iii", 1, 7, 0))            # PORT_REMOVE 7
        client.send(b"\x01")                                  # garbage: ignored, logged
        client.send(struct.pack("<iii", 3, 8, 1) + b"z")
        assert receive_until(switch_side, 1) == [(8, b"z")]
        assert switch_side.ports_info == {}
    finally:
        client.close()


def test_transmit_without_peer_drops_instead_of_blocking(switch_side):
    switch_side.transmit([(1, b"x" * 64)] * 5)
    assert switch_side.dropped == 5


def test_tcp_wildcard_address_and_busy_address():
    port = free_tcp_port()
    ports = NanomsgPorts(f"tcp://*:{port}")
    try:
        with pytest.raises(PortError, match="cannot listen"):
            NanomsgPorts(f"tcp://127.0.0.1:{port}")
    finally:
        ports.close()
    with pytest.raises(PortError, match="cannot listen on packet-in address 'bogus://x'"):
        NanomsgPorts("bogus://x")


def test_close_returns_while_a_peer_has_stopped_reading(switch_side, tmp_path):
    """A peer that keeps its socket but reads nothing fills the socket buffers; closing the
    switch side still returns (the sender blocked on that peer is released)."""
    client = pynng.Pair0(recv_buffer_size=1, send_timeout=30000)
    client.dial(f"ipc://{tmp_path}/packets.ipc", block=True)
    try:
        client.send(struct.pack("<iii", 0, 1, 0))  # PORT_ADD 1: the switch has its peer
        deadline = time.monotonic() + 30
        while not switch_side.ports_info and time.monotonic() < deadline:
            switch_side.receive(64)
            time.sleep(0.01)
        # until the switch drops: its sender is then blocked on the full socket
        while not switch_side.dropped and time.monotonic() < deadline:
            switch_side.transmit([(1, b"x" * 1000)] * 64)
        assert switch_side.dropped
        closer = threading.Thread(target=switch_side.close, daemon=True)
        closer.start()
        closer.join(timeout=30)
        assert not closer.is_alive()
    finally:
        client.close()
