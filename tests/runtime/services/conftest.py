"""A VNIC (p4src/vnic.p4) as a `p4nic switch` process, shared by the tests that hold the guest
service engine against the P4 tier: P4Runtime over gRPC (the default role pushes the pipeline
and reads counters, the guest role writes its flow table) and packets over the nanomsg socket.
"""
import time
from pathlib import Path

import pytest
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from p4nic.demo.host import NicController
from p4nic.runtime.wire import PacketWire
from p4nic.runtime.local_switch import LocalSwitch, LocalSwitchError, compile_p4
from p4nic.runtime.nicdefs import PKT_OUT_DIRECT
from svc_helpers import DEADLINE

VNIC_P4 = Path(__file__).resolve().parents[3] / "p4src" / "vnic.p4"
CPU_PORT = 255
MARKER_PORT = 100       # no test uses it: the port the end-of-exchange marker leaves by


class Vnic:
    """The running VNIC: `exchange` a frame on a port, the guest's controller, counters."""

    def __init__(self, switch: LocalSwitch):
        self.switch = switch
        self.host = NicController("VNIC", "host", switch.grpc_addr, switch.p4info_path)
        self.host.conn.set_pipeline(switch.p4info_path, switch.json_path.read_bytes())
        self.guest = NicController("VNIC", "guest", switch.grpc_addr, switch.p4info_path,
                                   role="guest")
        self.wire = PacketWire(switch.packet_socket)
        self._markers = 0
        assert self._round_trip() == []           # the socket works end to end

    def exchange(self, port: int, frame: bytes) -> list:
        """Put `frame` on `port`; every (port, frame) it made the VNIC send."""
        self.wire.send(port, frame)
        return self._round_trip()

    def _round_trip(self) -> list:
        """A marker packet-out on the packet socket, and what the VNIC sent until it came back.
        The VNIC handles a socket's packets in order, so once the marker is back, a drop is
        as certain as a delivery."""
        self._markers += 1
        marker = bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src="00:00:00:00:0a:01", type=0x88B5)
                       / Raw(f"services test marker {self._markers}".encode()))
        header = self.host.controller_header(port=MARKER_PORT, mode=PKT_OUT_DIRECT)
        self.wire.send(CPU_PORT, header + marker)
        out = []
        deadline = time.monotonic() + DEADLINE
        while (MARKER_PORT, marker) not in out:
            assert time.monotonic() < deadline, f"the VNIC did not return the marker: {out}"
            out.extend(self.wire.receive())
            time.sleep(0.001)
        out.remove((MARKER_PORT, marker))
        return out

    def wait_for_frames(self) -> list:
        """Frames the VNIC sends by itself (a packet-out's result): wait for at least one."""
        deadline = time.monotonic() + DEADLINE
        while True:
            out = self.wire.receive()
            if out or time.monotonic() > deadline:
                return out
            time.sleep(0.001)

    def close(self):
        self.wire.close()
        self.guest.close()
        self.host.close()


@pytest.fixture(scope="session")
def vnic(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("services-vnic")
    try:
        json_path, p4info_path = compile_p4(VNIC_P4, workdir)
    except LocalSwitchError as exc:
        pytest.fail(f"`p4nic compile` cannot build p4src/vnic.p4: {exc}")
    with LocalSwitch(json_path, workdir, p4info_path=p4info_path, cpu_port=CPU_PORT) as switch:
        running = Vnic(switch)
        try:
            yield running
        finally:
            running.close()
