"""Shared pieces of the p4nic PTF suites: base classes, packets, and the service cases that
run unchanged on the VNIC and the PNIC.

Select a suite by group: `ptf --test-dir tests/ptf/suites vnic` (vnic.p4 on the target),
`... pnic` (pnic.p4) or `... host` (both, as PTF devices 0 and 1). Target parameters come from --test-params, see p4nic/runtime/ptf_base.py.
Port map (docs/pipelines.md): VNIC 0 = uplink, 1..4 = RX queues; PNIC 0 = uplink,
1..3 = VFs, 4..5 = host queues.
"""
import ptf.testutils as tu
from ptf.mask import Mask
from scapy.layers.inet import UDP

from p4nic.runtime.nicdefs import (FLOW_EVENT_TCP_CLOSE, PKT_OUT_INJECT, PORT_UPLINK,
                                   REASON_SERVICE, STAGE_SERVICES)
from p4nic.runtime.ptf_base import P4RuntimeTest
from p4nic.runtime.tunnels import encapsulate

GUEST_MAC = "00:00:00:00:0a:01"
PEER_MAC = "00:00:00:00:0b:01"
HOST_MAC = "00:00:00:00:aa:01"      # outer MAC of this host's tunnel endpoint
REMOTE_MAC = "00:00:00:00:bb:01"    # outer MAC of the remote tunnel endpoint
HOST_IP = "192.0.2.1"
REMOTE_IP = "192.0.2.2"
VNI = 100


def tcp(src="10.0.0.1", dst="10.0.0.2", sport=1234, dport=80, eth_dst=GUEST_MAC,
        eth_src=PEER_MAC, **kwargs):
    return tu.simple_tcp_packet(eth_dst=eth_dst, eth_src=eth_src, ip_src=src, ip_dst=dst,
                                tcp_sport=sport, tcp_dport=dport, **kwargs)


def flow_key(src="10.0.0.1", dst="10.0.0.2", sport=1234, dport=80, proto=6, ip_ver=4) -> dict:
    """The exact 5-tuple match of flow_table / flow_affinity."""
    return {"ip_ver": ip_ver, "src_addr": src, "dst_addr": dst, "proto": proto,
            "sport": sport, "dport": dport}


def tunnelled(inner, kind="geneve", vni=VNI, special=False, outer_smac=REMOTE_MAC,
              outer_dmac=HOST_MAC, sip=REMOTE_IP, dip=HOST_IP):
    """A frame as it arrives on the PNIC's uplink from the remote endpoint."""
    return encapsulate(inner, kind, vni, special=special, outer_smac=outer_smac,
                       outer_dmac=outer_dmac, sip=sip, dip=dip)


def expected_tunnel(inner, kind="geneve", vni=VNI, special=False, outer_smac=HOST_MAC,
                    outer_dmac=REMOTE_MAC, sip=HOST_IP, dip=REMOTE_IP) -> Mask:
    """A frame as this host's NIC encapsulates it; the UDP source port is flow entropy."""
    masked = Mask(encapsulate(inner, kind, vni, special=special, outer_smac=outer_smac,
                              outer_dmac=outer_dmac, sip=sip, dip=dip))
    masked.set_do_not_care_scapy(UDP, "sport")
    return masked


def tunnel_params(vni=VNI) -> dict:
    return {"vni": vni, "smac": HOST_MAC, "dmac": REMOTE_MAC, "sip": HOST_IP, "dip": REMOTE_IP}


class NicTest(P4RuntimeTest):
    """Base of both suites: each concrete test lands in the group named by `suite`."""
    suite = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A list of its own per class: ptf appends the module name to `_groups` in place.
        cls._groups = [cls.suite]

    def send(self, port, packet):
        tu.send_packet(self, port, packet)

    def expect(self, packet, port):
        tu.verify_packet(self, packet, port)

    def expect_only(self, packet, port):
        tu.verify_packet(self, packet, port)
        tu.verify_no_other_packets(self)

    def expect_nothing(self):
        tu.verify_no_other_packets(self)

    def numa(self, steering: str, nodes: dict, vcpu_node: dict):
        """NUMA layout: nodes {node: [queue ports]}, vcpu_node {vcpu: node}.

        `steering` is the QueueSteering instance prefix ("steering"). One selector group per
        node, whose members are the node's queues.
        """
        member_id = 0
        for node, queues in nodes.items():
            members = []
            for port in queues:
                member_id += 1
                self.add_member(f"{steering}.numa_queues", member_id, "set_queue", {"port": port})
                members.append(member_id)
            self.add_group(f"{steering}.numa_queues", node + 1, members)
            self.add_entry(f"{steering}.numa_queues", {"numa_node": node}, group_id=node + 1)
        for vcpu, node in vcpu_node.items():
            self.add_entry(f"{steering}.vcpu_node", {"vcpu": vcpu}, "set_node", {"node": node})


class VnicTest(NicTest):
    suite = "vnic"


class PnicTest(NicTest):
    suite = "pnic"


# -- stateful services: the same entries give the same behaviour on both NICs ----------------

class ServiceCase:
    """A services test written once; `deliver(packet)` sends a flow's packet where it reaches
    the services stage of the NIC under test, `delivered(packet)` checks it came out after
    services, and `returned(packet_in)` is the frame the guest sends back by packet-out."""

    def install(self, *entries):
        for match, action, params in entries:
            self.add_entry("services.flow_table", match, action, params)


class ServiceAllowCounts(ServiceCase):
    """An allow entry lets its flow through and counts it; the table's miss (set to
    svc_to_guest) sends other flows to the guest."""

    def runTest(self):
        self.set_default("services.flow_table", "svc_to_guest")
        entry = self.p4.table_entry("services.flow_table", flow_key(sport=2001),
                                    "svc_allow", {"ct_state": 2})
        self.insert(entry)
        packet = tcp(sport=2001)
        for _ in range(2):
            self.deliver(packet)
            self.delivered(packet)
        packets, _ = self.direct_counter(entry)
        self.assertEqual(packets, 2)
        self.deliver(tcp(sport=2002))
        self.verify_packet_in(reason=REASON_SERVICE)
        self.expect_nothing()


class ServiceDeny(ServiceCase):
    def runTest(self):
        self.install((flow_key(sport=2011), "svc_deny", None))
        self.deliver(tcp(sport=2011))
        self.expect_nothing()
        self.deliver(tcp(sport=2012))
        self.delivered(tcp(sport=2012))


class ServiceNat(ServiceCase):
    """NAT rewrites addresses and ports; the IPv4 and TCP checksums come out right."""

    def runTest(self):
        self.install((flow_key(sport=2021), "svc_nat",
                      {"ct_state": 2, "src_addr": "172.16.0.1", "dst_addr": "172.16.0.2",
                       "sport": 40000, "dport": 8080}))
        self.deliver(tcp(sport=2021))
        self.delivered(tcp(src="172.16.0.1", dst="172.16.0.2", sport=40000, dport=8080))


class ServiceLoadBalancer(ServiceCase):
    """The flow goes to its backend: destination MAC, address and port rewritten."""

    def runTest(self):
        backend_mac = "00:00:00:00:0c:01"
        self.install((flow_key(dst="10.0.0.100", sport=2031, dport=80), "svc_lb",
                      {"ct_state": 2, "backend_mac": backend_mac, "backend_addr": "10.0.1.7",
                       "backend_port": 8080}))
        self.deliver(tcp(dst="10.0.0.100", sport=2031))
        self.delivered(tcp(dst="10.0.1.7", sport=2031, dport=8080, eth_dst=backend_mac))


class ServiceMissToGuestAndBack(ServiceCase):
    """A flow the guest has not offloaded goes to the guest (packet-in, REASON_SERVICE); the
    guest's packet-out (INJECT, services bypassed) then takes the normal path."""

    def runTest(self):
        self.set_default("services.flow_table", "svc_to_guest")
        packet = tcp(sport=2041)
        self.deliver(packet)
        packet_in = self.verify_packet_in(reason=REASON_SERVICE, ingress_port=PORT_UPLINK)
        self.expect_nothing()
        self.send_packet_out(self.returned(packet_in), port=PORT_UPLINK, mode=PKT_OUT_INJECT,
                             bypass=STAGE_SERVICES)
        self.delivered(packet)


class ServiceTcpCloseDigest(ServiceCase):
    """FIN on an offloaded flow sends a flow_event_t digest naming the flow."""

    def runTest(self):
        self.enable_digest("flow_event_t")
        self.install((flow_key(sport=2051), "svc_allow", {"ct_state": 2}))
        packet = tcp(sport=2051, tcp_flags="FA")
        self.deliver(packet)
        self.delivered(packet)
        samples = self.verify_digest("flow_event_t")
        self.assertEqual(samples[0]["event"], FLOW_EVENT_TCP_CLOSE)
        self.assertEqual((samples[0]["sport"], samples[0]["dport"], samples[0]["proto"]),
                         (2051, 80, 6))

