"""A small PTF suite run by tests/nic/test_switch_cli_ptf.py against `p4nic switch`.

The program is tests/stf/programs/l3_router.json with two const routes:
10.0.0.0/8 -> port 2 (MAC 00:00:00:00:02:02), 10.10.0.0/16 -> port 3 (MAC 00:00:00:00:03:03);
other IPv4 packets are dropped. The router does not update the IPv4 checksum.
"""
import ptf
import ptf.testutils as tu
from ptf.base_tests import BaseTest
from ptf.mask import Mask
from scapy.layers.inet import IP


class RouterTest(BaseTest):
    def setUp(self):
        BaseTest.setUp(self)
        self.dataplane = ptf.dataplane_instance
        self.dataplane.flush()

    def routed(self, ip_dst, out_mac, ttl_in=64):
        """(packet to send, masked packet expected) for a routed TCP packet."""
        sent = tu.simple_tcp_packet(eth_dst="00:00:00:00:00:aa", eth_src="00:00:00:00:00:bb",
                                    ip_dst=ip_dst, ip_ttl=ttl_in)
        expected = tu.simple_tcp_packet(eth_dst=out_mac, eth_src="00:00:00:00:00:aa",
                                        ip_dst=ip_dst, ip_ttl=ttl_in - 1)
        masked = Mask(expected)
        masked.set_do_not_care_scapy(IP, "chksum")
        return sent, masked


class LongestPrefixWins(RouterTest):
    def runTest(self):
        sent, expected = self.routed("10.10.1.1", "00:00:00:00:03:03")
        tu.send_packet(self, 1, sent)
        tu.verify_packet(self, expected, 3)
        tu.verify_no_other_packets(self)


class ShorterPrefix(RouterTest):
    def runTest(self):
        for port in (1, 3):
            sent, expected = self.routed("10.1.2.3", "00:00:00:00:02:02")
            tu.send_packet(self, port, sent)
            tu.verify_packet(self, expected, 2)
        tu.verify_no_other_packets(self)


class NoRouteIsDropped(RouterTest):
    def runTest(self):
        sent, _ = self.routed("192.168.1.1", "00:00:00:00:02:02")
        tu.send_packet(self, 2, sent)
        tu.verify_no_other_packets(self)
