"""VNIC RX filters (US11277382B2): prioritised filters over MAC, VLAN, IPv4/IPv6, protocol
and L4 ports pick the RX queue (queue q = port q); no match: default queue or RSS."""
import ptf.testutils as tu

from nic_base import GUEST_MAC, PEER_MAC, VnicTest, tcp

UPLINK = 0


class FilterPicksQueue(VnicTest):
    """A matching filter sends the packet to its queue and counts it; others keep queue 1."""

    def runTest(self):
        entry = self.p4.table_entry("filters", {"ip_ver": 4, "dst_addr": "10.1.0.5"},
                                    "filter_to_queue", {"queue": 3}, priority=10)
        self.insert(entry)
        packet = tcp(dst="10.1.0.5")
        self.send(UPLINK, packet)
        self.expect_only(packet, 3)
        other = tcp(dst="10.1.0.6")
        self.send(UPLINK, other)
        self.expect_only(other, 1)
        self.assertEqual(self.direct_counter(entry), (1, len(packet)))


class OverlappingFiltersHighestPriorityWins(VnicTest):
    """Two filters match: the higher priority one decides; remove it and the other applies."""

    def runTest(self):
        broad = self.p4.table_entry("filters", {"dstAddr": GUEST_MAC}, "filter_to_queue",
                                    {"queue": 2}, priority=10)
        narrow = self.p4.table_entry("filters", {"dstAddr": GUEST_MAC, "proto": 6,
                                                 "dport": 443}, "filter_to_queue",
                                     {"queue": 4}, priority=20)
        self.insert(broad, narrow)
        https, http = tcp(dport=443), tcp(dport=80)
        self.send(UPLINK, https)
        self.expect_only(https, 4)
        self.send(UPLINK, http)
        self.expect_only(http, 2)
        self.delete(narrow)
        self.send(UPLINK, https)
        self.expect_only(https, 2)


class WildcardPortRangeByMask(VnicTest):
    """A ternary mask on the L4 port covers a block of ports (here 5000-5007)."""

    def runTest(self):
        self.add_entry("filters", {"dport": (5000, 0xFFF8)}, "filter_to_queue", {"queue": 3},
                       priority=5)
        for port, queue in ((5000, 3), (5007, 3), (5008, 1)):
            packet = tcp(dport=port)
            self.send(UPLINK, packet)
            self.expect_only(packet, queue)


class VlanAndMacFilters(VnicTest):
    """A VLAN filter and a second guest MAC (as with VMDq) each have their queue."""

    def runTest(self):
        self.add_entry("filters", {"vid": 20}, "filter_to_queue", {"queue": 2}, priority=10)
        self.add_entry("filters", {"dstAddr": "00:00:00:00:0a:02"}, "filter_to_queue",
                       {"queue": 4}, priority=10)
        tagged = tu.simple_tcp_packet(eth_dst=GUEST_MAC, eth_src=PEER_MAC, dl_vlan_enable=True,
                                      vlan_vid=20)
        self.send(UPLINK, tagged)
        self.expect_only(tagged, 2)
        second_mac = tcp(eth_dst="00:00:00:00:0a:02")
        self.send(UPLINK, second_mac)
        self.expect_only(second_mac, 4)


class Ipv6Filter(VnicTest):
    def runTest(self):
        self.add_entry("filters", {"ip_ver": 6, "dst_addr": ("2001:db8:1::", (2**128 - 1) ^ (2**64 - 1))},
                       "filter_to_queue", {"queue": 3}, priority=10)
        inside = tu.simple_tcpv6_packet(eth_dst=GUEST_MAC, ipv6_dst="2001:db8:1::9")
        outside = tu.simple_tcpv6_packet(eth_dst=GUEST_MAC, ipv6_dst="2001:db8:2::9")
        self.send(UPLINK, inside)
        self.expect_only(inside, 3)
        self.send(UPLINK, outside)
        self.expect_only(outside, 1)


class DefaultQueue(VnicTest):
    """With the default set to a queue, unfiltered packets go there instead of to RSS."""

    def runTest(self):
        self.set_default("rx_default", "default_queue", {"queue": 4})
        packet = tcp(sport=3001)
        self.send(UPLINK, packet)
        self.expect_only(packet, 4)


class FilterToRssAndDrop(VnicTest):
    """A filter can send its flows to RSS (past a default queue) or drop them."""

    def runTest(self):
        self.set_default("rx_default", "default_queue", {"queue": 4})
        self.add_entry("filters", {"dport": 8080}, "filter_to_rss", priority=10)
        self.add_entry("filters", {"dport": 23}, "filter_drop", priority=10)
        spread = tcp(dport=8080)
        self.send(UPLINK, spread)
        self.expect_only(spread, 1)     # empty RSS tables: vCPU 0, node 0, first queue
        self.send(UPLINK, tcp(dport=23))
        self.expect_nothing()
