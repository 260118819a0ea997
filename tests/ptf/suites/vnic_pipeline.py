"""The programmable VNIC (US11736413B2): table entries alone inject a stage between fixed
stages, bypass fixed stages, or append a stage, for the flows classification steers to a
profile; deleting the entries restores the original pipeline."""
from nic_base import VnicTest, tcp
from p4nic.runtime.nicdefs import REASON_SLOT, STAGE_ACL, STAGE_FILTER, STAGE_SERVICES

UPLINK = 0
PROFILE = 7


class ProgrammableTest(VnicTest):
    def steer(self, sport, bypass=0):
        """Classify the flow with source port `sport` into PROFILE; returns the entry."""
        return self.add_entry("classify", {"sport": sport}, "set_profile",
                              {"profile": PROFILE, "bypass": bypass}, priority=10)

    def slot(self, name, action, params=None):
        return self.add_entry(name, {"profile": PROFILE}, action, params, priority=10)


class InjectStageBetweenFilterAndAcl(ProgrammableTest):
    """An injected DSCP-marking stage changes only the steered flow, and goes away with its
    entries."""

    def runTest(self):
        classify = self.steer(5001)
        slot = self.slot("slot_after_filter", "slot_set_dscp", {"dscp": 46})
        steered, other = tcp(sport=5001), tcp(sport=5002)
        self.send(UPLINK, steered)
        self.expect_only(tcp(sport=5001, ip_tos=46 << 2), 1)
        self.send(UPLINK, other)
        self.expect_only(other, 1)
        self.delete(slot, classify)
        self.send(UPLINK, steered)
        self.expect_only(steered, 1)


class InjectedStageRunsBeforeLaterFixedStages(ProgrammableTest):
    """A stage injected after classify picks a queue, and the filter stage that follows still
    overrides it for the packets it matches — the stage sits between the two."""

    def runTest(self):
        self.steer(5011)
        self.steer(5012)
        self.slot("slot_after_classify", "slot_set_queue", {"queue": 2})
        self.add_entry("filters", {"sport": 5012}, "filter_to_queue", {"queue": 4}, priority=10)
        self.send(UPLINK, tcp(sport=5011))
        self.expect_only(tcp(sport=5011), 2)
        self.send(UPLINK, tcp(sport=5012))
        self.expect_only(tcp(sport=5012), 4)


class BypassAclForOneFlow(ProgrammableTest):
    """The ACL drops both flows; bypassing the ACL stage lets the steered one through, and
    deleting the classify entry restores the drop."""

    def runTest(self):
        self.add_entry("acl", {"dport": 80}, "acl_deny", priority=10)
        classify = self.steer(5021, bypass=STAGE_ACL)
        self.send(UPLINK, tcp(sport=5021))
        self.expect_only(tcp(sport=5021), 1)
        self.send(UPLINK, tcp(sport=5022))
        self.expect_nothing()
        self.delete(classify)
        self.send(UPLINK, tcp(sport=5021))
        self.expect_nothing()


class BypassFilterAndServices(ProgrammableTest):
    """Bypassing filter and services: the filter's queue and the guest punt no longer apply."""

    def runTest(self):
        self.add_entry("filters", {"dport": 80}, "filter_to_queue", {"queue": 3}, priority=10)
        self.set_default("services.flow_table", "svc_to_guest")
        self.steer(5031, bypass=STAGE_FILTER | STAGE_SERVICES)
        self.send(UPLINK, tcp(sport=5031))
        self.expect_only(tcp(sport=5031), 1)
        self.verify_no_packet_in()


class AppendStageAfterLast(ProgrammableTest):
    """A stage appended after the last fixed stage sends the steered flow to the controller."""

    def runTest(self):
        slot = self.slot("slot_after_encap", "slot_to_cpu")
        self.steer(5041)
        self.send(UPLINK, tcp(sport=5041))
        self.verify_packet_in(tcp(sport=5041), reason=REASON_SLOT, ingress_port=UPLINK)
        self.expect_nothing()
        self.delete(slot)
        self.send(UPLINK, tcp(sport=5041))
        self.expect_only(tcp(sport=5041), 1)
