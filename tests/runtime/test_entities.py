"""EntityBuilder: names and human values in, the exact P4Runtime messages out."""
from pathlib import Path

import pytest
from p4nic.proto import p4data_pb2, p4runtime_pb2

from p4nic.runtime.entities import EntityBuilder, as_entity
from p4nic.runtime.p4info import P4InfoError, load_p4info
from p4nic.runtime.values import encode, to_int

# P4Runtime server/client behaviour: `make test` runs it under both protobuf runtimes
pytestmark = pytest.mark.p4runtime

P4INFO = Path(__file__).parent / "vnic_subset.p4info.txtpb"


@pytest.fixture(scope="module")
def p4():
    return EntityBuilder(P4INFO)


def fields(entry):
    return {m.field_id: m for m in entry.match}


def test_ternary_entry_by_alias_and_suffix_names(p4):
    entry = p4.table_entry("filters",
                           match={"dstAddr": "00:00:00:00:00:0a", "meta.ip_ver": 4,
                                  "dst_addr": ("10.0.0.0", 0xFFFFFF00), "dport": (80, 0xFFFF)},
                           action="filter_to_queue", params={"queue": 3}, priority=10)
    assert entry.table_id == 33554501 and entry.priority == 10
    match = fields(entry)
    assert set(match) == {1, 3, 4, 5}           # vid left out: a wildcard
    assert match[1].ternary.value == b"\x0a" and match[1].ternary.mask == b"\xff" * 6
    assert match[3].ternary.value == b"\x04" and match[3].ternary.mask == b"\xff"
    # an IPv4 address in a 128-bit field is zero-extended; value is canonical (no leading zeros)
    assert match[4].ternary.value == bytes([10, 0, 0, 0]) and match[4].ternary.mask == b"\xff\xff\xff\x00"
    assert match[5].ternary.value == b"\x50"
    assert entry.action.action.action_id == 16777301
    assert entry.action.action.params[0].value == b"\x03"


def test_ternary_value_is_masked_and_zero_mask_left_out(p4):
    entry = p4.table_entry("filters", match={"dport": (0x1234, 0xFF00), "vid": (5, 0)},
                           action="filter_drop", priority=1)
    match = fields(entry)
    assert match[5].ternary.value == b"\x12\x00" and match[5].ternary.mask == b"\xff\x00"
    assert 2 not in match


def test_lpm_and_range_forms(p4):
    entry = p4.table_entry("routes", match={"dst_addr": "10.1.0.0/16", "sport": (1000, 2000)},
                           action="NoAction", priority=5)
    match = fields(entry)
    assert match[1].lpm.prefix_len == 96 + 16
    assert match[1].lpm.value == bytes([10, 1, 0, 0])
    assert (match[2].range.low, match[2].range.high) == (b"\x03\xe8", b"\x07\xd0")
    v6 = p4.table_entry("routes", match={"dst_addr": ("2001:db8::1", 32)}, action="NoAction",
                        priority=1)
    assert fields(v6)[1].lpm.value == bytes.fromhex("20010db8") + bytes(12)
    full = p4.table_entry("routes", match={"sport": (0, 0xFFFF)}, action="NoAction", priority=1)
    assert fields(full) == {}                     # a full range is a don't-care


def test_exact_entry_and_default_entry(p4):
    entry = p4.table_entry("services.flow_table",
                           match={"ip_ver": 4, "src_addr": "10.0.0.1", "sport": 1234},
                           action="svc_nat", params={"ct_state": 2, "src_addr": "192.168.0.1"})
    assert entry.priority == 0
    assert fields(entry)[2].exact.value == bytes([10, 0, 0, 1])
    assert entry.action.action.params[1].value == bytes([192, 168, 0, 1])
    default = p4.table_entry("flow_table", action="svc_to_guest", default=True)
    assert default.is_default_action and not default.match


@pytest.mark.parametrize("kwargs, message", [
    (dict(table="nope"), "no table named 'nope'"),
    (dict(table="filters", match={"bogus": 1}, action="filter_drop", priority=1),
     "no match field 'bogus'"),
    (dict(table="filters", match={"vid": 4096}, action="filter_drop", priority=1),
     "does not fit in 12 bits"),
    (dict(table="filters", match={"vid": 1}, action="filter_drop"), "give the entry a priority"),
    (dict(table="flow_table", match={"ip_ver": 4, "src_addr": 1, "sport": 1},
          action="svc_nat", params={"ct_state": 1}), "needs parameter 'src_addr'"),
    (dict(table="flow_table", match={"ip_ver": 4, "src_addr": 1, "sport": 1},
          action="svc_nat", params={"ct_state": 1, "src_addr": 2, "x": 3}), "no parameter 'x'"),
    (dict(table="flow_table", match={"ip_ver": 4, "sport": 1}, action="svc_nat",
          params={"ct_state": 1, "src_addr": 2}), "exact fields need a value"),
    (dict(table="flow_table", match={"ip_ver": 4, "src_addr": 1, "sport": 1},
          action="svc_to_guest"), "only a default action"),
    (dict(table="flow_table", match={"ip_ver": 4, "src_addr": 1, "sport": 1},
          action="filter_drop"), "has no action 'filter_drop'"),
    (dict(table="numa_queues", match={"numa_node": 1}, action="set_queue",
          params={"port": 1}), "give member_id or group_id"),
    (dict(table="filters", match={"dstAddr": "not-a-mac"}, action="filter_drop", priority=1),
     "cannot read 'not-a-mac'"),
])
def test_bad_input_is_a_clear_error(p4, kwargs, message):
    with pytest.raises(P4InfoError, match=message):
        p4.table_entry(**kwargs)


def test_ambiguous_suffix_is_refused():
    p4info = load_p4info(P4INFO)
    p4info.tables.add().preamble.name = "PnicIngress.services.flow_table"
    with pytest.raises(P4InfoError, match="ambiguous"):
        EntityBuilder(p4info).table_entry("services.flow_table")


def test_action_profile_member_group_and_indirect_entry(p4):
    member = p4.action_profile_member("numa_queues", 7, "set_queue", {"port": 4})
    assert member.action_profile_id == 285212773 and member.member_id == 7
    assert member.action.params[0].value == b"\x04"
    group = p4.action_profile_group("node_queue_selector", 1, [7, (8, 3)])
    assert [(m.member_id, m.weight) for m in group.members] == [(7, 1), (8, 3)]
    entry = p4.table_entry("numa_queues", match={"numa_node": 1}, group_id=1)
    assert entry.action.action_profile_group_id == 1


def test_multicast_counter_register_digest_entities(p4):
    group = p4.multicast_group(5, [1, (2, 3)])
    entity = as_entity(group)
    replicas = entity.packet_replication_engine_entry.multicast_group_entry.replicas
    assert [(r.egress_port, r.instance) for r in replicas] == [(1, 0), (2, 3)]
    counter = as_entity(p4.counter_entry("rx_path_counter", 1))
    assert counter.counter_entry.index.index == 1
    reg = p4.register_entry("flow_seen", 9, value=0)
    assert reg.index.index == 9 and reg.data.bitstring == b"\x00"
    digest = p4.digest_entry("flow_event_t", max_list_size=4)
    assert digest.digest_id == 385923401 and digest.config.max_list_size == 4
    entry = p4.table_entry("filters", match={"vid": 3}, action="filter_drop", priority=2)
    direct = as_entity(p4.direct_counter_entry(entry))
    assert direct.direct_counter_entry.table_entry.match == entry.match
    assert not direct.direct_counter_entry.table_entry.HasField("action")
    with pytest.raises(P4InfoError):
        p4.multicast_group(0)


def test_packet_out_and_packet_in_by_field_name(p4):
    out = p4.packet_out(b"\x01\x02", port=3, mode=1, bypass=4)
    assert [(m.metadata_id, m.value) for m in out.metadata] == [
        (1, b"\x03"), (2, b"\x00"), (3, b"\x01"), (4, b"\x04")]
    with pytest.raises(P4InfoError, match="no field"):
        p4.packet_out(b"", egress_port=1)
    message = p4runtime_pb2.PacketIn(payload=b"abc")
    message.metadata.add(metadata_id=1, value=b"\x00")
    message.metadata.add(metadata_id=3, value=b"\x05")
    message.metadata.add(metadata_id=4, value=b"\x01\x00\x00")
    parsed = p4.parse_packet_in(message)
    assert parsed.payload == b"abc"
    assert parsed.metadata == {"ingress_port": 0, "reason": 5, "vni": 0x10000}


def test_digest_list_members_by_name(p4):
    digest_list = p4runtime_pb2.DigestList(digest_id=385923401, list_id=9)
    sample = digest_list.data.add()
    sample.struct.members.add(bitstring=b"\x01")
    sample.struct.members.add(bitstring=b"\x1f\x90")
    parsed = p4.parse_digest(digest_list)
    assert parsed.name == "flow_event_t" and parsed.list_id == 9
    assert parsed.samples == [{"event": 1, "sport": 8080}]
    assert isinstance(sample, p4data_pb2.P4Data)


def test_load_p4info_binary_and_garbage(tmp_path):
    binary = tmp_path / "p.bin"
    binary.write_bytes(load_p4info(P4INFO).SerializeToString())
    assert len(load_p4info(binary).tables) == 4
    garbage = tmp_path / "g.bin"
    garbage.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(P4InfoError, match="neither a text nor a binary P4Info"):
        load_p4info(garbage)
    with pytest.raises(P4InfoError, match="cannot read the P4Info"):
        load_p4info(tmp_path / "missing.txtpb")


@pytest.mark.parametrize("value, number", [
    (5, 5), (True, 1), (b"\x01\x00", 256), ("0x1F", 31), ("42", 42),
    ("00:00:00:00:0a:01", 0xA01), ("0-1-2-3-4-5", 0x000102030405), ("10.0.0.1", 0x0A000001),
    ("2001:db8::1", 0x20010DB8 << 96 | 1),
])
def test_value_forms(value, number):
    assert to_int(value, "v") == number
    assert int.from_bytes(encode(value, 128, "v"), "big") == number


@pytest.mark.parametrize("value", [-1, "0xZZ", "10.0.0", 1.5, None])
def test_unreadable_values_are_refused(value):
    with pytest.raises(P4InfoError):
        to_int(value, "v")


def test_member_id_zero_is_a_member(p4):
    entry = p4.table_entry("numa_queues", {"numa_node": 0}, member_id=0)
    assert entry.action.WhichOneof("type") == "action_profile_member_id"
    with pytest.raises(P4InfoError, match="one of action, member_id and group_id"):
        p4.table_entry("numa_queues", {"numa_node": 0}, member_id=0, group_id=1)
    with pytest.raises(P4InfoError, match="give the entry a priority"):
        p4.table_entry("filters", {"vid": 1}, member_id=0)
