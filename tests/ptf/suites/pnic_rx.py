"""PNIC receive side (US11750532B2): Geneve/VXLAN from the uplink, policy lookup on
(VNI, inner flow) in the on-NIC datastore, decapsulation, the policy's actions on the inner
packet, and delivery to a VF, a multicast group or back to the uplink; a miss goes to the CPU."""
import ptf.testutils as tu

from nic_base import (GUEST_MAC, PEER_MAC, VNI, PnicTest, expected_tunnel, tcp, tunnelled,
                      tunnel_params)
from p4nic.runtime.nicdefs import PATH_FAST, REASON_POLICY_MISS

UPLINK = 0


class PolicyTest(PnicTest):
    def policy(self, action, params=None, priority=10, **match):
        match.setdefault("vni", VNI)
        return self.add_entry("policy", match, action, params, priority=priority)


class GeneveDecapToVf(PolicyTest):
    """Decapsulated and delivered to the VF; the fast-path counter counts it."""

    def runTest(self):
        entry = self.policy("policy_forward", {"port": 2}, dstAddr=GUEST_MAC)
        before = self.counter("rx_path_counter", PATH_FAST)
        inner = tcp(sport=8001)
        self.send(UPLINK, tunnelled(inner))
        self.expect_only(inner, 2)
        self.assertEqual(self.counter("rx_path_counter", PATH_FAST)[0], before[0] + 1)
        self.assertEqual(self.direct_counter(entry)[0], 1)


class VxlanDecapToVf(PolicyTest):
    def runTest(self):
        self.policy("policy_forward", {"port": 3}, dport=80)
        inner = tcp(sport=8011)
        self.send(UPLINK, tunnelled(inner, kind="vxlan"))
        self.expect_only(inner, 3)


class PolicyIsPerVni(PolicyTest):
    """The same inner flow in another VNI does not match the policy."""

    def runTest(self):
        self.policy("policy_forward", {"port": 1}, dport=80)
        self.send(UPLINK, tunnelled(tcp(sport=8021), vni=VNI + 1))
        self.verify_packet_in(tcp(sport=8021), reason=REASON_POLICY_MISS, vni=VNI + 1)
        self.expect_nothing()


class VlanPushAndPop(PolicyTest):
    def runTest(self):
        self.policy("policy_forward_vlan_push", {"port": 1, "vid": 30}, sport=8031)
        self.policy("policy_forward_vlan_pop", {"port": 2}, sport=8032)
        self.send(UPLINK, tunnelled(tcp(sport=8031)))
        self.expect_only(tu.simple_tcp_packet(eth_dst=GUEST_MAC, eth_src=PEER_MAC,
                                              ip_src="10.0.0.1", ip_dst="10.0.0.2",
                                              tcp_sport=8031, dl_vlan_enable=True, vlan_vid=30,
                                              pktlen=104), 1)
        tagged = tu.simple_tcp_packet(eth_dst=GUEST_MAC, eth_src=PEER_MAC, ip_src="10.0.0.1",
                                      ip_dst="10.0.0.2", tcp_sport=8032, dl_vlan_enable=True,
                                      vlan_vid=40, pktlen=104)
        self.send(UPLINK, tunnelled(tagged))
        self.expect_only(tcp(sport=8032), 2)


class RoutedRewritesMacsAndTtl(PolicyTest):
    def runTest(self):
        self.policy("policy_forward_routed",
                    {"port": 3, "smac": "00:00:00:00:ee:01", "dmac": "00:00:00:00:0a:09"},
                    sport=8041)
        self.send(UPLINK, tunnelled(tcp(sport=8041, ip_ttl=64)))
        self.expect_only(tcp(sport=8041, ip_ttl=63, eth_src="00:00:00:00:ee:01",
                             eth_dst="00:00:00:00:0a:09"), 3)
        self.send(UPLINK, tunnelled(tcp(sport=8041, ip_ttl=1)))
        self.expect_nothing()


class DenyDrops(PolicyTest):
    def runTest(self):
        self.policy("policy_deny", sport=8051)
        self.send(UPLINK, tunnelled(tcp(sport=8051)))
        self.expect_nothing()


class FloodToVfs(PolicyTest):
    """Broadcast in the VNI reaches every VF of the multicast group."""

    def runTest(self):
        self.add_multicast_group(1, [1, 2, 3])
        self.policy("policy_flood", {"mcast_group": 1}, dstAddr="ff:ff:ff:ff:ff:ff")
        arp = tu.simple_arp_packet()
        self.send(UPLINK, tunnelled(arp))
        for port in (1, 2, 3):
            self.expect(arp, port)
        self.expect_nothing()


class MissGoesToCpu(PolicyTest):
    """No policy: the decapsulated packet goes to the host, with its VNI."""

    def runTest(self):
        inner = tcp(sport=8061)
        self.send(UPLINK, tunnelled(inner))
        self.verify_packet_in(inner, reason=REASON_POLICY_MISS, vni=VNI, ingress_port=UPLINK)
        self.expect_nothing()


class HairpinBackToUplink(PolicyTest):
    """A policy can send the flow back to the physical network, re-encapsulated towards the
    endpoint the tunnel table names."""

    def runTest(self):
        self.policy("policy_forward", {"port": UPLINK}, sport=8071)
        self.add_entry("encap.tunnel", {"vni": VNI, "dstAddr": GUEST_MAC}, "encap_vxlan",
                       tunnel_params(vni=200))
        inner = tcp(sport=8071)
        self.send(UPLINK, tunnelled(inner))
        self.expect_only(expected_tunnel(inner, "vxlan", vni=200), UPLINK)
