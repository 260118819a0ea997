"""Connection + EntityBuilder against a real P4Runtime server: `p4nic switch` running vnic.p4,
reached over gRPC as any controller would reach it."""

import grpc
import pytest
from p4nic.proto import p4runtime_pb2
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from p4nic.runtime.connection import Connection, P4RuntimeClientError, WriteError
from p4nic.runtime.entities import EntityBuilder, as_entity
from p4nic.runtime.local_switch import LocalSwitch
from p4nic.runtime.nicdefs import PKT_OUT_INJECT, REASON_ACL, FLOW_EVENT_TCP_CLOSE

# P4Runtime server/client behaviour: `make test` runs it under both protobuf runtimes
pytestmark = pytest.mark.p4runtime

@pytest.fixture(scope="module")
def switch(tmp_path_factory):
    with LocalSwitch.pipeline("vnic", tmp_path_factory.mktemp("vnic")) as running:
        with Connection(running.grpc_addr, election_id=(0, 1)) as conn:
            conn.set_pipeline(running.p4info_path, running.json_path.read_bytes())
        yield running


@pytest.fixture
def conn(switch):
    with Connection(switch.grpc_addr, election_id=(0, 100)) as connection:
        yield connection


@pytest.fixture
def p4(switch):
    return EntityBuilder(switch.p4info_path)


def frame(sport=1000, flags="S"):
    return bytes(Ether(src="00:00:00:00:0b:01", dst="00:00:00:00:0a:01")
                 / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=sport, dport=80, flags=flags))


def test_arbitration_primary_and_backup(switch, conn):
    assert conn.is_primary
    with Connection(switch.grpc_addr, election_id=(0, 5)) as backup:
        assert not backup.is_primary
        with pytest.raises(WriteError) as refused:
            backup.insert(EntityBuilder(switch.p4info_path).table_entry(
                "encap.tunnel", {"vni": 1, "dstAddr": 1}, "NoAction"))
        assert refused.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_pipeline_p4info_round_trip(switch, conn):
    names = {t.preamble.name for t in conn.get_p4info().tables}
    assert {"VnicIngress.filters", "VnicIngress.services.flow_table"} <= names


def test_insert_read_modify_delete(conn, p4):
    entry = p4.table_entry("filters", {"dport": 8080, "ip_ver": 4}, "filter_to_queue",
                           {"queue": 2}, priority=7)
    conn.insert(entry)
    try:
        found = [e.table_entry for e in conn.read(p4.table_entry("filters"))]
        assert len(found) == 1
        assert found[0].priority == 7 and list(found[0].match) == list(entry.match)
        assert found[0].action.action.params[0].value == b"\x02"
        conn.modify(p4.table_entry("filters", {"dport": 8080, "ip_ver": 4}, "filter_to_queue",
                                   {"queue": 3}, priority=7))
        found = [e.table_entry for e in conn.read(p4.table_entry("filters"))]
        assert found[0].action.action.params[0].value == b"\x03"
    finally:
        conn.delete(p4.table_entry("filters", {"dport": 8080, "ip_ver": 4}, priority=7))
    assert conn.read(p4.table_entry("filters")) == []


def test_write_error_names_each_failed_update(conn, p4):
    good = p4.table_entry("encap.tunnel", {"vni": 9, "dstAddr": "00:00:00:00:00:09"},
                          "NoAction")
    conn.insert(good)
    try:
        fresh = p4.table_entry("encap.tunnel", {"vni": 9, "dstAddr": "00:00:00:00:00:0a"},
                               "NoAction")
        with pytest.raises(WriteError) as failed:
            conn.insert(fresh, good)
        codes = {index: code for index, code, _ in failed.value.errors}
        assert codes == {1: "ALREADY_EXISTS"}
        conn.delete(fresh)
    finally:
        conn.delete(good)


def test_write_error_of_a_large_batch_names_every_update(conn, p4):
    """One p4.v1.Error per update rides in the status' trailing metadata: for thousands of
    updates that is far above gRPC's default metadata limit, and must still arrive."""
    missing = [p4.table_entry("encap.tunnel", {"vni": vni, "dstAddr": 1}) for vni in range(3000)]
    with pytest.raises(WriteError) as failed:
        conn.delete(*missing)
    assert [(index, code) for index, code, _ in failed.value.errors] == \
        [(index, "NOT_FOUND") for index in range(3000)]


def test_serialized_write_and_read_match_the_message_forms(conn, p4):
    entries = [as_entity(p4.table_entry("encap.tunnel", {"vni": vni, "dstAddr": 2}, "NoAction"))
               for vni in range(5)]
    conn.write_serialized([(p4runtime_pb2.Update.INSERT, e.SerializeToString()) for e in entries])
    try:
        query = p4runtime_pb2.TableEntry(table_id=entries[0].table_entry.table_id)
        assert [p4runtime_pb2.Entity.FromString(d) for d in conn.read_serialized(query)] \
            == conn.read(query)
        assert len(conn.read(query)) == 5
        with pytest.raises(WriteError) as failed:
            conn.write_serialized([(p4runtime_pb2.Update.INSERT, entries[0].SerializeToString())],
                                  atomicity=p4runtime_pb2.WriteRequest.ROLLBACK_ON_ERROR)
        assert [code for _, code, _ in failed.value.errors] == ["ALREADY_EXISTS"]
    finally:
        conn.delete(*entries)


def test_selector_members_groups_and_multicast(conn, p4):
    members = [p4.action_profile_member("numa_queues", m, "set_queue", {"port": m}) for m in (1, 2)]
    group = p4.action_profile_group("numa_queues", 1, [1, 2])
    entry = p4.table_entry("numa_queues", {"numa_node": 0}, group_id=1)
    mcast = p4.multicast_group(3, [1, 2, (4, 1)])
    conn.insert(*members)
    conn.insert(group, mcast)
    conn.insert(entry)
    try:
        read = conn.read(p4runtime_pb2.ActionProfileGroup(action_profile_id=group.action_profile_id))
        assert sorted(m.member_id for m in read[0].action_profile_group.members) == [1, 2]
        read = conn.read(p4runtime_pb2.MulticastGroupEntry(multicast_group_id=3))
        replicas = read[0].packet_replication_engine_entry.multicast_group_entry.replicas
        assert sorted((r.egress_port, r.instance) for r in replicas) == [(1, 0), (2, 0), (4, 1)]
    finally:
        conn.delete(entry)
        conn.delete(group, mcast)
        conn.delete(*members)


def test_packet_out_comes_back_as_packet_in_with_reason(conn, p4):
    acl = p4.table_entry("acl", {"sport": 1001}, "acl_to_cpu", priority=1)
    conn.insert(acl)
    try:
        conn.send_packet_out(p4.packet_out(frame(1001), port=0, mode=PKT_OUT_INJECT))
        message = conn.packet_in(timeout=30)
        assert message is not None, "no packet-in"
        packet_in = p4.parse_packet_in(message)
        assert packet_in.payload == frame(1001)
        assert packet_in.metadata["reason"] == REASON_ACL
        assert packet_in.metadata["ingress_port"] == 0
    finally:
        conn.delete(acl)


def test_digest_of_a_closing_offloaded_flow(conn, p4):
    conn.insert(p4.digest_entry("flow_event_t"))
    key = {"ip_ver": 4, "src_addr": "10.0.0.1", "dst_addr": "10.0.0.2", "proto": 6,
           "sport": 1002, "dport": 80}
    flow = p4.table_entry("services.flow_table", key, "svc_allow", {"ct_state": 2})
    conn.insert(flow)
    try:
        conn.send_packet_out(p4.packet_out(frame(1002, flags="FA"), port=0, mode=PKT_OUT_INJECT))
        message = conn.digest(timeout=30)
        assert message is not None, "no digest"
        conn.ack_digest(message)
        digest = p4.parse_digest(message)
        assert digest.name == "flow_event_t"
        sample = digest.samples[0]
        assert sample["event"] == FLOW_EVENT_TCP_CLOSE
        assert (sample["src_addr"], sample["sport"], sample["dport"]) == (0x0A000001, 1002, 80)
    finally:
        conn.delete(p4.table_entry("services.flow_table", key))
        conn.delete(p4.digest_entry("flow_event_t"))


def test_guest_role_writes_only_its_tables(switch, p4):
    key = {"ip_ver": 4, "src_addr": 1, "dst_addr": 2, "proto": 6, "sport": 3, "dport": 4}
    with Connection(switch.grpc_addr, election_id=(0, 1), role="guest") as guest:
        assert guest.is_primary
        guest.insert(p4.table_entry("services.flow_table", key, "svc_deny"))
        guest.delete(p4.table_entry("services.flow_table", key))
        with pytest.raises(WriteError) as refused:
            guest.insert(p4.table_entry("filters", {"dport": 1}, "filter_drop", priority=1))
        # a refused update of a batch: UNKNOWN overall, the reason per update (spec "Write RPC")
        assert [code for _, code, _ in refused.value.errors] == ["PERMISSION_DENIED"]


def test_unreachable_server_is_a_clear_error():
    with pytest.raises(P4RuntimeClientError, match="127.0.0.1:1"):
        Connection("127.0.0.1:1", timeout=2)
