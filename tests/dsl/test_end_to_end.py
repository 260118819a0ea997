"""Each example's entities, installed on `p4nic switch` processes running p4src/vnic.p4 and
pnic.p4 (and examples/l3_router.p4), do what the file says to real packets: filters pick
queues, NUMA steers by vCPU and follows a remap, an injected stage acts and a bypass skips
until the statements are removed, flags are set by one NIC and honoured by the other,
networks decapsulate and forward, services send flows to the guest, a generic table routes.
"""
from __future__ import annotations

import ipaddress
import re

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Raw

from p4nic import dsl
from p4nic.nic.hashing import field_list_packer, make_hash
from p4nic.runtime.local_switch import compile_p4
from p4nic.runtime.nicdefs import (PKT_OUT_INJECT, REASON_SERVICE, REASON_SLOT,
                                   REASON_SPECIAL, STAGE_SERVICES)
from p4nic.runtime.tunnels import decapsulate, encapsulate
from tests.dsl.conftest import EXAMPLES, NicUnderTest

UPLINK = 0
PEER_MAC, GUEST_MAC = "02:00:00:00:0b:01", "02:00:00:00:0a:01"


def tcp(src="10.0.0.1", dst="10.0.0.5", sport=1234, dport=80, *, eth_dst=GUEST_MAC,
        eth_src=PEER_MAC, vlan=None, tos=0, ttl=64) -> bytes:
    frame = Ether(src=eth_src, dst=eth_dst)
    if vlan is not None:
        frame = frame / Dot1Q(vlan=vlan)
    return bytes(frame / IP(src=src, dst=dst, tos=tos, ttl=ttl)
                 / TCP(sport=sport, dport=dport) / Raw(b"payload"))


def udp(src="10.0.0.1", dst="10.0.0.5", sport=1234, dport=53, eth_dst=GUEST_MAC) -> bytes:
    return bytes(Ether(src=PEER_MAC, dst=eth_dst) / IP(src=src, dst=dst)
                 / UDP(sport=sport, dport=dport) / Raw(b"payload"))


def rss_vcpu(src, dst, proto, sport, dport, vcpus) -> int:
    """The vCPU RSS gives an IPv4 flow: p4src's flow hash (crc16 of the flow key), its low 7
    bits the indirection-table bucket, which `rss over` fills round-robin."""
    fields = [4, int(ipaddress.ip_address(src)), int(ipaddress.ip_address(dst)), proto,
              sport, dport]
    bucket = make_hash("crc16")(field_list_packer([8, 128, 128, 8, 16, 16])(fields)) & 0x7F
    return vcpus[bucket % len(vcpus)]


def model_of(text: str, tmp_path, name="edited.nic"):
    path = tmp_path / name
    path.write_text(text)
    return dsl.load(path)


def installed(nic, nic_entries):
    """Context: the entities written for the test, removed after it."""
    class Installed:
        def __enter__(self):
            nic.install(nic_entries)
            return nic_entries

        def __exit__(self, *exc):
            nic.uninstall(nic_entries)
    return Installed()


# ---------------------------------------------------------------------------------------

def test_filters_pick_queues(vnic):
    entries = dsl.load(EXAMPLES / "filters.nic").entries()["vm1"]
    with installed(vnic, entries):
        cases = [
            (tcp(dport=443), 2),                                   # guest address, web port
            (tcp(dport=80, dst="10.0.0.6"), 1),                    # not the guest: default
            (udp(dport=53), 3),
            (tcp(dport=8042, dst="10.0.0.9"), 4),                  # 8000-8080
            (tcp(dport=9, dst="10.0.0.9", vlan=100), 4),
            (bytes(Ether(src=PEER_MAC, dst="33:33:00:00:00:01") / IPv6(dst="2001:db8::1")
                   / TCP(dport=7)), 1),                            # rss, no numa: queue 1
        ]
        for frame, queue in cases:
            assert vnic.exchange(UPLINK, frame) == [(queue, frame)]
        multicast = tcp(dport=9, dst="239.1.2.3", eth_dst="01:00:5e:01:02:03")
        assert vnic.exchange(UPLINK, multicast) == []              # dropped
    assert vnic.exchange(UPLINK, tcp(dport=53, dst="10.0.0.9")) == \
        [(1, tcp(dport=53, dst="10.0.0.9"))]                       # removed: all on queue 1


def test_numa_steers_by_vcpu_and_follows_a_remap(vnic, tmp_path):
    text = (EXAMPLES / "numa.nic").read_text()
    pinned = tcp(src="10.0.0.9", dst="10.0.0.5", sport=5000, dport=80)
    with installed(vnic, dsl.load(EXAMPLES / "numa.nic").entries()["vm1"]):
        [(queue, frame)] = vnic.exchange(UPLINK, pinned)
        assert queue in (3, 4) and frame == pinned                 # vCPU 6 is on node 1
        nodes = set()
        for host in range(1, 17):                                  # flows spread by RSS
            src = f"10.0.{host}.1"
            vcpu = rss_vcpu(src, "10.0.0.5", 6, 1234, 81, vcpus=list(range(8)))
            node = 0 if vcpu < 4 else 1
            [(queue, _)] = vnic.exchange(UPLINK, tcp(src=src, dport=81))
            assert queue in ((1, 2), (3, 4))[node], f"flow from {src} (vCPU {vcpu})"
            nodes.add(node)
        assert nodes == {0, 1}
    remapped = text.replace("vcpus 0-3  queues 1, 2", "vcpus 0-3, 6  queues 1, 2") \
                   .replace("vcpus 4-7  queues 3, 4", "vcpus 4, 5, 7  queues 3, 4")
    with installed(vnic, model_of(remapped, tmp_path).entries()["vm1"]):
        [(queue, _)] = vnic.exchange(UPLINK, pinned)
        assert queue in (1, 2)                                     # vCPU 6 moved to node 0


def test_injected_stage_acts_bypass_skips_and_removal_restores(vnic, tmp_path):
    web = tcp(src="10.1.1.1", dport=80)
    marked = _with_tos(web, 46 << 2)
    with installed(vnic, dsl.load(EXAMPLES / "pipeline.nic").entries()["vm1"]):
        assert vnic.exchange(UPLINK, web) == [(1, marked)]         # scrub: set dscp 46
        assert vnic.exchange(UPLINK, tcp(src="192.0.2.7", dport=80)) == []   # scrub: drop
        assert vnic.exchange(UPLINK, tcp(src="10.1.1.1", dport=8080)) == []  # the ACL denies
        excused = tcp(src="10.9.0.1", dport=8080)
        assert vnic.exchange(UPLINK, excused) == [(1, excused)]    # bypass acl
        punted = udp(dport=9999)
        assert vnic.exchange(UPLINK, punted) == []
        payload, header = vnic.packet_in()                         # the appended stage
        assert (payload, header["reason"]) == (punted, REASON_SLOT)
    without = re.sub(r"stage scrub .*?\n        }\n", "",
                     (EXAMPLES / "pipeline.nic").read_text(), flags=re.S)
    without = without.replace("bypass acl for ip saddr 10.9.0.0/16\n", "")
    assert "scrub" not in without and "bypass acl" not in without
    with installed(vnic, model_of(without, tmp_path).entries()["vm1"]):
        assert vnic.exchange(UPLINK, web) == [(1, web)]            # no stage: untouched
        assert vnic.exchange(UPLINK, tcp(src="10.9.0.1", dport=8080)) == []  # ACL again


def _with_tos(frame: bytes, tos: int) -> bytes:
    packet = Ether(frame)
    packet[IP].tos = tos
    del packet[IP].chksum
    return bytes(packet)


def test_sender_flags_and_receiver_special_path(vnic, pnic):
    model = dsl.load(EXAMPLES / "special.nic")
    entries = model.entries()
    with installed(vnic, entries["vm1"]), installed(pnic, entries["nic0"]):
        first = tcp(src="10.0.0.5", dst="10.0.0.1", sport=4100, dport=80, eth_dst=PEER_MAC,
                    eth_src=GUEST_MAC)
        ssh = tcp(src="10.0.0.5", dst="10.0.0.1", sport=4101, dport=22, eth_dst=PEER_MAC,
                  eth_src=GUEST_MAC)
        arp = bytes(Ether(src=GUEST_MAC, dst=PEER_MAC) / ARP(psrc="10.0.0.5", pdst="10.0.0.1"))
        expected = [(first, True), (first, False), (ssh, True), (ssh, True), (arp, True)]
        for frame, flagged in expected:
            [(port, out)] = vnic.exchange(1, frame)                # the guest transmits
            tunnel = decapsulate(out)
            assert port == UPLINK and tunnel is not None
            assert (tunnel.kind, tunnel.vni, tunnel.special, tunnel.inner) == \
                ("geneve", 5001, flagged, frame)
        # the receiving PNIC: flagged packets to the CPU, the others to VF 1
        for flagged in (True, False):
            wire = bytes(encapsulate(first, "geneve", 5001, special=flagged,
                                     outer_smac="02:00:00:00:00:02",
                                     outer_dmac="02:00:00:00:00:01",
                                     sip="192.0.2.2", dip="192.0.2.1"))
            out = pnic.exchange(UPLINK, wire)
            if flagged:
                assert out == []
                payload, header = pnic.packet_in()
                assert (payload, header["reason"], header["vni"]) == \
                    (first, REASON_SPECIAL, 5001)
            else:
                assert out == [(1, first)]


def _geneve(inner: bytes, vni=5001) -> bytes:
    return bytes(encapsulate(inner, "geneve", vni, outer_smac="02:00:00:00:00:02",
                             outer_dmac="02:00:00:00:00:01", sip="192.0.2.2",
                             dip="192.0.2.1"))


def test_networks_decapsulate_apply_policy_and_encapsulate(pnic):
    with installed(pnic, dsl.load(EXAMPLES / "networks.nic").entries()["nic0"]):
        to_vm = tcp(dst="10.0.0.5", dport=80, eth_dst="02:00:00:00:0a:01")
        assert pnic.exchange(UPLINK, _geneve(to_vm)) == [(1, to_vm)]
        assert pnic.exchange(UPLINK, _geneve(tcp(dport=23))) == []            # deny
        broadcast = udp(dst="10.0.0.255", dport=67, eth_dst="ff:ff:ff:ff:ff:ff")
        assert sorted(pnic.exchange(UPLINK, _geneve(broadcast))) == \
            [(1, broadcast), (2, broadcast)]                                  # flood
        routed = tcp(dst="10.0.1.9", eth_dst="02:00:00:00:ee:01")
        packet = Ether(routed)
        packet[Ether].src, packet[Ether].dst = "02:00:00:00:ee:01", "02:00:00:00:0a:02"
        packet[IP].ttl -= 1
        del packet[IP].chksum
        assert pnic.exchange(UPLINK, _geneve(routed)) == [(2, bytes(packet))]  # routed
        tagged_for = tcp(dst="10.0.3.4", eth_dst="02:00:00:00:0a:03")
        [(port, out)] = pnic.exchange(UPLINK, _geneve(tagged_for))
        assert port == 3 and Ether(out)[Dot1Q].vlan == 30                     # push vlan
        reply = tcp(src="10.0.0.5", dst="10.0.0.1", sport=80, dport=1234,
                    eth_src="02:00:00:00:0a:01", eth_dst=PEER_MAC)
        [(port, out)] = pnic.exchange(1, reply)                                # VF 1 sends
        tunnel = decapsulate(out)
        assert port == UPLINK and (tunnel.kind, tunnel.vni, tunnel.inner) == \
            ("geneve", 5001, reply)
        tagged = bytes(Ether(src="02:00:00:00:0a:03", dst=PEER_MAC) / Dot1Q(vlan=30)
                       / IP(src="10.0.3.4", dst="10.0.0.1") / TCP(sport=80, dport=1234))
        [(port, out)] = pnic.exchange(3, tagged)                               # pop vlan
        assert port == UPLINK and Dot1Q not in Ether(decapsulate(out).inner)


def test_services_send_unoffloaded_flows_to_the_guest(vnic):
    with installed(vnic, dsl.load(EXAMPLES / "services.nic").entries()["vm1"]):
        frame = tcp(dport=80)
        assert vnic.exchange(UPLINK, frame) == []
        payload, header = vnic.packet_in()
        assert (payload, header["reason"]) == (frame, REASON_SERVICE)
    assert vnic.exchange(UPLINK, frame) == [(1, frame)]            # default restored


def test_whole_host_path(vnic, pnic):
    """host.nic: the guest's first packet goes to the guest's services, comes back, leaves
    the VNIC in Geneve (VNI 5001, no special flag: host.nic flags ARP only), and its PNIC
    sends it on to the uplink the same way."""
    model = dsl.load(EXAMPLES / "host.nic")
    assert (model.host.vnic, model.host.pnic, model.host.vf) == ("vm1", "nic0", 1)
    entries = model.entries()
    with installed(vnic, entries["vm1"]), installed(pnic, entries["nic0"]):
        frame = tcp(src="10.0.0.5", dst="10.0.0.1", sport=4200, dport=80,
                    eth_src=GUEST_MAC, eth_dst=PEER_MAC)
        assert vnic.exchange(1, frame) == []
        payload, header = vnic.packet_in()
        assert (payload, header["reason"]) == (frame, REASON_SERVICE)
        vnic.conn.send_packet_out(vnic.p4.packet_out(frame, port=1, mode=PKT_OUT_INJECT,
                                                     bypass=STAGE_SERVICES))
        [(port, on_wire)] = vnic.frames(1)        # the packet-out travels over gRPC
        assert port == UPLINK
        tunnel = decapsulate(on_wire)
        assert (tunnel.vni, tunnel.special, tunnel.inner) == (5001, False, frame)
        [(port, out)] = pnic.exchange(model.host.vf, on_wire)
        relayed = decapsulate(out)
        assert port == UPLINK and (relayed.vni, relayed.special, relayed.inner) == \
            (5001, False, frame)


def test_generic_table_routes_on_l3_router(tmp_path):
    json_path, p4info_path = compile_p4(EXAMPLES / "l3_router.p4", tmp_path)
    def sentinel(tag):            # routed out of port 1 by the file's first route
        return 0, bytes(Ether(tcp(dst="10.0.1.200")) / Raw(tag)), 1

    router = NicUnderTest(json_path, p4info_path, tmp_path / "router", sentinel=sentinel)
    try:
        entries = dsl.load(EXAMPLES / "router.nic").entries()["router"]
        router.install(entries)
        router.check_wire()
        for dst, port, mac in (("10.0.1.1", 1, "00:00:00:00:01:01"),
                               ("10.0.2.9", 2, "00:00:00:00:02:02"),
                               ("10.0.2.7", 3, "00:00:00:00:03:03")):
            frame = tcp(dst=dst, eth_dst="00:00:00:00:00:aa", eth_src="00:00:00:00:00:bb")
            packet = Ether(frame)
            packet[Ether].src, packet[Ether].dst = "00:00:00:00:00:aa", mac
            packet[IP].ttl -= 1
            del packet[IP].chksum
            assert router.exchange(0, frame) == [(port, bytes(packet))]
        assert router.exchange(0, tcp(dst="10.9.9.9")) == []                  # default drop
    finally:
        router.close()
