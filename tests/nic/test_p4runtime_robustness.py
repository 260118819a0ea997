"""P4Runtime server: odd and malformed requests get a status, and the server keeps serving."""
import random

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2
from p4nic.proto import p4runtime_pb2 as pb


from p4rt_client import WAIT, Client, Names, SwitchProcess, details, load_config  # noqa: E402

# P4Runtime server/client behaviour: `make test` runs it under both protobuf runtimes
pytestmark = pytest.mark.p4runtime

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


@pytest.mark.parametrize("method, request_type", [("Write", pb.WriteRequest),
                                                  ("Read", pb.ReadRequest)])
def test_a_request_whose_string_is_not_utf8_is_invalid(switch, method, request_type):
    """A role that is not UTF-8: INVALID_ARGUMENT under both protobuf runtimes (the pure-Python
    one raises UnicodeDecodeError, upb DecodeError)."""
    role = request_type.DESCRIPTOR.fields_by_name["role"].number
    raw = bytes([0x08, 1, (role << 3) | 2, 1, 0xe7])       # device_id 1, role "\xe7"
    channel = grpc.insecure_channel(switch.address)
    try:
        call = channel.unary_unary(f"/p4.v1.P4Runtime/{method}") if method == "Write" else (
            lambda data, timeout: list(channel.unary_stream(f"/p4.v1.P4Runtime/{method}")(
                data, timeout=timeout)))
        with pytest.raises(grpc.RpcError) as error:
            call(raw, timeout=WAIT)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error.value.details().startswith(f"malformed {request_type.DESCRIPTOR.name}")
    finally:
        channel.close()


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


def test_role_config_is_accepted_and_ignored(switch):
    """Role.config is opaque (the spec leaves it to the target); like PI's server we accept it,
    and the stream becomes primary of its role."""
    client = Client(switch.address)
    stream = client.stream()
    try:
        request = pb.StreamMessageRequest()
        request.arbitration.device_id = 1
        request.arbitration.role.name = "guest"
        request.arbitration.role.config.CopyFrom(any_pb2.Any(type_url="example.com/Config"))
        request.arbitration.election_id.low = 1
        stream.send(request)
        reply = stream.recv(kind="arbitration").arbitration
        assert reply.status.code == code_pb2.OK and reply.role.name == "guest"
    finally:
        stream.close()
        client.close()


def valid_entities():
    """One well-formed entity of each kind the test program has, to mutate."""
    fwd = pb.Entity()
    fwd.table_entry.table_id = NAMES.table("MyIngress.fwd")
    fwd.table_entry.match.add(field_id=1).exact.value = b"\x01"
    fwd.table_entry.action.action.action_id = NAMES.action("MyIngress.forward")
    fwd.table_entry.action.action.params.add(param_id=1, value=b"\x02")
    acl = pb.Entity()
    acl.table_entry.table_id = NAMES.table("MyIngress.acl")
    fm = acl.table_entry.match.add(field_id=1)
    fm.ternary.value, fm.ternary.mask = b"\x08\x00", b"\xff\xff"
    acl.table_entry.priority = 5
    acl.table_entry.action.action.action_id = NAMES.action("MyIngress.drop")
    acl.table_entry.meter_config.cir, acl.table_entry.meter_config.pir = 5, 10
    member = pb.Entity()
    member.action_profile_member.action_profile_id = NAMES.action_profile("MyIngress.ecmp_selector")
    member.action_profile_member.member_id = 1
    member.action_profile_member.action.CopyFrom(fwd.table_entry.action.action)
    group = pb.Entity()
    group.action_profile_group.action_profile_id = NAMES.action_profile("MyIngress.ecmp_selector")
    group.action_profile_group.group_id = 1
    group.action_profile_group.members.add(member_id=1, weight=1)
    mcast = pb.Entity()
    mcast.packet_replication_engine_entry.multicast_group_entry.multicast_group_id = 1
    mcast.packet_replication_engine_entry.multicast_group_entry.replicas.add(egress_port=1, instance=1)
    register = pb.Entity()
    register.register_entry.register_id = NAMES.register("MyIngress.reg")
    register.register_entry.index.index = 1
    register.register_entry.data.bitstring = b"\x01"
    return [fwd, acl, member, group, mcast, register,
            pb.Entity(counter_entry=pb.CounterEntry(counter_id=NAMES.counter("MyIngress.port_counter"),
                                                    index=pb.Index(index=2),
                                                    data=pb.CounterData(packet_count=1))),
            pb.Entity(meter_entry=pb.MeterEntry(meter_id=NAMES.meter("MyIngress.port_meter"),
                                                index=pb.Index(index=2),
                                                config=pb.MeterConfig(cir=1, cburst=1, pir=2, pburst=2))),
            pb.Entity(digest_entry=pb.DigestEntry(digest_id=NAMES.digest("digest_t"),
                                                  config=pb.DigestEntry.Config(max_list_size=1)))]


def mutate(message, rng):
    """Set one randomly chosen scalar field somewhere in `message` to a random value."""
    fields = []

    def repeated(descriptor) -> bool:   # protobuf >= 5 deprecates `label`
        found = getattr(descriptor, "is_repeated", None)
        return found if found is not None else descriptor.label == descriptor.LABEL_REPEATED

    def collect(msg):
        for descriptor in msg.DESCRIPTOR.fields:
            if descriptor.message_type is not None:
                if repeated(descriptor):
                    for item in getattr(msg, descriptor.name):
                        collect(item)
                elif msg.HasField(descriptor.name):
                    collect(getattr(msg, descriptor.name))
            elif not repeated(descriptor):
                fields.append((msg, descriptor))

    collect(message)
    msg, descriptor = rng.choice(fields)
    if descriptor.type == descriptor.TYPE_BYTES:
        value = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 2, 7, 40])))
    elif descriptor.type == descriptor.TYPE_STRING:
        value = rng.choice(["", "guest", "x" * 50])
    elif descriptor.type == descriptor.TYPE_BOOL:
        value = rng.random() < 0.5
    elif descriptor.type == descriptor.TYPE_ENUM:
        value = rng.choice([v.number for v in descriptor.enum_type.values])
    elif descriptor.type in (descriptor.TYPE_INT32, descriptor.TYPE_INT64):
        value = rng.choice([-1, 0, 1, 3, 2**31 - 1, -(2**31)])
    else:
        value = rng.choice([0, 1, 2, 9, 2**32 - 1, NAMES.table("MyIngress.acl")])
    setattr(msg, descriptor.name, value)


def test_randomly_mutated_updates_never_fail_internally(switch):
    rng = random.Random(4242)
    client = Client(switch.address)
    client.set_config(load_config())
    try:
        corpus = valid_entities()
        for _ in range(300):
            entity = pb.Entity()
            entity.CopyFrom(rng.choice(corpus))
            for _ in range(rng.randint(1, 3)):
                mutate(entity, rng)
            update = pb.Update(type=rng.choice([pb.Update.INSERT, pb.Update.MODIFY, pb.Update.DELETE]),
                               entity=entity)
            try:
                client.write(update, atomicity=rng.choice([0, 1, 2]))
            except grpc.RpcError as err:
                codes = [code for code, _ in details(err)] or [err.code()]
                assert grpc.StatusCode.INTERNAL not in codes, (entity, codes)
            try:
                client.read(entity)
            except grpc.RpcError as err:
                assert err.code() != grpc.StatusCode.INTERNAL, entity
        assert client.stub.Capabilities(pb.CapabilitiesRequest()).p4runtime_api_version
    finally:
        client.close()


def whole_state(client) -> list:
    """The entities the server holds, serialized and sorted, to compare states."""
    queries = []
    for kind in ("table_entry", "action_profile_member", "action_profile_group", "meter_entry",
                 "register_entry", "digest_entry", "value_set_entry"):
        query = pb.Entity()
        getattr(query, kind).SetInParent()
        queries.append(query)
    # Of the 512 counters, the cells the mutated corpus can reach (its index mutates to 0..3).
    counter_id = NAMES.counter("MyIngress.port_counter")
    queries += [pb.Entity(counter_entry=pb.CounterEntry(counter_id=counter_id, index=pb.Index(index=i)))
                for i in range(4)]
    queries[0].table_entry.counter_data.SetInParent()
    queries[0].table_entry.meter_config.SetInParent()
    queries.append(pb.Entity(table_entry=pb.TableEntry(is_default_action=True)))
    for sub in ("multicast_group_entry", "clone_session_entry"):
        query = pb.Entity()
        getattr(query.packet_replication_engine_entry, sub).SetInParent()
        queries.append(query)
    return sorted(e.SerializeToString(deterministic=True) for q in queries for e in client.read(q))


def test_failed_atomic_batches_leave_the_state_exactly_as_before(switch):
    rng = random.Random(777)
    client = Client(switch.address)
    client.set_config(load_config())
    try:
        corpus = valid_entities()
        failed = 0
        for _ in range(60):
            updates = []
            for _ in range(rng.randint(1, 4)):
                entity = pb.Entity()
                entity.CopyFrom(rng.choice(corpus))
                if rng.random() < 0.6:
                    mutate(entity, rng)
                updates.append(pb.Update(type=rng.choice([pb.Update.INSERT, pb.Update.MODIFY,
                                                          pb.Update.DELETE]), entity=entity))
            before = whole_state(client)
            try:
                client.write(*updates, atomicity=rng.choice([pb.WriteRequest.ROLLBACK_ON_ERROR,
                                                             pb.WriteRequest.DATAPLANE_ATOMIC]))
            except grpc.RpcError:
                failed += 1
                assert whole_state(client) == before, updates
        assert failed > 15          # the batches did exercise rollback
    finally:
        client.close()


@pytest.mark.parametrize("atomicity", [pb.WriteRequest.CONTINUE_ON_ERROR, pb.WriteRequest.ROLLBACK_ON_ERROR,
                                       pb.WriteRequest.DATAPLANE_ATOMIC])
def test_valid_updates_succeed_in_every_atomicity_mode(switch, atomicity):
    client = Client(switch.address)
    client.set_config(load_config())
    try:
        fwd, acl, member, group, mcast, register, counter, meter, digest = valid_entities()
        for entity in (member, group, fwd, acl, mcast, digest):
            client.write(pb.Update(type=pb.Update.INSERT, entity=entity), atomicity=atomicity)
        for entity in (register, counter, meter, fwd, mcast):
            client.write(pb.Update(type=pb.Update.MODIFY, entity=entity), atomicity=atomicity)
        for entity in (fwd, acl, mcast, digest, group, member):
            client.write(pb.Update(type=pb.Update.DELETE, entity=entity), atomicity=atomicity)
    finally:
        client.close()
