"""Property: for any two valid desired entry sets A and B over the VNIC's tables, applying A
and then B leaves exactly B's entities installed, while what another controller wrote in
between is untouched; and B's plan is then empty. Run against a real `p4nic switch`."""
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from p4nic.proto import p4runtime_pb2

from apply_harness import SELECTOR, FileBuilder, fresh_pipeline, next_election, start_vnic
from p4nic.dsl.apply import apply, plan
from p4nic.dsl.installed import entry_key, is_owned
from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import as_entity

SLOTS = ("slot_after_filter", "slot_after_acl", "slot_after_encap")


@st.composite
def desired(draw):
    """A random file: (builder calls) over filters, acl, classify, slots, tunnel, steering,
    the NUMA selector, the RX default and multicast groups. Keys come from small ranges, so two
    draws share keys (modifies) as well as differ (adds, deletes)."""
    statements = []

    def some(values, **kw):
        return draw(st.lists(st.sampled_from(values), unique=True, **kw))

    for dport, priority in some([(p, q) for p in range(6) for q in (10, 20)], max_size=6):
        action = draw(st.sampled_from([("filter_to_queue", {"queue": draw(st.integers(1, 4))}),
                                       ("filter_drop", {}), ("filter_to_rss", {})]))
        statements.append(("entry", f"filter dport {dport} prio {priority}", "filters",
                           {"ip_ver": 4, "dport": dport}, *action, priority))
    for net, direction in some([(n, d) for n in range(3) for d in (0, 1)], max_size=3):
        action = draw(st.sampled_from(["acl_deny", "acl_allow", "acl_to_cpu"]))
        statements.append(("entry", f"acl {direction} 10.0.{net}.0/24", "acl",
                           {"dir": direction, "src_addr": (0x0A000000 | net << 8, 0xFFFFFF00)},
                           action, {}, 5))
    for dport in some(range(3), max_size=2):
        statements.append(("entry", f"select dport {dport}", "classify", {"dport": dport},
                           "set_profile", {"profile": draw(st.integers(1, 3)),
                                           "bypass": draw(st.integers(0, 3))}, 1))
    for slot, profile, dport in some([(s, p, d) for s in SLOTS for p in (1, 2) for d in range(2)],
                                     max_size=3):
        action = draw(st.sampled_from([("slot_drop", {}), ("slot_set_queue", {"queue": 2}),
                                       ("slot_set_dscp", {"dscp": draw(st.integers(0, 63))})]))
        statements.append(("entry", f"{slot} profile {profile} dport {dport}", slot,
                           {"profile": (profile, profile), "dport": dport}, *action, 3))
    for vni in some(range(1, 4), max_size=2):
        kind = draw(st.sampled_from(["encap_geneve", "encap_vxlan"]))
        statements.append(("entry", f"tunnel vni {vni}", "encap.tunnel",
                           {"vni": vni, "dstAddr": "02:00:00:00:00:02"}, kind,
                           {"vni": vni, "smac": 1, "dmac": 2, "sip": "192.0.2.1",
                            "dip": "192.0.2.2"}, None))
    for bucket in some(range(4), max_size=3):
        statements.append(("entry", f"rss bucket {bucket}", "rss_indirection",
                           {"rss_bucket": bucket}, "set_vcpu",
                           {"vcpu": draw(st.integers(0, 3))}, None))
    for vcpu in some(range(3), max_size=2):
        statements.append(("entry", f"vcpu {vcpu}", "vcpu_node", {"vcpu": vcpu}, "set_node",
                           {"node": draw(st.integers(0, 1))}, None))
    members = some(range(1, 5), max_size=4)
    for member in members:
        statements.append(("member", f"member {member}", member,
                           {"port": draw(st.integers(1, 4))}))
    groups = some([1, 2], max_size=2) if members else []
    for group in groups:
        statements.append(("group", f"group {group}", group,
                           some(sorted(members), min_size=1)))
    for node in some([0, 1], max_size=2) if groups else []:
        statements.append(("entry", f"node {node}", "numa_queues", {"numa_node": node}, None,
                           None, None, draw(st.sampled_from(groups))))
    if draw(st.booleans()):
        statements.append(("default", "rx default",
                           *draw(st.sampled_from([("default_queue", {"queue": 3}),
                                                  ("default_rss", {})]))))
    for group in some([3, 4, 5], max_size=2):
        statements.append(("multicast", f"flood {group}", group,
                           some(range(1, 5), min_size=1)))
    return statements


def build(statements, address) -> FileBuilder:
    f = FileBuilder(address)
    for kind, text, *rest in statements:
        if kind == "entry":
            table, match, action, params, priority, *group = rest
            f.entry(text, table, match, action, params, priority,
                    group_id=group[0] if group else None)
        elif kind == "member":
            f.member(text, rest[0], "set_queue", rest[1])
        elif kind == "group":
            f.group(text, *rest)
        elif kind == "default":
            f.default(text, "rx_default", *rest)
        else:
            f.multicast(text, *rest)
    return f


@st.composite
def foreign(draw):
    """What another controller writes: keys no file above ever declares, in the same tables."""
    return draw(st.lists(st.sampled_from([
        ("filters", {"ip_ver": 4, "dport": 9000}, "filter_to_queue", {"queue": 4}, 1),
        ("filters", {"ip_ver": 6, "dport": 0}, "filter_drop", None, 10),
        ("acl", {"dir": 1, "src_addr": ("10.9.0.0", 0xFFFF0000)}, "acl_deny", None, 5),
        ("classify", {"dport": 7}, "set_profile", {"profile": 4, "bypass": 1}, 1),
        ("slot_after_acl", {"profile": (4, 4)}, "slot_to_cpu", None, 3),
        ("encap.tunnel", {"vni": 99, "dstAddr": 9}, "encap_vxlan",
         {"vni": 99, "smac": 1, "dmac": 2, "sip": 1, "dip": 2}, None),
        ("rss_indirection", {"rss_bucket": 100}, "set_vcpu", {"vcpu": 7}, None),
        ("vcpu_node", {"vcpu": 9}, "set_node", {"node": 1}, None),
    ]), unique_by=lambda e: e[0] + str(e[1])))


@pytest.fixture(scope="module")
def switch(tmp_path_factory):
    with start_vnic(tmp_path_factory.mktemp("vnic")) as running:
        yield running


@contextmanager
def controller(address, role=""):
    with Connection(address, election_id=next_election(), role=role) as conn:
        yield conn


def owned_state(conn, p4) -> dict:
    """What the DSL owns on the NIC, in comparable form."""
    names = p4.names
    selector = names.action_profile(SELECTOR).preamble.id
    rx_default = names.table("rx_default").preamble.id
    found = conn.read(p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry()),
                      p4runtime_pb2.Entity(action_profile_member=p4runtime_pb2.ActionProfileMember(
                          action_profile_id=selector)),
                      p4runtime_pb2.Entity(action_profile_group=p4runtime_pb2.ActionProfileGroup(
                          action_profile_id=selector)),
                      p4runtime_pb2.Entity(packet_replication_engine_entry=p4runtime_pb2
                                           .PacketReplicationEngineEntry()),
                      p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry(
                          table_id=rx_default, is_default_action=True)))
    return comparable([e for e in found if owned(e)])


def owned(entity) -> bool:
    kind = entity.WhichOneof("entity")
    if kind == "table_entry":
        return is_owned(entity.table_entry)
    if kind == "packet_replication_engine_entry":
        return is_owned(entity.packet_replication_engine_entry.multicast_group_entry)
    return True


def comparable(entities) -> dict:
    out = {}
    for entity in entities:
        kind = entity.WhichOneof("entity")
        if kind == "table_entry":
            te = entity.table_entry
            if te.is_default_action:          # apply adds the cookie the front end may omit
                out["default", te.table_id] = te.action.SerializeToString()
            else:
                out[entry_key(te)] = (te.action.SerializeToString(), te.metadata)
        elif kind == "packet_replication_engine_entry":
            mc = entity.packet_replication_engine_entry.multicast_group_entry
            out["mc", mc.multicast_group_id] = sorted(r.SerializeToString() for r in mc.replicas)
        elif kind == "action_profile_group":
            g = entity.action_profile_group
            out["group", g.group_id] = sorted((m.member_id, m.weight) for m in g.members)
        else:
            m = entity.action_profile_member
            out["member", m.member_id] = m.action.SerializeToString()
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=desired(), second=desired(), others=foreign())
def test_apply_a_then_b_leaves_exactly_b(switch, first, second, others):
    fresh_pipeline(switch.grpc_addr)
    a, b = build(first, switch.grpc_addr), build(second, switch.grpc_addr)
    p4 = a.p4
    with controller(switch.grpc_addr) as conn:
        result = apply(a.build(), conn)
        assert result.ok, result.render()
    written = [as_entity(p4.table_entry(table, match, action, params, priority))
               for table, match, action, params, priority in others]
    flow = as_entity(p4.table_entry("services.flow_table", {
        "ip_ver": 4, "src_addr": "10.0.0.1", "dst_addr": "10.0.0.2", "proto": 6, "sport": 1,
        "dport": 2}, "svc_allow", {"ct_state": 1}))
    with controller(switch.grpc_addr) as other:
        other.insert(*written)
    with controller(switch.grpc_addr, role="guest") as guest:
        guest.insert(flow)
    with Connection(switch.grpc_addr, arbitrate=False) as reader:
        theirs = sorted(e.SerializeToString() for e in reader.read(*written, flow))
    # A managed default the second file does not set goes back to the program's.
    managed = b.build(managed_defaults={"VnicIngress.rx_default"},
                      managed_profiles={SELECTOR})
    with controller(switch.grpc_addr) as conn:
        result = apply(managed, conn)
        assert result.ok, result.render()
        assert plan(managed, conn).empty
        expected = comparable(d.entity for d in managed.entities)
        assert owned_state(conn, p4) == expected
        assert sorted(e.SerializeToString() for e in conn.read(*written, flow)) == theirs
