"""PNIC receive side of sender-side assisted classification (US10965601B2): a packet whose
outer header carries the special-processing flag leaves the fast path for the special path
(the host's CPU port by default, or NUMA-steered host queues), counted apart."""
from nic_base import VNI, PnicTest, flow_key, tcp, tunnelled
from p4nic.runtime.nicdefs import PATH_FAST, PATH_SPECIAL, REASON_SPECIAL

UPLINK = 0
STEERING = "steering"


class SpecialTest(PnicTest):
    def setUp(self):
        super().setUp()
        self.add_entry("policy", {"vni": VNI}, "policy_forward", {"port": 1}, priority=1)

    def path_counts(self):
        return (self.counter("rx_path_counter", PATH_FAST)[0],
                self.counter("rx_path_counter", PATH_SPECIAL)[0])


class FlaggedGoesToHostUnflaggedFastPath(SpecialTest):
    def runTest(self):
        for kind in ("geneve", "vxlan"):
            fast, special = self.path_counts()
            inner = tcp(sport=9001)
            self.send(UPLINK, tunnelled(inner, kind=kind, special=True))
            self.verify_packet_in(inner, reason=REASON_SPECIAL, vni=VNI)
            self.expect_nothing()
            self.send(UPLINK, tunnelled(inner, kind=kind))
            self.expect_only(inner, 1)
            self.assertEqual(self.path_counts(), (fast + 1, special + 1))


class SpecialPathToNumaHostQueues(SpecialTest):
    """Flagged packets steered to host queues by the flow's vCPU: vCPU 3 on node 1 uses
    queue port 5; remapped to node 0, port 4."""

    def runTest(self):
        self.set_default("special_path", "special_to_host_queues")
        self.numa(STEERING, {0: [4], 1: [5]}, {})
        self.add_entry(f"{STEERING}.flow_affinity", flow_key(sport=9011), "set_vcpu", {"vcpu": 3})
        vcpu3 = self.p4.table_entry(f"{STEERING}.vcpu_node", {"vcpu": 3}, "set_node", {"node": 1})
        self.insert(vcpu3)
        inner = tcp(sport=9011)
        self.send(UPLINK, tunnelled(inner, special=True))
        self.expect_only(inner, 5)
        self.conn.modify(self.p4.table_entry(f"{STEERING}.vcpu_node", {"vcpu": 3}, "set_node",
                                             {"node": 0}))
        self.send(UPLINK, tunnelled(inner, special=True))
        self.expect_only(inner, 4)


class SpecialPathCanBeTurnedOff(SpecialTest):
    def runTest(self):
        self.set_default("special_path", "special_fast_path")
        inner = tcp(sport=9021)
        self.send(UPLINK, tunnelled(inner, special=True))
        self.expect_only(inner, 1)
        self.verify_no_packet_in()
