"""VNIC NUMA-aware steering (US11340932B2): flow -> vCPU (affinity entry or RSS indirection),
vCPU -> NUMA node, node -> its queues; remapping a vCPU moves its flows."""
import ptf.testutils as tu

from nic_base import VnicTest, flow_key, tcp

UPLINK = 0
STEERING = "steering"
NODES = {0: [1], 1: [3]}


class RssSpreadsFlowsOverNodes(VnicTest):
    """Even buckets -> vCPU 0 (node 0, queue 1), odd -> vCPU 1 (node 1, queue 3): flows
    spread over both queues and each flow stays on its queue."""

    def runTest(self):
        self.numa(STEERING, NODES, {0: 0, 1: 1})
        self.insert(*[self.p4.table_entry(f"{STEERING}.rss_indirection", {"rss_bucket": b},
                                          "set_vcpu", {"vcpu": b % 2}) for b in range(128)])
        used = set()
        for sport in range(4000, 4024):
            packet = tcp(sport=sport)
            self.send(UPLINK, packet)
            index, _ = tu.verify_packet_any_port(self, packet, [1, 3])
            port = [1, 3][index]
            used.add(port)
            self.send(UPLINK, packet)
            self.expect_only(packet, port)
        self.assertEqual(used, {1, 3}, "24 flows all hashed to one node")


class AffinityEntryOverridesRss(VnicTest):
    def runTest(self):
        self.numa(STEERING, NODES, {0: 0, 1: 1})
        self.add_entry(f"{STEERING}.flow_affinity", flow_key(sport=4100), "set_vcpu", {"vcpu": 1})
        pinned, other = tcp(sport=4100), tcp(sport=4101)
        self.send(UPLINK, pinned)
        self.expect_only(pinned, 3)
        self.send(UPLINK, other)
        self.expect_only(other, 1)      # RSS: empty indirection table -> vCPU 0 -> node 0


class VcpuRemapMovesItsFlows(VnicTest):
    """Moving vCPU 5 from node 0 to node 1 moves its flows from queue 1 to queue 3 and leaves
    vCPU 6's flows where they were."""

    def runTest(self):
        self.numa(STEERING, NODES, {6: 0})
        self.add_entry(f"{STEERING}.flow_affinity", flow_key(sport=4200), "set_vcpu", {"vcpu": 5})
        self.add_entry(f"{STEERING}.flow_affinity", flow_key(sport=4201), "set_vcpu", {"vcpu": 6})
        vcpu5 = self.p4.table_entry(f"{STEERING}.vcpu_node", {"vcpu": 5}, "set_node", {"node": 0})
        self.insert(vcpu5)
        moved, stays = tcp(sport=4200), tcp(sport=4201)
        self.send(UPLINK, moved)
        self.expect_only(moved, 1)
        self.conn.modify(self.p4.table_entry(f"{STEERING}.vcpu_node", {"vcpu": 5}, "set_node",
                                             {"node": 1}))
        self.send(UPLINK, moved)
        self.expect_only(moved, 3)
        self.send(UPLINK, stays)
        self.expect_only(stays, 1)


class NodeWithSeveralQueues(VnicTest):
    """A node's queue set is a selector group: each vCPU lands on one of the node's queues,
    always the same one."""

    def runTest(self):
        self.numa(STEERING, {0: [2, 4]}, {})
        for vcpu, sport in ((0, 4300), (1, 4301), (2, 4302)):
            self.add_entry(f"{STEERING}.flow_affinity", flow_key(sport=sport), "set_vcpu",
                           {"vcpu": vcpu})
            packet = tcp(sport=sport)
            self.send(UPLINK, packet)
            index, _ = tu.verify_packet_any_port(self, packet, [2, 4])
            port = [2, 4][index]
            for _ in range(2):
                self.send(UPLINK, packet)
                self.expect_only(packet, port)
