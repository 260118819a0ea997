"""The offload method running by itself on a real host: a VNIC and a PNIC as switch processes,
the guest's services in software behind the VNIC, the offload manager moving flows guest ->
VNIC -> PNIC and back. Packets go in at the PNIC's uplink and the guest's queue, over the
vswitch's packet sockets, exactly as a user's would."""
import ipaddress
import time

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import EntityBuilder
from p4nic.runtime.host import Host, HostNic
from p4nic.runtime.offload import GUEST, PNIC, VNIC, Nic, OffloadManager
from p4nic.runtime.services.engine import GuestServices
from p4nic.runtime.services.policy import (DestinationNat, FlowMatch, OffloadPolicy,
                                           ServicePolicy)
from p4nic.runtime.wire import PacketWire

VF = 1
QUEUE = 1
PEER, PEER_MAC = "10.0.0.1", "00:00:00:00:0b:01"
GUEST_IP, GUEST_MAC = "10.0.0.2", "00:00:00:00:0a:01"
CONTAINER = "192.168.1.2"
DEADLINE = 20.0


def dnat_policy(**offload) -> ServicePolicy:
    return ServicePolicy(
        dnat=(DestinationNat(FlowMatch(dst=ipaddress.ip_network(f"{GUEST_IP}/32"), proto=6,
                                       dport=((80, 80),)),
                             ipaddress.ip_address(CONTAINER), 8080),),
        offload=OffloadPolicy(**offload))


class Rig:
    """A running host with its offload manager, and the wires a test sends packets on."""

    def __init__(self, run_dir, policy: ServicePolicy):
        self.host = Host([HostNic("vm1", "vnic"), HostNic("host1", "pnic", device_id=1)],
                         links=[("vm1", 0, "host1", VF)], run_dir=run_dir)
        self.host.start()
        ends = self.host.endpoints()
        self.ends = ends
        self.p4 = {name: EntityBuilder(end["p4info"]) for name, end in ends.items()}
        self.program_pnic()
        self.engine = GuestServices(policy)
        self.guest = Connection(ends["vm1"]["p4runtime"], role="guest", election_id=(0, 1))
        self.guest.modify(self.p4["vm1"].table_entry("services.flow_table",
                                                     action="svc_to_guest", default=True))
        controller = self.host.controller
        self.manager = OffloadManager(
            self.engine, policy,
            vnic=Nic("vm1", lambda: controller("vm1"), self.p4["vm1"]),
            pnic=Nic("host1", lambda: controller("host1"), self.p4["host1"]),
            guest_conn=self.guest)
        self.manager.start()
        self.uplink = PacketWire(ends["host1"]["packet_socket"])
        self.queues = PacketWire(ends["vm1"]["packet_socket"])

    def program_pnic(self):
        """What a host file would say: uplink traffic to the VM's VF, the VM's to the uplink."""
        p4 = self.p4["host1"]
        self.host.controller("host1").insert(
            p4.table_entry("policy", {"dir": 0}, "policy_forward", {"port": VF}, priority=1),
            p4.table_entry("policy", {"dir": 1}, "policy_forward", {"port": 0}, priority=1))

    def close(self):
        self.manager.stop()
        self.guest.close()
        self.uplink.close()
        self.queues.close()
        self.host.stop()

    def flow(self):
        flows = self.manager.snapshot()["flows"]
        return flows[0] if flows else None

    def wait_tier(self, tier):
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            flow = self.flow()
            if flow is not None and flow["tier"] == tier:
                return flow
            time.sleep(0.05)
        raise AssertionError(f"the flow never reached {tier}: {self.flow()}")

    def exchange(self, wire, port, frame, out_wire, out_port):
        wire.send(port, frame)
        got = out_wire.expect(port=out_port, timeout=DEADLINE)
        assert got, f"nothing left port {out_port}"
        return got[1]

    def flow_counter(self, nic, match):
        end = self.ends[nic]
        with Connection(end["p4runtime"], device_id=end["device_id"], arbitrate=False) as conn:
            p4 = self.p4[nic]
            query = p4.table_entry("services.flow_table", match)
            query.counter_data.SetInParent()
            found = conn.read(query)
        return found[0].table_entry.counter_data.packet_count if found else None


@pytest.fixture
def rig(tmp_path):
    made = []

    def make(policy):
        made.append(Rig(tmp_path / f"host{len(made)}", policy))
        return made[-1]
    yield make
    for one in made:
        one.close()


class Conversation:
    """A TCP conversation between the peer (on the uplink) and the guest's container."""

    def __init__(self, sport=40000):
        self.sport = sport
        self.seq, self.ack = 1000, 5000

    def from_peer(self, flags="A", payload=b"request"):
        frame = (Ether(src=PEER_MAC, dst=GUEST_MAC) / IP(src=PEER, dst=GUEST_IP)
                 / TCP(sport=self.sport, dport=80, flags=flags, seq=self.seq, ack=self.ack,
                       window=8192) / payload)
        self.seq += len(payload) + (1 if "S" in flags or "F" in flags else 0)
        return bytes(frame)

    def translated(self, frame):
        """What the guest should receive: the peer's frame with its destination NATed."""
        packet = Ether(frame)
        packet[IP].dst = CONTAINER
        packet[TCP].dport = 8080
        del packet[IP].chksum
        del packet[TCP].chksum
        return bytes(packet)

    def from_guest(self, flags="A", payload=b"response"):
        frame = (Ether(src=GUEST_MAC, dst=PEER_MAC) / IP(src=CONTAINER, dst=PEER)
                 / TCP(sport=8080, dport=self.sport, flags=flags, seq=self.ack, ack=self.seq,
                       window=8192) / payload)
        self.ack += len(payload) + (1 if "S" in flags or "F" in flags else 0)
        return bytes(frame)

    def untranslated(self, frame):
        packet = Ether(frame)
        packet[IP].src = GUEST_IP
        packet[TCP].sport = 80
        del packet[IP].chksum
        del packet[TCP].chksum
        return bytes(packet)


def test_a_flow_moves_guest_vnic_pnic_with_identical_output_and_counters(rig):
    host = rig(dnat_policy(to_vnic_after_packets=2, to_pnic_after_packets=6))
    talk = Conversation()
    sent = [0, 0]

    def peer(flags="A", payload=b"request"):
        frame = talk.from_peer(flags, payload)
        out = host.exchange(host.uplink, 0, frame, host.queues, QUEUE)
        assert out == talk.translated(frame)
        sent[0] += 1

    def guest(flags="A", payload=b"response"):
        frame = talk.from_guest(flags, payload)
        out = host.exchange(host.queues, QUEUE, frame, host.uplink, 0)
        assert out == talk.untranslated(frame)
        sent[1] += 1

    peer("S", b"")
    guest("SA", b"")
    assert host.flow()["tier"] == GUEST or host.wait_tier(VNIC)
    host.wait_tier(VNIC)
    punts_before = host.guest.drain_packet_ins()
    peer()
    guest()
    assert host.guest.drain_packet_ins() == punts_before == []
    vnic_key = {"ip_ver": 4, "src_addr": PEER, "dst_addr": GUEST_IP, "proto": 6,
                "sport": talk.sport, "dport": 80}
    assert host.flow_counter("vm1", vnic_key) == 2            # the guest's 1, then the VNIC's
    peer()
    guest()
    flow = host.wait_tier(PNIC)
    assert [m["to"] for m in flow["moves"]] == [VNIC, PNIC]
    on_pnic = host.flow_counter("host1", vnic_key)
    for _ in range(3):
        peer()
        guest()
    assert host.flow_counter("host1", vnic_key) == on_pnic + 3   # the PNIC serves it now
    assert host.guest.drain_packet_ins() == []
    end = time.monotonic() + DEADLINE
    while host.flow()["packets"] != sent and time.monotonic() < end:
        time.sleep(0.05)
    assert host.flow()["packets"] == sent


def test_the_pnic_full_keeps_the_flow_on_the_vnic(rig):
    host = rig(dnat_policy(to_vnic_after_packets=1, to_pnic_after_packets=2, pnic_capacity=0))
    talk = Conversation(sport=40001)
    host.uplink.send(0, talk.from_peer("S", b""))
    assert host.queues.expect(port=QUEUE, timeout=DEADLINE)
    host.wait_tier(VNIC)
    host.queues.send(QUEUE, talk.from_guest("SA", b""))
    assert host.uplink.expect(port=0, timeout=DEADLINE)
    end = time.monotonic() + DEADLINE
    while "capacity" not in host.flow()["blocked"] and time.monotonic() < end:
        time.sleep(0.05)
    flow = host.flow()
    assert flow["tier"] == VNIC and "capacity" in flow["blocked"]


def flow_entries(host, nic):
    end = host.ends[nic]
    with Connection(end["p4runtime"], device_id=end["device_id"], arbitrate=False) as conn:
        table = host.p4[nic].names.table("services.flow_table")
        from p4.v1 import p4runtime_pb2
        return conn.read(p4runtime_pb2.TableEntry(table_id=table.preamble.id))


def offloaded_to(host, tier, sport, **offload):
    """A conversation whose flow the manager has moved to `tier`; returns it with the count of
    packets sent per side."""
    talk = Conversation(sport=sport)
    sent = [0, 0]
    moves = 0
    while host.flow() is None or host.flow()["tier"] != tier:
        assert moves < 12, f"the flow did not reach {tier}: {host.flow()}"
        flags = ("S", "SA") if moves == 0 else ("A", "A")
        host.uplink.send(0, talk.from_peer(flags[0], b"" if moves == 0 else b"request"))
        assert host.queues.expect(port=QUEUE, timeout=DEADLINE)
        host.queues.send(QUEUE, talk.from_guest(flags[1], b"" if moves == 0 else b"response"))
        assert host.uplink.expect(port=0, timeout=DEADLINE)
        sent[0] += 1
        sent[1] += 1
        moves += 1
        end = time.monotonic() + 0.5     # the manager looks every 0.1 s
        while host.flow()["tier"] != tier and time.monotonic() < end:
            time.sleep(0.05)
    return talk, sent


def test_a_fin_returns_the_flow_to_the_guest_and_clears_every_tier(rig):
    host = rig(dnat_policy(to_vnic_after_packets=2, to_pnic_after_packets=4))
    talk, _ = offloaded_to(host, PNIC, 40002)
    assert flow_entries(host, "host1") and flow_entries(host, "vm1")
    fin = talk.from_peer("FA", b"")
    out = host.exchange(host.uplink, 0, fin, host.queues, QUEUE)
    assert out == talk.translated(fin)
    flow = host.wait_tier(GUEST)
    assert [m["to"] for m in flow["moves"]] == [VNIC, PNIC, GUEST]
    assert flow["moves"][-1]["why"] == "TCP FIN/RST"
    assert flow_entries(host, "host1") == [] and flow_entries(host, "vm1") == []
    # the rest of the close goes through the guest, which still translates it
    reply = talk.from_guest("FA", b"")
    assert host.exchange(host.queues, QUEUE, reply, host.uplink, 0) == talk.untranslated(reply)
    assert host.flow()["tier"] == GUEST and host.flow()["packets"][1] > 0


def test_an_idle_flow_is_ended_on_every_tier(rig):
    host = rig(dnat_policy(to_vnic_after_packets=2, to_pnic_after_packets=4, idle_timeout_s=2.0))
    offloaded_to(host, PNIC, 40003)
    end = time.monotonic() + DEADLINE
    while host.flow() is not None and time.monotonic() < end:
        time.sleep(0.1)
    assert host.flow() is None
    assert flow_entries(host, "host1") == [] and flow_entries(host, "vm1") == []
    assert len(host.engine) == 0


def test_a_pnic_that_dies_hands_its_flows_back_to_the_vnic(rig):
    host = rig(dnat_policy(to_vnic_after_packets=2, to_pnic_after_packets=4,
                           pnic_capacity=1))
    talk, sent = offloaded_to(host, PNIC, 40004)
    host.host.nics["host1"].switch.process.kill()
    flow = host.wait_tier(VNIC)
    assert flow["moves"][-1]["why"] == "the PNIC went away"
    assert host.host.restart_dead() == ["host1"]
    host.program_pnic()
    for _ in range(3):      # every packet sent after the fallback arrives, translated
        frame = talk.from_peer()
        assert host.exchange(host.uplink, 0, frame, host.queues, QUEUE) == talk.translated(frame)
        reply = talk.from_guest()
        assert host.exchange(host.queues, QUEUE, reply, host.uplink, 0) == talk.untranslated(reply)
