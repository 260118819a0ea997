"""A host end to end: the VNIC (PTF device 0) and the PNIC (device 1) programmed together, each
frame carried from one NIC's port to the next exactly as it left — so the two pipelines are
checked against each other, not only against the Python model of their headers.

Run with both targets: test params for the VNIC as usual and for the PNIC with the prefix
`pnic_` (pnic_grpc_addr, pnic_p4info, pnic_config).
"""
import random

import ptf.testutils as tu

from nic_base import (GUEST_MAC, PEER_MAC, VNI, NicTest, flow_key, tcp, tunnelled,
                      tunnel_params)
from p4nic.runtime.nicdefs import REASON_SPECIAL

VNIC, PNIC = 0, 1
UPLINK = 0
VF = 1           # the PNIC's VF the VNIC is attached to


class HostTest(NicTest):
    suite = "host"

    def setUp(self):
        super().setUp()
        self.pnic = self.open_target("pnic_")

    def carry(self, device, port, to_device, to_port):
        """Take the frame that leaves (device, port) and feed it to (to_device, to_port)."""
        result = tu.dp_poll(self, device_number=device, port_number=port, timeout=20)
        if not isinstance(result, self.dataplane.PollSuccess):
            self.fail(f"no frame left device {device} port {port}")
        tu.send_packet(self, (to_device, to_port), result.packet)
        return result.packet


class SenderFlagHonouredByReceiver(HostTest):
    """The VNIC flags the first packet of a flow (Geneve option), the PNIC keeps the flag while
    re-encapsulating it in VXLAN, and on receive the PNIC sends the flagged packet to the
    special path; the flow's next packet takes the fast path to the VF."""

    def runTest(self):
        self.add_entry("encap.tunnel", {"vni": 0, "dstAddr": PEER_MAC}, "encap_geneve",
                       tunnel_params())
        self.add_entry("marking.special_criteria", {"is_first": 1}, "mark_special", priority=1)
        self.pnic.add_entry("encap.tunnel", {"vni": VNI, "dstAddr": PEER_MAC}, "encap_vxlan",
                            tunnel_params())
        self.pnic.add_entry("policy", {"dir": 1, "vni": VNI}, "policy_forward",
                            {"port": UPLINK}, priority=1)
        self.pnic.add_entry("policy", {"dir": 0, "vni": VNI}, "policy_forward", {"port": 2},
                            priority=1)
        sport = random.randint(20000, 29999)   # a new flow, for the first-packet criterion
        packet = tcp(src="10.0.0.2", dst="10.0.0.1", eth_src=GUEST_MAC, eth_dst=PEER_MAC,
                     sport=sport)
        for first in (True, False):
            tu.send_packet(self, (VNIC, 1), packet)
            self.carry(VNIC, UPLINK, PNIC, VF)
            self.carry(PNIC, UPLINK, PNIC, UPLINK)     # the wire: back in as the receiver
            if first:
                self.pnic.verify_packet_in(packet, reason=REASON_SPECIAL, vni=VNI)
            else:
                tu.verify_packet(self, packet, (PNIC, 2))
            tu.verify_no_other_packets(self, device_number=PNIC)


class OffloadedFlowMovesFromVnicToPnic(HostTest):
    """The same NAT entry, first on the VNIC, then moved to the PNIC: the guest receives the
    very same packet, and each NIC's flow counter shows the packets it served."""

    def runTest(self):
        self.pnic.add_entry("policy", {"dir": 0, "vni": VNI}, "policy_forward", {"port": VF},
                            priority=1)
        key = flow_key(sport=21001)
        nat = {"ct_state": 2, "src_addr": "10.0.0.1", "dst_addr": "192.168.1.2",
               "sport": 21001, "dport": 8080}
        expected = tcp(sport=21001, dst="192.168.1.2", dport=8080)
        on_vnic = self.add_entry("services.flow_table", key, "svc_nat", nat)
        for holder in ("vnic", "pnic"):
            tu.send_packet(self, (PNIC, UPLINK), tunnelled(tcp(sport=21001)))
            self.carry(PNIC, VF, VNIC, UPLINK)
            tu.verify_packet(self, expected, (VNIC, 1))
            tu.verify_no_other_packets(self, device_number=VNIC)
            if holder == "vnic":
                self.assertEqual(self.direct_counter(on_vnic)[0], 1)
                self.delete(on_vnic)
                on_pnic = self.pnic.add_entry("services.flow_table", key, "svc_nat", nat)
        self.assertEqual(self.pnic.direct_counter(on_pnic)[0], 1)
