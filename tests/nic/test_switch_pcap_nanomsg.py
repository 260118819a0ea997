"""`p4nic switch --packet-in ADDR --pcap DIR` (the port mode PTF and the demo use) writes one
capture per port and direction, port<N>_in.pcap / port<N>_out.pcap, as a switch process."""
import time

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from p4nic.nic.ports.pcap import read_pcap
from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import EntityBuilder
from p4nic.runtime.local_switch import LocalSwitch
from p4nic.runtime.wire import PacketWire

GUEST_MAC = "00:00:00:00:0a:01"


def wait_for_packets(path, count, timeout=30.0):
    """The packets of a capture once it holds `count` (the switch writes as it forwards)."""
    deadline = time.monotonic() + timeout
    while True:
        packets = read_pcap(path) if path.exists() else []
        if len(packets) >= count or time.monotonic() > deadline:
            return [frame for _, frame in packets]
        time.sleep(0.05)


def test_pcap_captures_every_nanomsg_port(tmp_path):
    captures = tmp_path / "pcap"
    captures.mkdir()
    with LocalSwitch.pipeline("vnic", tmp_path, switch_args=["--pcap", str(captures)]) as switch:
        p4 = EntityBuilder(switch.p4info_path)
        with Connection(switch.grpc_addr, election_id=(0, 1)) as conn:
            conn.set_pipeline(switch.p4info_path, switch.json_path.read_bytes())
            conn.insert(p4.table_entry("filters", {"dstAddr": GUEST_MAC}, "filter_to_queue",
                                       {"queue": 3}, priority=10))
            frame = bytes(Ether(dst=GUEST_MAC) / IP(src="10.0.0.1", dst="10.0.0.5") / UDP())
            with PacketWire(switch.packet_socket) as wire:
                wire.send(0, frame)
                assert wire.expect(port=3, timeout=30) == (3, frame)
        assert wait_for_packets(captures / "port0_in.pcap", 1) == [frame]
        assert wait_for_packets(captures / "port3_out.pcap", 1) == [frame]
    assert sorted(p.name for p in captures.iterdir()) == ["port0_in.pcap", "port3_out.pcap"]
