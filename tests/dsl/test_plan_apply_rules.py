"""The plan's rules on their own: ownership on a target that drops multicast metadata (as
simple_switch_grpc does), what is read from a NIC, and statements the plan refuses. The
installed side is P4Runtime entities exactly as a server returns them."""
import pytest
from p4nic.proto import p4runtime_pb2

from apply_harness import FileBuilder, vnic_program
from p4nic import pipelines
from p4nic.dsl.apply import program_mismatch
from p4nic.dsl.installed import Installed, read_scope
from p4nic.dsl.plan import DELETE, MODIFY, PlanError, make_plan
from p4nic.runtime.entities import as_entity
from p4nic.runtime.p4info import P4InfoNames


def as_read_back(entity, metadata=None):
    """The entity as a server returns it, with `metadata` instead of what was written."""
    copy = p4runtime_pb2.Entity()
    copy.CopyFrom(entity)
    if metadata is not None:
        if copy.HasField("table_entry"):
            copy.table_entry.metadata = metadata
        else:
            copy.packet_replication_engine_entry.multicast_group_entry.metadata = metadata
    return copy


def test_multicast_on_a_target_that_returns_no_metadata():
    f = FileBuilder(None)
    same = f.multicast("flood 1, 2", 3, [1, 2])
    f.multicast("flood 1", 4, [1])
    f.multicast("flood 5", 5, [5])
    p4 = f.p4
    installed = Installed.from_entities([
        as_read_back(same, b""),                                   # ours, metadata dropped
        as_read_back(as_entity(p4.multicast_group(4, [2])), b""),   # ours, replicas changed
        as_read_back(as_entity(p4.multicast_group(5, [5])), b"shell"),   # someone else's
        as_read_back(as_entity(p4.multicast_group(9, [1])), b""),   # cannot tell: left alone
    ])
    the_plan = make_plan(f.build(), installed, P4InfoNames(vnic_program()[1]))
    assert the_plan.unchanged == 1
    assert [(c.action, c.entity.packet_replication_engine_entry.multicast_group_entry
             .multicast_group_id) for c in the_plan.changes] == [(MODIFY, 4)]
    (conflict,) = the_plan.conflicts
    assert conflict.desired.origin.statement == "flood 5"
    (note,) = the_plan.notes
    assert "returns multicast groups without their metadata" in note
    assert "stays installed" in note


def test_owned_entries_the_file_dropped_are_deleted_and_nothing_else():
    f = FileBuilder(None)
    kept = f.entry("tcp dport 80 -> queue 2", "filters", {"dport": 80}, "filter_to_queue",
                   {"queue": 2}, priority=9)
    p4 = f.p4
    dropped = as_read_back(as_entity(p4.table_entry("filters", {"dport": 81}, "filter_drop",
                                                    priority=9)), b"p4nic-dsl")
    foreign = as_read_back(as_entity(p4.table_entry("filters", {"dport": 82}, "filter_drop",
                                                    priority=9)), b"")
    lookalike = as_read_back(as_entity(p4.table_entry("filters", {"dport": 83}, "filter_drop",
                                                      priority=9)), b"p4nic")
    installed = Installed.from_entities([kept, dropped, foreign, lookalike])
    the_plan = make_plan(f.build(), installed, P4InfoNames(vnic_program()[1]))
    assert the_plan.unchanged == 1 and not the_plan.conflicts
    (change,) = the_plan.changes
    assert change.action == DELETE and change.origin is None
    assert change.entity.table_entry.match == dropped.table_entry.match
    assert not change.entity.table_entry.HasField("action")           # DELETE carries the key


def test_read_scope_covers_what_a_role_writes_and_no_more():
    names = P4InfoNames(vnic_program()[1])
    table = {t.preamble.name: t.preamble.id for t in names.p4info.tables}
    scope = read_scope(names, "", default_tables={table["VnicIngress.rx_default"],
                                                  table["VnicIngress.steering.numa_queues"]})
    read = {names.by_id(i).preamble.name for i in scope.tables}
    assert "VnicIngress.services.flow_table" not in read      # the guest role's table
    assert "VnicIngress.rx_default" not in read               # keyless: only a default entry
    assert {"VnicIngress.filters", "VnicIngress.acl", "VnicIngress.classify",
            "VnicIngress.slot_after_encap", "VnicIngress.encap.tunnel",
            "VnicIngress.steering.numa_queues"} <= read
    # An indirect table's default entry cannot be written: it is not read either.
    assert scope.defaults == [table["VnicIngress.rx_default"]]
    assert scope.multicast
    declared = read_scope(names, "", entry_tables={table["VnicIngress.services.flow_table"]})
    assert table["VnicIngress.services.flow_table"] in declared.tables
    guest = read_scope(names, "guest")
    assert guest.tables == [table["VnicIngress.services.flow_table"]] and not guest.multicast
    queries = scope.queries(names)
    assert len(queries) == len(scope.tables) + 1 + 1             # + default + multicast


def test_two_statements_with_one_key_are_refused():
    f = FileBuilder(None)
    f.entry("tcp dport 80 -> queue 2", "filters", {"dport": 80}, "filter_to_queue",
            {"queue": 2}, priority=9)
    f.entry("tcp dport 80 -> drop", "filters", {"dport": 80}, "filter_drop", priority=9)
    with pytest.raises(PlanError, match=r"vm1.nic:2: tcp dport 80 -> drop: declares the same "
                                        r"table entry .* as vm1.nic:1: tcp dport 80 -> queue 2"):
        make_plan(f.build(), Installed(), P4InfoNames(vnic_program()[1]))


def test_entities_plan_does_not_manage_are_refused():
    f = FileBuilder(None)
    f.add("count port 3", p4runtime_pb2.CounterEntry(counter_id=1))
    with pytest.raises(PlanError, match="vm1.nic:1: count port 3: plan/apply manages .* not "
                                        "counter_entry"):
        make_plan(f.build(), Installed(), P4InfoNames(vnic_program()[1]))


def test_a_nic_running_another_program_is_named():
    vnic = vnic_program()[1]
    pnic = pipelines.compiled("pnic").p4info
    assert program_mismatch(vnic, vnic) is None
    assert "the NIC has no table 'PnicIngress." in program_mismatch(vnic, pnic)
