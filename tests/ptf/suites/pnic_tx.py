"""PNIC transmit side: VF -> policy -> encapsulation -> uplink, keeping the VNIC's
special-processing flag, or setting it by the PNIC's own sender-side criteria."""
import ptf.testutils as tu

from nic_base import (GUEST_MAC, PEER_MAC, VNI, PnicTest, expected_tunnel, tcp, tunnel_params)
from p4nic.runtime.tunnels import encapsulate
from p4nic.runtime.nicdefs import REASON_POLICY_MISS

UPLINK = 0
VF = 1


def outbound(**kwargs):
    return tcp(src="10.0.0.2", dst="10.0.0.1", eth_src=GUEST_MAC, eth_dst=PEER_MAC, **kwargs)


class TxTest(PnicTest):
    def setUp(self):
        super().setUp()
        self.add_entry("vf_vni", {"in_port": VF}, "set_vni", {"vni": VNI})
        self.add_entry("encap.tunnel", {"vni": VNI, "dstAddr": PEER_MAC}, "encap_geneve",
                       tunnel_params())

    def allow_to_uplink(self, **match):
        self.add_entry("policy", dict(match, dir=1, vni=VNI), "policy_forward",
                       {"port": UPLINK}, priority=10)


class VfToUplinkEncapsulated(TxTest):
    def runTest(self):
        self.allow_to_uplink()
        packet = outbound(sport=9101)
        self.send(VF, packet)
        self.expect_only(expected_tunnel(packet), UPLINK)


class VnicFlagSurvivesReEncapsulation(TxTest):
    """A frame the VNIC already encapsulated with the flag (VXLAN, its own outer addresses)
    leaves in the PNIC's Geneve tunnel, still flagged."""

    def runTest(self):
        self.allow_to_uplink()
        packet = outbound(sport=9111)
        from_vnic = encapsulate(packet, "vxlan", VNI, special=True, outer_smac=GUEST_MAC,
                                outer_dmac=PEER_MAC, sip="10.9.9.1", dip="10.9.9.2")
        self.send(VF, from_vnic)
        self.expect_only(expected_tunnel(packet, special=True), UPLINK)


class PnicSenderMarking(TxTest):
    """With no VNIC marking, the PNIC's own criteria (ARP here) set the flag."""

    def runTest(self):
        self.allow_to_uplink()
        self.add_entry("encap.tunnel", {"vni": VNI, "dstAddr": "ff:ff:ff:ff:ff:ff"},
                       "encap_geneve", tunnel_params())
        self.add_entry("marking.special_criteria", {"is_arp": 1}, "mark_special", priority=10)
        arp = tu.simple_arp_packet(eth_src=GUEST_MAC, hw_snd=GUEST_MAC)
        self.send(VF, arp)
        self.expect_only(expected_tunnel(arp, special=True), UPLINK)
        packet = outbound(sport=9121)
        self.send(VF, packet)
        self.expect_only(expected_tunnel(packet), UPLINK)


class VfToVf(TxTest):
    """Policy may deliver a VF's frame to another VF on the same host, unencapsulated."""

    def runTest(self):
        self.add_entry("policy", {"dir": 1, "vni": VNI, "dst_addr": "10.0.0.1"},
                       "policy_forward", {"port": 3}, priority=20)
        packet = outbound(sport=9131)
        self.send(VF, packet)
        self.expect_only(packet, 3)


class TxMissGoesToCpu(TxTest):
    def runTest(self):
        packet = outbound(sport=9141)
        self.send(VF, packet)
        self.verify_packet_in(packet, reason=REASON_POLICY_MISS, vni=VNI, ingress_port=VF)
        self.expect_nothing()
