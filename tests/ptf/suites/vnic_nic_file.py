"""A suite programming the VNIC from pipeline DSL entries (`apply_nic_entries`, what
`apply_nic_file` does once the file is loaded): the entries act on packets, another
controller's entry keeps working, and the target is put back as it was afterwards."""
from p4nic.compiler.errors import SourceLocation
from p4nic.dsl.model import OWNER_COOKIE, DesiredEntity, NicEntries, NicTarget, Origin
from p4nic.runtime.entities import as_entity

from nic_base import VnicTest, tcp

UPLINK = 0


class NicEntriesApplyAndRestore(VnicTest):
    """A filter and the RX default from a file; undoing them restores the pipeline."""

    def declared(self, line, statement, entry):
        entry.metadata = OWNER_COOKIE
        loc = SourceLocation("vm1.nic", line, 5, statement)
        return DesiredEntity(as_entity(entry), Origin(loc, statement))

    def runTest(self):
        self.add_entry("filters", {"ip_ver": 4, "dport": 9000}, "filter_to_queue", {"queue": 4},
                       priority=1)
        web = self.p4.table_entry("filters", {"ip_ver": 4, "proto": 6, "dport": 80},
                                  "filter_to_queue", {"queue": 3}, priority=10)
        default = self.p4.table_entry("rx_default", action="default_queue", params={"queue": 2},
                                      default=True)
        target = NicTarget("vm1", "vnic", self.target.grpc_addr, p4info=self.p4.p4info)
        entries = NicEntries(target, [self.declared(3, "tcp dport 80 -> queue 3", web),
                                      self.declared(4, "default -> queue 2", default)],
                             managed_defaults=frozenset({"VnicIngress.rx_default"}))
        result = self.apply_nic_entries(entries)
        self.assertEqual(len(result.applied), 2)
        for dport, queue in ((80, 3), (81, 2), (9000, 4)):
            packet = tcp(dport=dport)
            self.send(UPLINK, packet)
            self.expect_only(packet, queue)

        self.undo_nic_files()           # what tearDown does; here, to look at the result
        for dport, queue in ((80, 1), (81, 1), (9000, 4)):
            packet = tcp(dport=dport)
            self.send(UPLINK, packet)
            self.expect_only(packet, queue)
