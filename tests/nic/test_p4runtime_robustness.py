"""P4Runtime server: odd and malformed requests get a status, and the server keeps serving."""
import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2
from p4.v1 import p4runtime_pb2 as pb

pytest.importorskip("p4nic.nic.device", reason="the Device (p4nic/nic/device.py) has not landed yet")

from p4rt_client import Client, Names, SwitchProcess, details, load_config  # noqa: E402

NAMES = Names(load_config().p4info)


@pytest.fixture(scope="module")
def switch(tmp_path_factory):
    process = SwitchProcess(tmp_path_factory.mktemp("p4rt-robust"))
    yield process
    assert process.stop() == 0


def odd_entities():
    """Entities that are wrong in ways a careless or hostile client might send."""
    fwd = NAMES.table("MyIngress.fwd")
    yield pb.Entity(table_entry=pb.TableEntry())                                  # table id 0
    yield pb.Entity(table_entry=pb.TableEntry(table_id=fwd, match=[pb.FieldMatch(field_id=1)]))
    yield pb.Entity(table_entry=pb.TableEntry(
        table_id=fwd, match=[pb.FieldMatch(field_id=1, lpm=pb.FieldMatch.LPM(value=b"\x01", prefix_len=8))]))
    yield pb.Entity(table_entry=pb.TableEntry(
        table_id=fwd, match=[pb.FieldMatch(field_id=1, exact=pb.FieldMatch.Exact(value=b"\x01"))],
        action=pb.TableAction(action_profile_member_id=3)))
    yield pb.Entity(table_entry=pb.TableEntry(
        table_id=fwd, match=[pb.FieldMatch(field_id=1, exact=pb.FieldMatch.Exact(value=b"\x01"))],
        action=pb.TableAction(action=pb.Action(action_id=0x01999999))))
    yield pb.Entity(direct_counter_entry=pb.DirectCounterEntry(
        table_entry=pb.TableEntry(table_id=NAMES.table("MyIngress.acl"))))
    yield pb.Entity(direct_meter_entry=pb.DirectMeterEntry(table_entry=pb.TableEntry(table_id=fwd)))
    yield pb.Entity(counter_entry=pb.CounterEntry(counter_id=NAMES.table("MyIngress.fwd")))
    yield pb.Entity(meter_entry=pb.MeterEntry(meter_id=0, index=pb.Index(index=1)))
    yield pb.Entity(register_entry=pb.RegisterEntry(register_id=NAMES.register("MyIngress.reg"),
                                                    index=pb.Index(index=1 << 40)))
    yield pb.Entity(action_profile_member=pb.ActionProfileMember(
        action_profile_id=NAMES.action_profile("MyIngress.ecmp_selector"), member_id=1))
    yield pb.Entity(action_profile_group=pb.ActionProfileGroup(action_profile_id=7, group_id=1))
    yield pb.Entity(packet_replication_engine_entry=pb.PacketReplicationEngineEntry())
    yield pb.Entity(value_set_entry=pb.ValueSetEntry(value_set_id=NAMES.value_set("MyParser.pvs"),
                                                     members=[pb.ValueSetMember()]))
    yield pb.Entity(digest_entry=pb.DigestEntry(digest_id=NAMES.digest("digest_t")))
    yield pb.Entity(extern_entry=pb.ExternEntry())
    yield pb.Entity()


@pytest.mark.parametrize("update_type", [pb.Update.INSERT, pb.Update.MODIFY, pb.Update.DELETE])
def test_odd_writes_and_reads_get_statuses(switch, update_type):
    client = Client(switch.address)
    client.set_config(load_config())
    try:
        for entity in odd_entities():
            with pytest.raises(grpc.RpcError) as err:
                client.write(pb.Update(type=update_type, entity=entity))
            assert err.value.code() == grpc.StatusCode.UNKNOWN, entity
            (code, _), = details(err.value)
            assert code not in (grpc.StatusCode.OK, grpc.StatusCode.INTERNAL), (entity, code)
            try:
                client.read(entity)
            except grpc.RpcError as read_error:
                assert read_error.code() != grpc.StatusCode.INTERNAL, entity
        assert client.stub.Capabilities(pb.CapabilitiesRequest()).p4runtime_api_version
    finally:
        client.close()


def test_odd_stream_messages_get_stream_errors(switch):
    client = Client(switch.address, election_id=(0, 1))
    stream = client.stream()
    try:
        early = pb.StreamMessageRequest()
        early.packet.payload = b"x"
        stream.send(early)                              # before arbitration
        assert stream.recv(kind="error").error.canonical_code == code_pb2.FAILED_PRECONDITION
        stream.arbitrate((0, 1))
        stream.send(pb.StreamMessageRequest())           # empty message
        assert stream.recv(kind="error").error.canonical_code == code_pb2.UNIMPLEMENTED
        other = pb.StreamMessageRequest()
        other.other.Pack(pb.CapabilitiesRequest())
        stream.send(other)
        assert stream.recv(kind="error").error.canonical_code == code_pb2.UNIMPLEMENTED
        client.set_config(load_config())
        short = pb.StreamMessageRequest()
        short.packet.payload = b""
        short.packet.metadata.add(metadata_id=1, value=b"\x01\x00\x00")  # too wide for 9 bits
        short.packet.metadata.add(metadata_id=2, value=b"\x00")
        stream.send(short)
        assert stream.recv(kind="error").error.canonical_code == code_pb2.OUT_OF_RANGE
        assert client.stub.Capabilities(pb.CapabilitiesRequest()).p4runtime_api_version
    finally:
        stream.close()
        client.close()


def test_role_config_is_refused(switch):
    client = Client(switch.address)
    stream = client.stream()
    try:
        request = pb.StreamMessageRequest()
        request.arbitration.device_id = 1
        request.arbitration.role.name = "guest"
        request.arbitration.role.config.CopyFrom(any_pb2.Any(type_url="example.com/Config"))
        stream.send(request)
        with pytest.raises(grpc.RpcError) as err:
            stream.recv()
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        stream.close()
        client.close()
