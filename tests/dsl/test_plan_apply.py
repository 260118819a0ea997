"""plan/apply against a real `p4nic switch` running vnic.p4, reached over P4Runtime as any
controller (and simple_switch_grpc) would be: what a plan shows, what apply writes, and what
it never touches."""
from contextlib import contextmanager

import pytest
from p4nic.proto import p4runtime_pb2

from apply_harness import FileBuilder, fresh_pipeline, next_election, read_all, start_vnic
from p4nic.dsl.apply import (APPLIED, FAILED, NOT_APPLIED, ROLLED_BACK, apply, plan)
from p4nic.dsl.model import OWNER_COOKIE
from p4nic.dsl.plan import ADD, DELETE, MODIFY, PlanError
from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import as_entity

FILTERS_SIZE = 1024        # vnic.p4: filters { size = 1024; }


@pytest.fixture(scope="module")
def switch(tmp_path_factory):
    with start_vnic(tmp_path_factory.mktemp("vnic")) as running:
        yield running


@pytest.fixture
def nic(switch):
    """The switch's address, its pipeline freshly pushed (every table empty)."""
    fresh_pipeline(switch.grpc_addr)
    return switch.grpc_addr


@contextmanager
def controller(address, role=""):
    """The primary controller of `role`: the DSL's or, in a test, another one."""
    with Connection(address, election_id=next_election(), role=role) as conn:
        assert conn.is_primary
        yield conn


def dsl_plan(address, entries):
    with Connection(address, arbitrate=False) as conn:
        return plan(entries, conn)


def dsl_apply(address, entries, atomic=False):
    with controller(address) as conn:
        return apply(entries, conn, atomic=atomic)


def apply_ok(address, entries, atomic=False):
    result = dsl_apply(address, entries, atomic)
    assert result.ok, result.render()
    return result


def state(address):
    with Connection(address, arbitrate=False) as conn:
        return read_all(conn)


def lines_of(text):
    return [line.strip() for line in text.splitlines()]


def three_filters(address):
    f = FileBuilder(address)
    f.entry("tcp dport 80 -> queue 2", "filters", {"ip_ver": 4, "proto": 6, "dport": 80},
            "filter_to_queue", {"queue": 2}, priority=30)
    f.entry("udp dport 53 -> queue 3", "filters", {"ip_ver": 4, "proto": 17, "dport": 53},
            "filter_to_queue", {"queue": 3}, priority=20)
    f.entry("tcp dport 22 -> drop", "filters", {"ip_ver": 4, "proto": 6, "dport": 22},
            "filter_drop", priority=10)
    return f


def rich_file(address):
    """Entries in every kind of table the DSL writes on a VNIC."""
    f = three_filters(address)
    f.entry("acl: deny tx from 10.9.0.0/16", "acl", {"dir": 1, "ip_ver": 4,
            "src_addr": (0x0A090000, 0xFFFF0000)}, "acl_deny", priority=5)
    f.entry("stage scrub after acl for tcp dport 80", "classify", {"proto": 6, "dport": 80},
            "set_profile", {"profile": 1, "bypass": 0}, priority=1)
    f.entry("scrub: ip saddr 192.0.2.0/24 -> drop", "slot_after_acl",
            {"profile": (1, 1), "src_addr": (0xC0000200, 0xFFFFFF00)}, "slot_drop", priority=2)
    f.entry("tunnel vni 5001", "encap.tunnel", {"vni": 5001, "dstAddr": "02:00:00:00:00:02"},
            "encap_geneve", {"vni": 5001, "smac": "02:00:00:00:00:01",
                             "dmac": "02:00:00:00:00:02", "sip": "192.0.2.1", "dip": "192.0.2.2"})
    f.entry("rss bucket 0 -> vcpu 1", "rss_indirection", {"rss_bucket": 0}, "set_vcpu",
            {"vcpu": 1})
    f.entry("vcpu 1 on node 0", "vcpu_node", {"vcpu": 1}, "set_node", {"node": 0})
    f.default("default -> queue 2", "rx_default", "default_queue", {"queue": 2})
    f.member("node 0 queues 1, 2", 1, "set_queue", {"port": 1}, line=40)
    f.member("node 0 queues 1, 2", 2, "set_queue", {"port": 2}, line=40)
    f.group("node 0 queues 1, 2", 1, [1, 2], line=40)
    f.entry("node 0 queues 1, 2", "numa_queues", {"numa_node": 0}, group_id=1, line=40)
    f.multicast("flood ports 1, 2", 3, [1, 2])
    return f


# -- plan ------------------------------------------------------------------------------------

def test_plan_shows_add_modify_delete_in_the_files_words(nic):
    apply_ok(nic, three_filters(nic).build())
    edited = FileBuilder(nic)
    edited.entry("tcp dport 80 -> queue 4", "filters", {"ip_ver": 4, "proto": 6, "dport": 80},
                 "filter_to_queue", {"queue": 4}, priority=30)
    edited.entry("udp dport 53 -> queue 3", "filters", {"ip_ver": 4, "proto": 17, "dport": 53},
                 "filter_to_queue", {"queue": 3}, priority=20)
    edited.entry("tcp dport 443 -> queue 2", "filters", {"ip_ver": 4, "proto": 6,
                 "dport": 443}, "filter_to_queue", {"queue": 2}, priority=15)
    before = state(nic)
    the_plan = dsl_plan(nic, edited.build())
    assert state(nic) == before, "plan wrote to the NIC"
    assert (the_plan.count(ADD), the_plan.count(MODIFY), the_plan.count(DELETE),
            the_plan.unchanged) == (1, 1, 1, 1)
    assert not the_plan.empty
    text = lines_of(the_plan.render())
    assert text[0].endswith("1 to add, 1 to change, 1 to delete, 1 unchanged")
    at = text.index("vm1.nic:1: tcp dport 80 -> queue 4")
    assert text[at + 1:at + 4] == [
        "~ VnicIngress.filters  meta.ip_ver=4 meta.proto=6 meta.dport=80  priority 30",
        "- VnicIngress.filter_to_queue(queue=2)",
        "+ VnicIngress.filter_to_queue(queue=4)"]
    at = text.index("vm1.nic:3: tcp dport 443 -> queue 2")
    assert text[at + 1:at + 3] == [
        "+ VnicIngress.filters  meta.ip_ver=4 meta.proto=6 meta.dport=443  priority 15",
        "VnicIngress.filter_to_queue(queue=2)"]
    at = text.index("no longer in the file")
    assert text[at + 1:at + 3] == [
        "- VnicIngress.filters  meta.ip_ver=4 meta.proto=6 meta.dport=22  priority 10",
        "VnicIngress.filter_drop()"]
    assert not any("dport 53" in line for line in text), "an unchanged statement was listed"


def test_apply_twice_changes_nothing(nic):
    entries = rich_file(nic).build()
    first = apply_ok(nic, entries)
    assert len(first.outcomes) == len(entries.entities)
    after_first = state(nic)
    again = dsl_plan(nic, entries)
    assert again.empty and again.unchanged == len(entries.entities), again.render()
    second = apply_ok(nic, entries)
    assert second.outcomes == []
    assert state(nic) == after_first


def test_removing_a_statement_deletes_exactly_its_entry(nic):
    f = rich_file(nic)
    apply_ok(nic, f.build())
    before = set(state(nic))
    result = apply_ok(nic, f.without("udp dport 53 -> queue 3"))
    assert [(o.change.action, o.change.origin) for o in result.outcomes] == [(DELETE, None)]
    gone = before - set(state(nic))
    assert set(state(nic)) <= before and len(gone) == 1
    removed = p4runtime_pb2.Entity.FromString(gone.pop()).table_entry
    assert removed.priority == 20 and removed.metadata == OWNER_COOKIE
    assert [fm.exact.value or fm.ternary.value for fm in removed.match] == [b"\x04", b"\x11",
                                                                           b"\x35"]


# -- ownership -------------------------------------------------------------------------------

def foreign_entities(p4):
    """What others write at run time: a p4runtime-shell user's entries (no metadata, or their
    own), a multicast group, and a default they changed in a table the file does not manage."""
    shell_filter = p4.table_entry("filters", {"ip_ver": 4, "dport": 8080}, "filter_to_queue",
                                  {"queue": 4}, priority=7)
    tagged_acl = p4.table_entry("acl", {"dir": 0, "proto": 1}, "acl_to_cpu", priority=3)
    tagged_acl.metadata = b"shell session"
    slot = p4.table_entry("slot_after_acl", {"profile": (1, 1), "dport": 9}, "slot_to_cpu",
                          priority=9)
    group = p4.multicast_group(9, [3, 4])
    return [shell_filter, tagged_acl, slot, group]


def test_entries_others_wrote_are_never_touched(nic):
    f = rich_file(nic)
    p4 = f.p4
    apply_ok(nic, f.build())
    flow = p4.table_entry("services.flow_table", {"ip_ver": 4, "src_addr": "10.0.0.1",
                          "dst_addr": "10.0.0.2", "proto": 6, "sport": 1234, "dport": 80},
                          "svc_allow", {"ct_state": 2})
    with controller(nic) as other:
        other.insert(*foreign_entities(p4))
        other.modify(p4.table_entry("acl", action="acl_to_cpu", default=True))
    with controller(nic, role="guest") as guest:
        guest.insert(flow)
    mine = set(state(nic))
    with Connection(nic, arbitrate=False) as conn:
        theirs = {e.SerializeToString() for e in conn.read(*foreign_entities(p4), flow)}
        theirs |= {e.SerializeToString() for e in conn.read(as_entity(
            p4.table_entry("acl", default=True)))}
    assert len(theirs) == 6
    # The file shrinks to one statement: everything else it wrote goes, nothing of theirs.
    shrunk = FileBuilder(nic)
    shrunk.entry("udp dport 53 -> queue 3", "filters", {"ip_ver": 4, "proto": 17, "dport": 53},
                 "filter_to_queue", {"queue": 3}, priority=20)
    shrunk_entries = shrunk.build(managed_defaults={"VnicIngress.rx_default"},
                                  managed_profiles={"VnicIngress.steering.node_queue_selector"})
    the_plan = dsl_plan(nic, shrunk_entries)
    assert the_plan.count(ADD) == 0 and the_plan.count(MODIFY) == 1      # rx_default's reset
    assert the_plan.count(DELETE) == len(f.entities) - 2
    apply_ok(nic, shrunk_entries)
    left = set(state(nic))
    assert theirs <= left, "apply changed or deleted another controller's entities"
    owned = [e for e in map(p4runtime_pb2.Entity.FromString, left)
             if e.table_entry.metadata.startswith(OWNER_COOKIE) or e.packet_replication_engine_entry
             .multicast_group_entry.metadata.startswith(OWNER_COOKIE)]
    assert [e.table_entry.priority for e in owned] == [20]
    assert not any(e.HasField("action_profile_member") for e in map(
        p4runtime_pb2.Entity.FromString, left))
    assert len(left) < len(mine)


def test_a_declared_key_holding_another_controllers_entry_is_a_conflict(nic):
    f = three_filters(nic)
    p4 = f.p4
    with controller(nic) as other:
        other.insert(p4.table_entry("filters", {"ip_ver": 4, "proto": 6, "dport": 22},
                                    "filter_to_queue", {"queue": 4}, priority=10))
    before = state(nic)
    the_plan = dsl_plan(nic, f.build())
    assert len(the_plan.conflicts) == 1 and the_plan.count(ADD) == 2
    text = lines_of(the_plan.render())
    at = text.index("vm1.nic:3: tcp dport 22 -> drop")
    assert text[at + 1].startswith("! VnicIngress.filters  meta.ip_ver=4 meta.proto=6 "
                                   "meta.dport=22  priority 10")
    assert "another controller's entry (VnicIngress.filter_to_queue(queue=4), metadata b'')" \
        in text[at + 2]
    with controller(nic) as conn, pytest.raises(PlanError, match="another controller"):
        apply(the_plan, conn)
    assert state(nic) == before


def test_defaults_are_set_and_reset(nic):
    f = FileBuilder(nic)
    f.default("default -> queue 3", "rx_default", "default_queue", {"queue": 3})
    query = as_entity(f.p4.table_entry("rx_default", default=True))
    apply_ok(nic, f.build())
    with Connection(nic, arbitrate=False) as conn:
        (held,) = conn.read(query)
    assert held.table_entry.action == f.entities[0].entity.table_entry.action
    assert held.table_entry.metadata.startswith(OWNER_COOKIE)

    managed_only = FileBuilder(nic).build(managed_defaults={"VnicIngress.rx_default"})
    the_plan = dsl_plan(nic, managed_only)
    (reset,) = the_plan.changes
    assert reset.reset and reset.action == MODIFY and not reset.entity.table_entry.HasField("action")
    text = lines_of(the_plan.render())
    assert text[text.index("~ VnicIngress.rx_default  default entry") + 1:][:2] == [
        "- VnicIngress.default_queue(queue=3)", "+ the program's default action"]
    apply_ok(nic, managed_only)
    with Connection(nic, arbitrate=False) as conn:
        (held,) = conn.read(query)
    assert held.table_entry.action.action.action_id == f.p4.names.action("default_rss").preamble.id
    assert held.table_entry.metadata == b""
    assert dsl_plan(nic, managed_only).empty

    # Another controller's default (no cookie) in a managed table is left alone until the file
    # sets that default itself.
    with controller(nic) as other:
        other.modify(f.p4.table_entry("rx_default", action="default_queue", params={"queue": 4},
                                      default=True))
    assert dsl_plan(nic, managed_only).empty
    setting = dsl_plan(nic, f.build())
    assert [c.action for c in setting.changes] == [MODIFY]
    apply_ok(nic, f.build())
    assert dsl_plan(nic, f.build()).empty


def test_action_profile_members_and_groups_in_reference_order(nic):
    f = FileBuilder(nic)
    for member, port in ((1, 1), (2, 2), (3, 3)):
        f.member(f"queue {port}", member, "set_queue", {"port": port})
    f.group("node 0 queues 1, 2", 1, [1, 2])
    f.group("node 1 queues 3", 2, [3])
    f.entry("node 0", "numa_queues", {"numa_node": 0}, group_id=1)
    f.entry("node 1", "numa_queues", {"numa_node": 1}, group_id=2)
    apply_ok(nic, f.build())

    g = FileBuilder(nic)
    g.member("queue 1", 1, "set_queue", {"port": 1})
    g.member("queue 4", 4, "set_queue", {"port": 4})
    g.group("node 0 queues 1", 1, [1])
    g.group("node 2 queues 4", 3, [4])
    g.entry("node 0", "numa_queues", {"numa_node": 0}, group_id=1)
    g.entry("node 2", "numa_queues", {"numa_node": 2}, group_id=3)
    the_plan = dsl_plan(nic, g.build())
    order = [[(c.action, c.entity.WhichOneof("entity")) for c in batch]
             for batch in the_plan.batches()]
    assert order == [
        [(ADD, "action_profile_member")],
        [(MODIFY, "action_profile_group"), (ADD, "action_profile_group")],
        [(DELETE, "table_entry"), (ADD, "table_entry")],
        [(DELETE, "action_profile_group")],
        [(DELETE, "action_profile_member"), (DELETE, "action_profile_member")],
    ]
    apply_ok(nic, g.build())        # a wrong order fails: a member or group still in use
    assert dsl_plan(nic, g.build()).empty
    with Connection(nic, arbitrate=False) as conn:
        groups = conn.read(p4runtime_pb2.Entity(action_profile_group=p4runtime_pb2
                                                .ActionProfileGroup()))
        members = conn.read(p4runtime_pb2.Entity(action_profile_member=p4runtime_pb2
                                                 .ActionProfileMember()))
    assert {(x.action_profile_group.group_id,
             tuple(m.member_id for m in x.action_profile_group.members)) for x in groups} \
        == {(1, (1,)), (3, (4,))}
    assert {x.action_profile_member.member_id for x in members} == {1, 4}
    apply_ok(nic, FileBuilder(nic).build(managed_profiles={"VnicIngress.steering"
                                                           ".node_queue_selector"}))
    assert state(nic) == state_of_fresh(nic)


def state_of_fresh(address):
    fresh_pipeline(address)
    return state(address)


def test_multicast_groups(nic):
    f = FileBuilder(nic)
    f.multicast("flood 1, 2", 3, [1, 2])
    f.multicast("flood 3", 4, [3])
    apply_ok(nic, f.build())
    with controller(nic) as other:
        other.insert(f.p4.multicast_group(9, [1]))
    g = FileBuilder(nic)
    g.multicast("flood 1, 2, 4", 3, [1, 2, 4])
    the_plan = dsl_plan(nic, g.build())
    assert [(c.action, c.entity.packet_replication_engine_entry.multicast_group_entry
             .multicast_group_id) for c in the_plan.changes] == [(MODIFY, 3), (DELETE, 4)]
    apply_ok(nic, g.build())
    with Connection(nic, arbitrate=False) as conn:
        held = {e.packet_replication_engine_entry.multicast_group_entry.multicast_group_id:
                e.packet_replication_engine_entry.multicast_group_entry
                for e in conn.read(as_entity(p4runtime_pb2.MulticastGroupEntry()))}
    assert sorted(held) == [3, 9]
    assert [r.egress_port for r in held[3].replicas] == [1, 2, 4]
    assert held[3].metadata == OWNER_COOKIE and held[9].metadata == b""


# -- failures --------------------------------------------------------------------------------

def overfull_file(address):
    """Two members and a group (earlier batches), then more filters than the table holds."""
    f = FileBuilder(address)
    f.member("queue 1", 1, "set_queue", {"port": 1})
    f.group("node 0 queues 1", 1, [1])
    f.entry("node 0", "numa_queues", {"numa_node": 0}, group_id=1)
    for port in range(FILTERS_SIZE + 1):
        f.entry(f"tcp dport {port} -> queue 2", "filters", {"ip_ver": 4, "proto": 6,
                "dport": port}, "filter_to_queue", {"queue": 2}, priority=100)
    return f


def test_atomic_apply_is_all_or_nothing(nic):
    base = three_filters(nic)
    base.member("queue 4", 9, "set_queue", {"port": 4})
    apply_ok(nic, base.build())
    before = state(nic)
    result = dsl_apply(nic, overfull_file(nic).build(), atomic=True)
    assert not result.ok and result.rolled_back
    assert result.atomicity == "DATAPLANE_ATOMIC"
    (failed,) = result.with_status(FAILED)
    assert failed.error.startswith("RESOURCE_EXHAUSTED")
    assert failed.change.origin.statement == f"tcp dport {FILTERS_SIZE} -> queue 2"
    rolled_back = {o.change.entity.WhichOneof("entity") for o in result.with_status(ROLLED_BACK)}
    assert rolled_back == {"action_profile_member", "action_profile_group"}
    assert not result.with_status(APPLIED)
    assert state(nic) == before
    text = result.render()
    assert "apply FAILED" in text and "(everything this apply wrote was undone)" in text


def test_atomic_apply_of_a_stale_plan_leaves_the_other_controllers_entry(nic):
    f = three_filters(nic)
    f.member("queue 1", 1, "set_queue", {"port": 1})
    with controller(nic) as conn:
        the_plan = plan(f.build(), conn)
    late = f.p4.table_entry("filters", {"ip_ver": 4, "proto": 17, "dport": 53}, "filter_drop",
                            priority=20)
    with controller(nic) as other:
        other.insert(late)
    before = state(nic)
    with controller(nic) as conn:
        result = apply(the_plan, conn, atomic=True)
    (failed,) = result.with_status(FAILED)
    assert failed.change.origin.statement == "udp dport 53 -> queue 3"
    assert failed.error.startswith("ALREADY_EXISTS")
    assert [o.status for o in result.outcomes if o.change.phase == 0] == [ROLLED_BACK]
    assert state(nic) == before


def test_a_failure_without_atomic_reports_every_update(nic):
    base = FileBuilder(nic)
    base.member("queue 4", 9, "set_queue", {"port": 4})
    apply_ok(nic, base.build())
    f = overfull_file(nic)
    result = dsl_apply(nic, f.build())
    assert not result.ok and not result.rolled_back
    assert result.atomicity == "CONTINUE_ON_ERROR"
    (failed,) = result.with_status(FAILED)
    assert failed.error.startswith("RESOURCE_EXHAUSTED")
    assert failed.change.origin.statement == f"tcp dport {FILTERS_SIZE} -> queue 2"
    (skipped,) = result.with_status(NOT_APPLIED)
    assert skipped.change.action == DELETE and skipped.change.entity.HasField(
        "action_profile_member")
    assert skipped.reason == "not sent: an earlier write failed"
    assert len(result.with_status(APPLIED)) == FILTERS_SIZE + 3
    text = lines_of(result.render())
    assert text[0].endswith("apply FAILED: 1027 applied, 1 failed, 1 not applied "
                            "[CONTINUE_ON_ERROR]")
    at = text.index(f"vm1.nic:{FILTERS_SIZE + 4}: tcp dport {FILTERS_SIZE} -> queue 2")
    assert text[at + 1].startswith("failed      + VnicIngress.filters")
    assert text[at + 3].startswith("RESOURCE_EXHAUSTED: ")
    at = text.index("no longer in the file")
    assert text[at + 1].startswith("not applied - VnicIngress.steering.node_queue_selector "
                                   "member 9")
    # Consistent: what is left to do is exactly what did not happen.
    rest = dsl_plan(nic, f.build())
    assert [(c.action, c.origin) for c in rest.changes] == [
        (ADD, failed.change.origin), (DELETE, None)]
