"""VNIC transmit side: Geneve/VXLAN encapsulation towards the PNIC, and sender-side marking
(US10965601B2): the special-processing flag is set in the outer header exactly when a
special_criteria entry matches (first packet of a flow, ARP, ND, DHCP, marked flows)."""
import random

import ptf.testutils as tu

from nic_base import (GUEST_MAC, PEER_MAC, VnicTest, expected_tunnel, tcp, tunnel_params)

UPLINK = 0
GUEST_QUEUE = 2
BROADCAST = "ff:ff:ff:ff:ff:ff"


def outbound(**kwargs):
    """A packet the guest sends to its peer."""
    return tcp(src="10.0.0.2", dst="10.0.0.1", eth_src=GUEST_MAC, eth_dst=PEER_MAC, **kwargs)


class EncapTest(VnicTest):
    def tunnel(self, kind="geneve", dmac=PEER_MAC):
        self.add_entry("encap.tunnel", {"vni": 0, "dstAddr": dmac}, f"encap_{kind}",
                       tunnel_params(vni=5000))

    def criterion(self, **match):
        self.add_entry("marking.special_criteria", match, "mark_special", priority=10)

    def transmit(self, packet, kind="geneve", special=False):
        self.send(GUEST_QUEUE, packet)
        self.expect_only(expected_tunnel(packet, kind, vni=5000, special=special), UPLINK)


class GeneveEncap(EncapTest):
    def runTest(self):
        self.tunnel("geneve")
        self.transmit(outbound(sport=6001))


class VxlanEncap(EncapTest):
    def runTest(self):
        self.tunnel("vxlan")
        self.transmit(outbound(sport=6011), kind="vxlan")


class NoTunnelLeavesFramePlain(EncapTest):
    """Without a tunnel entry the frame goes to the uplink as it is (the PNIC encapsulates)."""

    def runTest(self):
        packet = outbound(sport=6021)
        self.send(GUEST_QUEUE, packet)
        self.expect_only(packet, UPLINK)


class FirstPacketOfFlowFlagged(EncapTest):
    """Criterion "first packet": only the first packet of each flow carries the flag."""

    def runTest(self):
        self.tunnel("geneve")
        self.criterion(is_first=1)
        # flow_seen lives as long as the pipeline: a fresh flow keeps reruns on a long-running
        # target meaningful.
        sport = random.randint(10000, 60000)
        first, second = outbound(sport=sport), outbound(sport=sport)
        self.transmit(first, special=True)
        self.transmit(second, special=False)


class ArpFlagged(EncapTest):
    def runTest(self):
        self.tunnel("geneve", dmac=BROADCAST)
        self.tunnel("geneve")
        self.criterion(is_arp=1)
        arp = tu.simple_arp_packet(eth_src=GUEST_MAC, hw_snd=GUEST_MAC, ip_snd="10.0.0.2",
                                   ip_tgt="10.0.0.1")
        self.transmit(arp, special=True)
        self.transmit(outbound(sport=6031), special=False)


class NeighbourDiscoveryFlagged(EncapTest):
    def runTest(self):
        self.tunnel("geneve")
        self.criterion(is_nd=1)
        solicitation = tu.simple_icmpv6_packet(eth_src=GUEST_MAC, eth_dst=PEER_MAC, icmp_type=135)
        echo = tu.simple_icmpv6_packet(eth_src=GUEST_MAC, eth_dst=PEER_MAC, icmp_type=128)
        self.transmit(solicitation, special=True)
        self.transmit(echo, special=False)


class DhcpFlagged(EncapTest):
    def runTest(self):
        self.tunnel("vxlan", dmac=BROADCAST)
        self.criterion(is_dhcp=1)
        discover = tu.simple_udp_packet(eth_src=GUEST_MAC, eth_dst=BROADCAST, ip_src="0.0.0.0",
                                        ip_dst="255.255.255.255", udp_sport=68, udp_dport=67)
        other = tu.simple_udp_packet(eth_src=GUEST_MAC, eth_dst=BROADCAST, udp_sport=68,
                                     udp_dport=53)
        self.transmit(discover, kind="vxlan", special=True)
        self.transmit(other, kind="vxlan", special=False)


class MarkedFlowFlaggedInVxlan(EncapTest):
    """A rule on the 5-tuple marks one flow; the flag is the VXLAN flags bit."""

    def runTest(self):
        self.tunnel("vxlan")
        self.criterion(proto=6, dport=443)
        self.transmit(outbound(sport=6041, dport=443), kind="vxlan", special=True)
        self.transmit(outbound(sport=6041, dport=80), kind="vxlan", special=False)
