"""VNIC packet I/O with the controller: packet-out straight to a port or injected as if
received, packet-in with the reason code."""
from nic_base import VnicTest, expected_tunnel, tcp, tunnel_params, GUEST_MAC, PEER_MAC
from p4nic.runtime.nicdefs import PKT_OUT_DIRECT, PKT_OUT_INJECT, REASON_ACL

UPLINK = 0


class PacketOutDirect(VnicTest):
    def runTest(self):
        packet = tcp(sport=7001)
        self.send_packet_out(packet, port=3, mode=PKT_OUT_DIRECT)
        self.expect_only(packet, 3)


class PacketOutInjectedAsReceived(VnicTest):
    """Injected on port 0, the packet goes through the RX stages: the filter picks queue 2."""

    def runTest(self):
        self.add_entry("filters", {"sport": 7011}, "filter_to_queue", {"queue": 2}, priority=10)
        packet = tcp(sport=7011)
        self.send_packet_out(packet, port=UPLINK, mode=PKT_OUT_INJECT)
        self.expect_only(packet, 2)


class PacketOutInjectedAsTransmitted(VnicTest):
    """Injected on a guest queue, the packet goes through the TX stages and is encapsulated."""

    def runTest(self):
        self.add_entry("encap.tunnel", {"vni": 0, "dstAddr": PEER_MAC}, "encap_geneve",
                       tunnel_params(vni=5000))
        packet = tcp(sport=7021, eth_src=GUEST_MAC, eth_dst=PEER_MAC)
        self.send_packet_out(packet, port=1, mode=PKT_OUT_INJECT)
        self.expect_only(expected_tunnel(packet, vni=5000), UPLINK)


class AclPuntsToController(VnicTest):
    def runTest(self):
        self.add_entry("acl", {"sport": 7031}, "acl_to_cpu", priority=10)
        packet = tcp(sport=7031)
        self.send(UPLINK, packet)
        self.verify_packet_in(packet, reason=REASON_ACL, ingress_port=UPLINK)
        self.expect_nothing()
