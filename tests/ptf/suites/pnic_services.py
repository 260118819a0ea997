"""The stateful services flow table on the PNIC (US20240036904A1): the very cases the VNIC
suite runs (nic_base.ServiceCase), here on tunnelled packets delivered to a VF — a flow moved
from the VNIC to the PNIC keeps its behaviour."""
import nic_base
from nic_base import VNI, PnicTest, tunnelled

UPLINK = 0
VF = 2


class PnicServiceTest(PnicTest):
    def setUp(self):
        super().setUp()
        self.add_entry("policy", {"vni": VNI}, "policy_forward", {"port": VF}, priority=1)

    def deliver(self, packet):
        self.send(UPLINK, tunnelled(packet))

    def delivered(self, packet):
        self.expect_only(packet, VF)

    def returned(self, packet_in):
        return bytes(tunnelled(packet_in.payload, vni=packet_in.metadata["vni"]))


class AllowCounts(nic_base.ServiceAllowCounts, PnicServiceTest):
    pass


class Deny(nic_base.ServiceDeny, PnicServiceTest):
    pass


class Nat(nic_base.ServiceNat, PnicServiceTest):
    pass


class LoadBalancer(nic_base.ServiceLoadBalancer, PnicServiceTest):
    pass


class MissToGuestAndBack(nic_base.ServiceMissToGuestAndBack, PnicServiceTest):
    pass


class TcpCloseDigest(nic_base.ServiceTcpCloseDigest, PnicServiceTest):
    pass
