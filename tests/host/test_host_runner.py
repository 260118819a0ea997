"""The host runner: a VNIC and a PNIC as switch processes, wired by the vswitch, reached by users
over the vswitch's packet sockets and the NICs' own P4Runtime servers."""
import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from p4nic.runtime.wire import PacketWire
from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import EntityBuilder
from p4nic.runtime.host import Host, HostNic
from p4nic.runtime.tunnels import encapsulate

VF = 1
VNI = 100


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    running = Host([HostNic("vm1", "vnic"), HostNic("host1", "pnic", device_id=1)],
                   links=[("vm1", 0, "host1", VF)], run_dir=tmp_path_factory.mktemp("up"))
    running.start()
    yield running
    running.stop()


def wait_for(wire, count=1, deadline=20.0):
    return wire.receive(timeout=deadline, count=count)


def frame(dst="10.0.0.2", dport=80):
    return bytes(Ether(src="00:00:00:00:0b:01", dst="00:00:00:00:0a:01")
                 / IP(src="10.0.0.1", dst=dst) / TCP(sport=1234, dport=dport) / b"payload")


def test_endpoints_name_every_nic(host):
    endpoints = host.endpoints()
    assert set(endpoints) == {"vm1", "host1"}
    assert endpoints["vm1"]["ports_wired"] == [0]
    assert endpoints["host1"]["ports_wired"] == [VF]
    for name, nic in endpoints.items():
        with Connection(nic["p4runtime"], device_id=nic["device_id"], election_id=(0, 9)) as conn:
            assert conn.get_p4info().tables, f"{name}: pipeline was pushed"


def test_uplink_frame_crosses_pnic_and_vnic_to_a_guest_queue(host):
    endpoints = host.endpoints()
    pnic = endpoints["host1"]
    p4 = EntityBuilder(pnic["p4info"])
    with Connection(pnic["p4runtime"], device_id=1, election_id=(0, 9)) as conn:
        conn.insert(p4.table_entry("policy", {"dir": 0, "vni": VNI}, "policy_forward",
                                   {"port": VF}, priority=1))
        inner = frame()
        outer = bytes(encapsulate(inner, "geneve", VNI, outer_smac="00:00:00:00:bb:01",
                                  outer_dmac="00:00:00:00:aa:01", sip="192.0.2.2",
                                  dip="192.0.2.1"))
        uplink = PacketWire(pnic["packet_socket"])
        guest = PacketWire(endpoints["vm1"]["packet_socket"])
        try:
            uplink.send(0, outer)
            received = wait_for(guest)
        finally:
            uplink.close()
            guest.close()
            conn.delete(p4.table_entry("policy", {"dir": 0, "vni": VNI}, priority=1))
    assert received == [(1, inner)]
    assert host.vswitch.stats[("host1", VF, "out")].packets >= 1


def test_guest_frame_crosses_vnic_and_pnic_to_the_uplink(host):
    endpoints = host.endpoints()
    pnic = endpoints["host1"]
    p4 = EntityBuilder(pnic["p4info"])
    entry = p4.table_entry("policy", {"dir": 1}, "policy_forward", {"port": 0}, priority=1)
    with Connection(pnic["p4runtime"], device_id=1, election_id=(0, 9)) as conn:
        conn.insert(entry)
        guest = PacketWire(endpoints["vm1"]["packet_socket"])
        uplink = PacketWire(pnic["packet_socket"])
        sent = frame(dst="10.0.0.1", dport=443)
        try:
            guest.send(2, sent)
            received = wait_for(uplink)
        finally:
            guest.close()
            uplink.close()
            conn.delete(p4.table_entry("policy", {"dir": 1}, priority=1))
    assert received == [(0, sent)]
