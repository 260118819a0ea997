"""The pipeline DSL's example files applied by PTF tests (`apply_nic_file`, what `p4nic apply`
does), and checked with packets: filters pick queues, an injected stage acts and a bypass
skips until an edit of the file takes them out, networks decapsulate and forward, a flag set by
the sending VNIC is honoured by the receiving PNIC. tearDown puts the targets back as they
were, so the other suites find them untouched.
"""
import random
import tempfile
from pathlib import Path

import ptf.testutils as tu

from nic_base import PnicTest, VnicTest, expected_tunnel, tcp
from host_path import PNIC, UPLINK, VF, VNIC, HostTest
from p4nic.pipelines import examples_dir
from p4nic.runtime.nicdefs import REASON_SLOT, REASON_SPECIAL
from p4nic.runtime.tunnels import encapsulate

GUEST_IP = "10.0.0.5"            # the guest address of filters.nic
TUNNEL = {"outer_smac": "02:00:00:00:00:02", "outer_dmac": "02:00:00:00:00:01",
          "sip": "192.0.2.2", "dip": "192.0.2.1"}       # the far end of the examples' tunnel


def example(name: str) -> Path:
    return examples_dir() / name


def edited(name: str, old: str, new: str = "") -> Path:
    """A copy of an example with `old` replaced, in a directory of its own."""
    text = example(name).read_text()
    assert old in text, f"{name} no longer says {old!r}"
    path = Path(tempfile.mkdtemp(prefix="nic-file-")) / name
    path.write_text(text.replace(old, new))
    return path


def geneve(inner, vni=5001):
    """A frame from the far tunnel end, as it reaches the PNIC's uplink."""
    return encapsulate(inner, "geneve", vni, **TUNNEL)


class FiltersFromFile(VnicTest):
    """examples/filters.nic: each rule puts its packets on its queue, the multicast MACs are
    dropped, everything else takes the default queue."""

    def runTest(self):
        self.apply_nic_file(example("filters.nic"))
        for packet, queue in ((tcp(dst=GUEST_IP, dport=443), 2),
                              (tcp(dst=GUEST_IP, dport=80), 2),
                              (tu.simple_udp_packet(ip_dst=GUEST_IP, udp_dport=53), 3),
                              (tcp(dst="10.0.0.9", dport=8042), 4),
                              (tcp(dst="10.0.0.6", dport=80), 1)):
            self.send(UPLINK, packet)
            self.expect_only(packet, queue)
        self.send(UPLINK, tcp(dst="239.1.2.3", eth_dst="01:00:5e:01:02:03", dport=9))
        self.expect_nothing()


class PipelineStageFromFileAndItsRemoval(VnicTest):
    """examples/pipeline.nic: the injected `scrub` stage marks and drops web flows, `bypass
    acl` lets excused flows past the ACL, the appended stage punts; applying the file without
    the stage and the bypass restores the original pipeline for those flows."""

    def runTest(self):
        self.apply_nic_file(example("pipeline.nic"))
        web, excused = tcp(src="10.1.1.1", dport=80), tcp(src="10.9.0.1", dport=8080)
        self.send(UPLINK, web)
        self.expect_only(tcp(src="10.1.1.1", dport=80, ip_tos=46 << 2), 1)
        self.send(UPLINK, tcp(src="192.0.2.7", dport=80))
        self.expect_nothing()
        self.send(UPLINK, tcp(src="10.1.1.1", dport=8080))             # the ACL denies
        self.expect_nothing()
        self.send(UPLINK, excused)                                     # ... but not these
        self.expect_only(excused, 1)
        punted = tu.simple_udp_packet(udp_dport=9999)
        self.send(UPLINK, punted)
        self.verify_packet_in(punted, reason=REASON_SLOT)
        self.expect_nothing()

        without = edited("pipeline.nic", "        bypass acl for ip saddr 10.9.0.0/16\n")
        text = without.read_text()
        start = text.index("        stage scrub")
        without.write_text(text[:start] + text[text.index("        }\n", start) + 10:])
        self.apply_nic_file(without)
        for packet in (web, tcp(src="192.0.2.7", dport=80)):
            self.send(UPLINK, packet)
            self.expect_only(packet, 1)
        self.send(UPLINK, excused)
        self.expect_nothing()


class NetworksFromFile(PnicTest):
    """examples/networks.nic: Geneve from the uplink is decapsulated and forwarded by its
    network's policy: to a VF, denied, flooded, routed."""

    def runTest(self):
        self.apply_nic_file(example("networks.nic"))
        to_vm = tcp(dst="10.0.0.5", eth_dst="02:00:00:00:0a:01")
        self.send(UPLINK, geneve(to_vm))
        self.expect_only(to_vm, 1)
        self.send(UPLINK, geneve(tcp(dport=23)))
        self.expect_nothing()
        broadcast = tu.simple_udp_packet(eth_dst="ff:ff:ff:ff:ff:ff", ip_dst="10.0.0.255",
                                         udp_dport=67)
        self.send(UPLINK, geneve(broadcast))
        tu.verify_packets(self, broadcast, [1, 2])
        routed = tcp(dst="10.0.1.9", eth_dst="02:00:00:00:ee:01", ip_ttl=64)
        self.send(UPLINK, geneve(routed))
        expected = tcp(dst="10.0.1.9", eth_src="02:00:00:00:ee:01", eth_dst="02:00:00:00:0a:02",
                       ip_ttl=63)
        self.expect_only(expected, 2)


class SpecialFlagFromFile(HostTest):
    """examples/special.nic on both NICs: the sending VNIC flags a flow's first packet and every
    SSH packet in the Geneve header; the receiving PNIC sends flagged packets to the CPU and
    the others to VF 1."""

    def runTest(self):
        self.apply_nic_file(example("special.nic"), nic="vm1")
        self.pnic.apply_nic_file(example("special.nic"), nic="nic0")
        sport = random.randint(20000, 29999)        # a new flow, for the first-packet criterion
        for dport, flagged in ((80, True), (80, False), (22, True), (22, True)):
            packet = tcp(src="10.0.0.5", dst="10.0.0.1", sport=sport, dport=dport,
                         eth_src="02:00:00:00:0a:01", eth_dst="02:00:00:00:0b:01")
            tu.send_packet(self, (VNIC, 1), packet)
            tu.verify_packet(self, expected_tunnel(packet, vni=5001, special=flagged,
                                                   outer_smac="02:00:00:00:00:01",
                                                   outer_dmac="02:00:00:00:00:02",
                                                   sip="192.0.2.1", dip="192.0.2.2"),
                             (VNIC, UPLINK))
            tu.verify_no_other_packets(self, device_number=VNIC)
            tu.send_packet(self, (PNIC, UPLINK), encapsulate(packet, "geneve", 5001,
                                                             special=flagged, **TUNNEL))
            if flagged:
                self.pnic.verify_packet_in(packet, reason=REASON_SPECIAL, vni=5001)
            else:
                tu.verify_packet(self, packet, (PNIC, VF))
            tu.verify_no_other_packets(self, device_number=PNIC)
