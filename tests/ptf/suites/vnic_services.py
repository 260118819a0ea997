"""The stateful services flow table on the VNIC (US20240036898A1): the cases of
nic_test.ServiceCase, delivered from the uplink to the guest's default queue."""
import nic_test
from nic_test import VnicTest

UPLINK = 0


class VnicServiceTest(VnicTest):
    def deliver(self, packet):
        self.send(UPLINK, packet)

    def delivered(self, packet):
        self.expect_only(packet, 1)

    def returned(self, packet_in):
        return packet_in.payload


class AllowCounts(nic_test.ServiceAllowCounts, VnicServiceTest):
    pass


class Deny(nic_test.ServiceDeny, VnicServiceTest):
    pass


class Nat(nic_test.ServiceNat, VnicServiceTest):
    pass


class LoadBalancer(nic_test.ServiceLoadBalancer, VnicServiceTest):
    pass


class MissToGuestAndBack(nic_test.ServiceMissToGuestAndBack, VnicServiceTest):
    pass


class TcpCloseDigest(nic_test.ServiceTcpCloseDigest, VnicServiceTest):
    pass
