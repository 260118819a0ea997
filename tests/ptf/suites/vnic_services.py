"""The stateful services flow table on the VNIC (US20240036898A1): the cases of
nic_base.ServiceCase, delivered from the uplink to the guest's default queue."""
import nic_base
from nic_base import VnicTest

UPLINK = 0


class VnicServiceTest(VnicTest):
    def deliver(self, packet):
        self.send(UPLINK, packet)

    def delivered(self, packet):
        self.expect_only(packet, 1)

    def returned(self, packet_in):
        return packet_in.payload


class AllowCounts(nic_base.ServiceAllowCounts, VnicServiceTest):
    pass


class Deny(nic_base.ServiceDeny, VnicServiceTest):
    pass


class Nat(nic_base.ServiceNat, VnicServiceTest):
    pass


class LoadBalancer(nic_base.ServiceLoadBalancer, VnicServiceTest):
    pass


class MissToGuestAndBack(nic_base.ServiceMissToGuestAndBack, VnicServiceTest):
    pass


class TcpCloseDigest(nic_base.ServiceTcpCloseDigest, VnicServiceTest):
    pass
