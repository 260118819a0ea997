"""P4Runtime server: the entities besides table entries — counters, meters, registers, action
profile members and groups, multicast groups and clone sessions, value sets — Write/Read,
wildcards and the spec's error codes."""
import grpc
import pytest
from p4.v1 import p4runtime_pb2 as pb


from p4rt_client import Client, Names, SwitchProcess, details, load_config  # noqa: E402

NAMES = Names(load_config().p4info)
COUNTER = NAMES.counter("MyIngress.port_counter")
METER = NAMES.meter("MyIngress.port_meter")
REGISTER = NAMES.register("MyIngress.reg")
PROFILE = NAMES.action_profile("MyIngress.ecmp_selector")
VALUE_SET = NAMES.value_set("MyParser.pvs")
FORWARD = NAMES.action("MyIngress.forward")


@pytest.fixture(scope="module")
def switch(tmp_path_factory):
    process = SwitchProcess(tmp_path_factory.mktemp("p4rt-entities"))
    yield process
    assert process.stop() == 0


@pytest.fixture
def client(switch):
    c = Client(switch.address)
    c.set_config(load_config())
    yield c
    c.close()


def update_error(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        call()
    (code, _), = details(err.value)
    return code


def counter(index=None, data=None, counter_id=COUNTER) -> pb.Entity:
    entity = pb.Entity()
    entity.counter_entry.counter_id = counter_id
    if index is not None:
        entity.counter_entry.index.index = index
    if data is not None:
        entity.counter_entry.data.byte_count, entity.counter_entry.data.packet_count = data
    return entity


def test_counter_entries(client):
    client.modify(counter(3, (1500, 1)))
    (one,) = client.read(counter(3))
    assert (one.counter_entry.data.byte_count, one.counter_entry.data.packet_count) == (1500, 1)
    everything = client.read(counter())
    assert len(everything) == 512 and everything[3] == one
    assert len(client.read(pb.Entity(counter_entry=pb.CounterEntry()))) == 512   # all counters

    client.modify(counter(data=(0, 9)))                      # no index: every cell
    assert {e.counter_entry.data.packet_count for e in client.read(counter())} == {9}
    assert update_error(lambda: client.insert(counter(3, (1, 1)))) == grpc.StatusCode.INVALID_ARGUMENT
    assert update_error(lambda: client.modify(counter(512, (1, 1)))) == grpc.StatusCode.OUT_OF_RANGE
    assert update_error(lambda: client.modify(counter(-1, (1, 1)))) == grpc.StatusCode.INVALID_ARGUMENT
    assert update_error(lambda: client.modify(counter(1, (1, 1), counter_id=0x12000099))) == \
        grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as err:
        client.read(counter(600))
    assert err.value.code() == grpc.StatusCode.OUT_OF_RANGE


def test_meter_entries(client):
    config = pb.MeterConfig(cir=100, cburst=10, pir=200, pburst=20)
    client.modify(pb.Entity(meter_entry=pb.MeterEntry(meter_id=METER, index=pb.Index(index=2), config=config)))
    meters = client.read(pb.Entity(meter_entry=pb.MeterEntry(meter_id=METER)))
    assert len(meters) == 16
    assert meters[2].meter_entry.config == config
    assert not meters[1].meter_entry.HasField("config")     # unconfigured: all green
    client.modify(pb.Entity(meter_entry=pb.MeterEntry(meter_id=METER, index=pb.Index(index=2))))
    (reset,) = client.read(pb.Entity(meter_entry=pb.MeterEntry(meter_id=METER, index=pb.Index(index=2))))
    assert not reset.meter_entry.HasField("config")
    bad = pb.MeterConfig(cir=300, cburst=10, pir=200, pburst=20)
    assert update_error(lambda: client.modify(pb.Entity(meter_entry=pb.MeterEntry(
        meter_id=METER, index=pb.Index(index=2), config=bad)))) == grpc.StatusCode.INVALID_ARGUMENT
    counted = pb.MeterEntry(meter_id=METER, index=pb.Index(index=3), config=config)
    counted.counter_data.green.packet_count = 1    # per-colour counters: BMv2 keeps none
    assert update_error(lambda: client.modify(pb.Entity(meter_entry=counted))) == \
        grpc.StatusCode.UNIMPLEMENTED
    (untouched,) = client.read(pb.Entity(meter_entry=pb.MeterEntry(meter_id=METER, index=pb.Index(index=3))))
    assert not untouched.meter_entry.HasField("config")


def test_register_entries(client):
    entity = pb.Entity()
    entity.register_entry.register_id = REGISTER
    entity.register_entry.index.index = 5
    entity.register_entry.data.bitstring = b"\x00\x00\x12\x34"
    client.modify(entity)
    (read,) = client.read(pb.Entity(register_entry=pb.RegisterEntry(register_id=REGISTER,
                                                                     index=pb.Index(index=5))))
    assert read.register_entry.data.bitstring == b"\x12\x34"
    assert len(client.read(pb.Entity(register_entry=pb.RegisterEntry(register_id=REGISTER)))) == 16
    entity.register_entry.data.bitstring = b"\x01\x00\x00\x00\x00"
    assert update_error(lambda: client.modify(entity)) == grpc.StatusCode.OUT_OF_RANGE
    entity.register_entry.data.bool = True
    assert update_error(lambda: client.modify(entity)) == grpc.StatusCode.INVALID_ARGUMENT


def member(member_id, port=b"\x01") -> pb.Entity:
    entity = pb.Entity()
    m = entity.action_profile_member
    m.action_profile_id, m.member_id = PROFILE, member_id
    m.action.action_id = FORWARD
    m.action.params.add(param_id=1, value=port)
    return entity


def group(group_id, *member_ids, max_size=4) -> pb.Entity:
    entity = pb.Entity()
    g = entity.action_profile_group
    g.action_profile_id, g.group_id, g.max_size = PROFILE, group_id, max_size
    for member_id in member_ids:
        g.members.add(member_id=member_id, weight=1)
    return entity


def test_action_profile_members_and_groups(client):
    client.insert(member(1), member(2, b"\x02"))
    client.modify(member(2, b"\x03"))
    members = client.read(pb.Entity(action_profile_member=pb.ActionProfileMember(action_profile_id=PROFILE)))
    assert [(m.action_profile_member.member_id, m.action_profile_member.action.params[0].value)
            for m in members] == [(1, b"\x01"), (2, b"\x03")]
    assert update_error(lambda: client.insert(member(1))) == grpc.StatusCode.ALREADY_EXISTS
    assert update_error(lambda: client.insert(member(0))) == grpc.StatusCode.INVALID_ARGUMENT  # wildcard id

    client.insert(group(10, 1, 2))
    (read,) = client.read(pb.Entity(action_profile_group=pb.ActionProfileGroup()))
    assert [m.member_id for m in read.action_profile_group.members] == [1, 2]
    client.modify(group(10, 2))
    (read,) = client.read(pb.Entity(action_profile_group=pb.ActionProfileGroup(
        action_profile_id=PROFILE, group_id=10)))
    assert [m.member_id for m in read.action_profile_group.members] == [2]
    assert update_error(lambda: client.insert(group(11, 99))) == grpc.StatusCode.NOT_FOUND
    assert update_error(lambda: client.insert(group(12, 1, max_size=64))) == grpc.StatusCode.INVALID_ARGUMENT
    heavy = group(13, 1, max_size=0)
    heavy.action_profile_group.members[0].weight = 2**31 - 1         # weights are member copies
    assert update_error(lambda: client.insert(heavy)) == grpc.StatusCode.RESOURCE_EXHAUSTED

    # A member used by a group cannot go; once the group is gone it can.
    assert update_error(lambda: client.delete(member(2))) == grpc.StatusCode.FAILED_PRECONDITION
    client.delete(group(10))
    client.delete(member(2))
    assert len(client.read(pb.Entity(action_profile_member=pb.ActionProfileMember()))) == 1


def test_indirect_table_entry_pointing_at_a_group(client):
    client.insert(member(1))
    client.insert(group(5, 1))
    entity = pb.Entity()
    te = entity.table_entry
    te.table_id = NAMES.table("MyIngress.ecmp")
    fm = te.match.add(field_id=1)
    fm.lpm.value, fm.lpm.prefix_len = b"\x0a\x00\x00\x00\x00\x00", 8
    te.action.action_profile_group_id = 5
    client.insert(entity)
    (read,) = client.read(pb.Entity(table_entry=pb.TableEntry(table_id=te.table_id)))
    assert read.table_entry.action.action_profile_group_id == 5
    assert update_error(lambda: client.delete(group(5))) == grpc.StatusCode.FAILED_PRECONDITION


def multicast(group_id, *replicas) -> pb.Entity:
    entity = pb.Entity()
    g = entity.packet_replication_engine_entry.multicast_group_entry
    g.multicast_group_id = group_id
    for port, instance in replicas:
        g.replicas.add(egress_port=port, instance=instance)
    return entity


def test_multicast_groups_and_clone_sessions(client, switch):
    client.insert(multicast(1, (1, 0), (2, 0)), multicast(2, (3, 1)))
    client.modify(multicast(2, (3, 1), (4, 1)))
    groups = client.read(multicast(0))
    assert [[(r.egress_port, r.instance) for r in g.packet_replication_engine_entry.multicast_group_entry.replicas]
            for g in groups] == [[(1, 0), (2, 0)], [(3, 1), (4, 1)]]
    assert update_error(lambda: client.insert(multicast(1, (5, 0)))) == grpc.StatusCode.ALREADY_EXISTS
    assert update_error(lambda: client.insert(multicast(0, (5, 0)))) == grpc.StatusCode.INVALID_ARGUMENT
    client.delete(multicast(1))
    assert len(client.read(multicast(0))) == 1

    session = pb.Entity()
    s = session.packet_replication_engine_entry.clone_session_entry
    s.session_id, s.class_of_service, s.packet_length_bytes = 100, 2, 64
    s.replicas.add(egress_port=7, instance=1)
    client.insert(session)
    (read,) = client.read(pb.Entity(packet_replication_engine_entry=pb.PacketReplicationEngineEntry(
        clone_session_entry=pb.CloneSessionEntry())))
    assert read.packet_replication_engine_entry.clone_session_entry == s
    guest = Client(switch.address, role="guest")
    assert update_error(lambda: guest.insert(multicast(9, (1, 0)))) == grpc.StatusCode.PERMISSION_DENIED
    guest.close()


def test_multicast_group_metadata_is_read_back_as_written(client):
    """P4Runtime 1.4: MulticastGroupEntry.metadata is opaque to the target and read back."""
    group = multicast(40, (1, 0))
    group.packet_replication_engine_entry.multicast_group_entry.metadata = b"\x00owner:dsl"
    client.insert(group, multicast(41, (2, 0)))
    read = {g.packet_replication_engine_entry.multicast_group_entry.multicast_group_id:
            g.packet_replication_engine_entry.multicast_group_entry for g in client.read(multicast(0))}
    assert read[40].metadata == b"\x00owner:dsl" and read[41].metadata == b""
    group.packet_replication_engine_entry.multicast_group_entry.metadata = b"v2"
    client.modify(group)
    (again,) = client.read(multicast(40))
    assert again.packet_replication_engine_entry.multicast_group_entry.metadata == b"v2"
    client.delete(multicast(40), multicast(41))
    client.insert(multicast(40, (1, 0)))            # a new group: no metadata left over
    (fresh,) = client.read(multicast(40))
    assert fresh.packet_replication_engine_entry.multicast_group_entry.metadata == b""
    client.delete(multicast(40))


def test_value_set_entries(client):
    entity = pb.Entity()
    vs = entity.value_set_entry
    vs.value_set_id = VALUE_SET
    for value in (b"\x88\xb5", b"\x88\xb6"):
        vs.members.add().match.add(field_id=1).exact.value = value
    client.modify(entity)
    (read,) = client.read(pb.Entity(value_set_entry=pb.ValueSetEntry(value_set_id=VALUE_SET)))
    assert sorted(m.match[0].exact.value for m in read.value_set_entry.members) == [b"\x88\xb5", b"\x88\xb6"]
    assert update_error(lambda: client.insert(entity)) == grpc.StatusCode.INVALID_ARGUMENT
    for value in (b"\x01", b"\x02", b"\x03"):
        vs.members.add().match.add(field_id=1).exact.value = value
    assert update_error(lambda: client.modify(entity)) == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_extern_entries_are_unimplemented(client):
    assert update_error(lambda: client.insert(pb.Entity(extern_entry=pb.ExternEntry(extern_type_id=1)))) == \
        grpc.StatusCode.UNIMPLEMENTED


def test_rollback_restores_every_cell_of_an_index_less_write(client):
    client.modify(counter(3, (30, 3)))
    bad_member = member(1)
    bad_member.action_profile_member.action.action_id = 0x01999999
    with pytest.raises(grpc.RpcError):
        client.write(pb.Update(type=pb.Update.MODIFY, entity=counter(data=(0, 9))),
                     pb.Update(type=pb.Update.INSERT, entity=bad_member),
                     atomicity=pb.WriteRequest.ROLLBACK_ON_ERROR)
    cells = [(e.counter_entry.data.byte_count, e.counter_entry.data.packet_count) for e in client.read(counter())]
    assert cells[3] == (30, 3) and cells.count((0, 0)) == 511


def test_replication_entries_in_atomic_batches_and_whole_reads(client):
    session = pb.Entity()
    session.packet_replication_engine_entry.clone_session_entry.session_id = 5
    client.write(pb.Update(type=pb.Update.INSERT, entity=multicast(3, (1, 0))),
                 pb.Update(type=pb.Update.INSERT, entity=session),
                 atomicity=pb.WriteRequest.ROLLBACK_ON_ERROR)
    everything = client.read(pb.Entity(packet_replication_engine_entry=pb.PacketReplicationEngineEntry()))
    assert sorted(e.packet_replication_engine_entry.WhichOneof("type") for e in everything) == \
        ["clone_session_entry", "multicast_group_entry"]
    assert client.read(multicast(9)) == []
