"""P4Runtime server: StreamChannel — arbitration (primary/backup per role), write permission,
packet-out/packet-in through the switch's ports, digest lists with acks, idle-timeout
notifications."""
import itertools
import queue
import time

import grpc
import pytest
from google.rpc import code_pb2
from p4nic.proto import p4runtime_pb2 as pb


from p4rt_client import WAIT, Client, Names, SwitchProcess, Wire, details, load_config  # noqa: E402

# P4Runtime server/client behaviour: `make test` runs it under both protobuf runtimes
pytestmark = pytest.mark.p4runtime

NAMES = Names(load_config().p4info)
FWD = NAMES.table("MyIngress.fwd")
# The server remembers the highest election id it ever saw per role, so every test takes fresh,
# increasing ids.
ELECTION = itertools.count(10, 10)


@pytest.fixture(scope="module")
def switch(tmp_path_factory):
    process = SwitchProcess(tmp_path_factory.mktemp("p4rt-stream"))
    yield process
    assert process.stop() == 0


@pytest.fixture
def open_streams():
    streams = []
    yield streams
    for stream in streams:
        stream.close()


def controller(switch, open_streams, role="", election=None):
    """A client with its StreamChannel; returns (client, stream, first arbitration answer)."""
    election = (0, next(ELECTION)) if election is None else election
    client = Client(switch.address, election_id=election, role=role)
    stream = client.stream()
    open_streams.append(stream)
    answer = stream.arbitrate(election, role=role)
    return client, stream, answer


def fwd_entry(mac: bytes, action: str, *params) -> pb.Entity:
    entity = pb.Entity()
    te = entity.table_entry
    te.table_id = FWD
    te.match.add(field_id=1).exact.value = mac
    te.action.action.action_id = NAMES.action(action)
    for i, value in enumerate(params, start=1):
        te.action.action.params.add(param_id=i, value=value)
    return entity


def test_first_controller_is_primary_and_later_lower_ones_are_backups(switch, open_streams):
    primary_id = (0, next(ELECTION))
    primary, primary_stream, answer = controller(switch, open_streams, election=primary_id)
    assert answer.arbitration.status.code == code_pb2.OK
    assert (answer.arbitration.election_id.high, answer.arbitration.election_id.low) == primary_id
    primary.set_config(load_config())

    backup, _, answer = controller(switch, open_streams, election=(0, primary_id[1] - 1))
    assert answer.arbitration.status.code == code_pb2.ALREADY_EXISTS
    assert answer.arbitration.election_id.low == primary_id[1]   # the primary's id

    with pytest.raises(grpc.RpcError) as err:
        backup.insert(fwd_entry(b"\x01", "MyIngress.drop"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    nobody = Client(switch.address)                 # no election id while controllers exist
    with pytest.raises(grpc.RpcError) as err:
        nobody.insert(fwd_entry(b"\x01", "MyIngress.drop"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    nobody.close()
    primary.insert(fwd_entry(b"\x01", "MyIngress.drop"))

    # A higher id takes over; the old primary is told it is now a backup.
    usurper, _, answer = controller(switch, open_streams, election=(0, next(ELECTION)))
    assert answer.arbitration.status.code == code_pb2.OK
    demoted = primary_stream.recv(kind="arbitration")
    assert demoted.arbitration.status.code == code_pb2.ALREADY_EXISTS
    with pytest.raises(grpc.RpcError) as err:
        primary.insert(fwd_entry(b"\x02", "MyIngress.drop"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    usurper.insert(fwd_entry(b"\x02", "MyIngress.drop"))


def test_primary_leaving_leaves_no_primary_until_a_high_enough_id(switch, open_streams):
    top = next(ELECTION)
    _, primary_stream, _ = controller(switch, open_streams, election=(0, top))
    backup, backup_stream, _ = controller(switch, open_streams, election=(0, top - 5))
    primary_stream.close()
    notice = backup_stream.recv(kind="arbitration")
    assert notice.arbitration.status.code == code_pb2.NOT_FOUND
    assert notice.arbitration.election_id.low == top
    answer = backup_stream.arbitrate((0, next(ELECTION)))      # re-arbitrate with a higher id
    assert answer.arbitration.status.code == code_pb2.OK


def test_who_may_write_follows_every_change_of_primary(switch, open_streams):
    """A one-update Write is checked against the primary of the moment (the native front end
    answers it in place, from the arbitration's latest record): a primary that lowers its id,
    or leaves, writes no more at its old id; one that comes back high enough writes again."""
    top = next(ELECTION)
    client, stream, answer = controller(switch, open_streams, election=(0, top))
    assert answer.arbitration.status.code == code_pb2.OK
    client.set_config(load_config())
    client.insert(fwd_entry(b"\x01", "MyIngress.drop"))
    assert stream.arbitrate((0, top - 1)).arbitration.status.code == code_pb2.NOT_FOUND
    for election in [(0, top), (0, top - 1)]:
        client.election_id = election
        with pytest.raises(grpc.RpcError) as err:
            client.insert(fwd_entry(b"\x02", "MyIngress.drop"))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert stream.arbitrate((0, top)).arbitration.status.code == code_pb2.OK
    client.election_id = (0, top)
    client.insert(fwd_entry(b"\x02", "MyIngress.drop"))
    _, watcher, _ = controller(switch, open_streams, election=(0, top - 5))
    stream.close()
    assert watcher.recv(kind="arbitration").arbitration.status.code == code_pb2.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        client.insert(fwd_entry(b"\x03", "MyIngress.drop"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_arbitration_errors_end_the_stream(switch, open_streams):
    election = (0, next(ELECTION))
    controller(switch, open_streams, election=election)
    with pytest.raises(grpc.RpcError) as err:
        controller(switch, open_streams, election=election)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as err:
        Client(switch.address, device_id=77).stream().arbitrate((0, 1))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    _, stream, _ = controller(switch, open_streams)
    with pytest.raises(grpc.RpcError) as err:
        stream.arbitrate((0, next(ELECTION)), role="guest")   # role change on a live stream
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_roles_are_arbitrated_independently(switch, open_streams):
    admin, _, answer = controller(switch, open_streams)
    assert answer.arbitration.status.code == code_pb2.OK
    admin.set_config(load_config())
    guest, _, answer = controller(switch, open_streams, role="guest", election=(0, 1))
    assert answer.arbitration.status.code == code_pb2.OK
    assert answer.arbitration.role.name == "guest"
    guest_flows = pb.Entity()
    te = guest_flows.table_entry
    te.table_id = NAMES.table("MyIngress.guest_flows")
    te.match.add(field_id=1).exact.value = b"\x08\x00"
    te.action.action.action_id = NAMES.action("MyIngress.drop")
    guest.insert(guest_flows)
    with pytest.raises(grpc.RpcError) as err:
        guest.insert(fwd_entry(b"\x03", "MyIngress.drop"))
    assert [code for code, _ in details(err.value)] == [grpc.StatusCode.PERMISSION_DENIED]
    with pytest.raises(grpc.RpcError) as err:
        guest.set_config(load_config())
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_packet_out_and_packet_in(switch, open_streams):
    client, stream, _ = controller(switch, open_streams)
    client.set_config(load_config())
    wire = Wire(switch.socket)
    try:
        frame = bytes.fromhex("000000000002" "000000000001" "0800") + b"payload"
        out = pb.StreamMessageRequest()
        out.packet.payload = frame
        out.packet.metadata.add(metadata_id=1, value=b"\x03")   # egress_port 3
        out.packet.metadata.add(metadata_id=2, value=b"\x00")
        stream.send(out)
        assert wire.recv() == (3, frame)

        client.insert(fwd_entry(b"\x00\x00\x00\x00\x00\x09", "MyIngress.send_to_cpu"))
        to_cpu = bytes.fromhex("000000000009" "000000000001" "0800") + b"hello"
        wire.send(4, to_cpu)
        packet_in = stream.recv(kind="packet").packet
        assert packet_in.payload == to_cpu
        assert {m.metadata_id: m.value for m in packet_in.metadata} == {1: b"\x04", 2: b"\x00"}
    finally:
        wire.close()


def test_bad_packet_outs_get_stream_errors(switch, open_streams):
    client, stream, _ = controller(switch, open_streams)
    client.set_config(load_config())
    missing = pb.StreamMessageRequest()
    missing.packet.payload = b"x" * 20
    missing.packet.metadata.add(metadata_id=1, value=b"\x03")      # _pad missing
    stream.send(missing)
    error = stream.recv(kind="error").error
    assert error.canonical_code == code_pb2.INVALID_ARGUMENT
    assert error.packet_out.packet_out == missing.packet

    _, backup_stream, _ = controller(switch, open_streams, election=(0, 1))
    good = pb.StreamMessageRequest()
    good.packet.payload = b"x" * 20
    good.packet.metadata.add(metadata_id=1, value=b"\x03")
    good.packet.metadata.add(metadata_id=2, value=b"\x00")
    backup_stream.send(good)
    assert backup_stream.recv(kind="error").error.canonical_code == code_pb2.PERMISSION_DENIED


def test_digest_lists_are_buffered_deduplicated_and_acked(switch, open_streams):
    client, stream, _ = controller(switch, open_streams)
    client.set_config(load_config())
    digest_id = NAMES.digest("digest_t")
    config = pb.DigestEntry.Config(max_timeout_ns=0, max_list_size=1, ack_timeout_ns=10**10)
    client.insert(pb.Entity(digest_entry=pb.DigestEntry(digest_id=digest_id, config=config)))
    (read,) = client.read(pb.Entity(digest_entry=pb.DigestEntry()))
    assert read.digest_entry.config == config
    client.insert(fwd_entry(b"\x00\x00\x00\x00\x00\x07", "MyIngress.learn"))
    wire = Wire(switch.socket)
    try:
        frame = bytes.fromhex("000000000007" "0000000000aa" "0800")
        wire.send(2, frame)
        digest = stream.recv(kind="digest").digest
        assert digest.digest_id == digest_id
        (sample,) = digest.data
        assert [m.bitstring for m in sample.struct.members] == [b"\xaa", b"\x02"]

        wire.send(2, frame)                      # same sample, not acked yet: suppressed
        assert [r for r in stream.pending(0.3) if r.HasField("digest")] == []
        ack = pb.StreamMessageRequest()
        ack.digest_ack.digest_id, ack.digest_ack.list_id = digest_id, digest.list_id
        stream.send(ack)
        # acked: learned again. The ack (gRPC) and the frame (nanomsg) race, so resend the frame
        # until the switch has taken the ack; before that each copy is suppressed.
        deadline = time.monotonic() + WAIT
        again = None
        while again is None and time.monotonic() < deadline:
            wire.send(2, frame)
            try:
                again = stream.recv(timeout=0.5, kind="digest").digest
            except queue.Empty:
                pass
        assert again is not None and again.list_id != digest.list_id
    finally:
        wire.close()


def test_digest_buffer_flushes_on_size_or_timeout(switch, open_streams):
    client, stream, _ = controller(switch, open_streams)
    client.set_config(load_config())
    digest_id = NAMES.digest("digest_t")
    # max_timeout_ns long enough that a loaded machine still delivers the first two samples
    # within it, so the first list is the one max_list_size flushed
    config = pb.DigestEntry.Config(max_timeout_ns=2_000_000_000, max_list_size=2, ack_timeout_ns=0)
    client.insert(pb.Entity(digest_entry=pb.DigestEntry(digest_id=digest_id, config=config)))
    client.insert(fwd_entry(b"\x00\x00\x00\x00\x00\x07", "MyIngress.learn"))
    wire = Wire(switch.socket)
    try:
        for src in ("0000000000a1", "0000000000a2", "0000000000a3"):
            wire.send(1, bytes.fromhex("000000000007" + src + "0800"))
        first = stream.recv(kind="digest").digest
        assert len(first.data) == 2                 # flushed at max_list_size
        started = time.monotonic()
        second = stream.recv(kind="digest").digest
        assert len(second.data) == 1                # flushed by max_timeout_ns
        assert time.monotonic() - started > 0.05
    finally:
        wire.close()
    bad_ack = pb.StreamMessageRequest()
    bad_ack.digest_ack.digest_id = 12345
    stream.send(bad_ack)
    assert stream.recv(kind="error").error.canonical_code == code_pb2.INVALID_ARGUMENT


def test_idle_timeout_notifications(switch, open_streams):
    client, stream, _ = controller(switch, open_streams)
    client.set_config(load_config())
    idle = fwd_entry(b"\x00\x00\x00\x00\x00\x05", "MyIngress.drop")
    idle.table_entry.idle_timeout_ns = 100_000_000
    idle.table_entry.controller_metadata = 42
    client.insert(idle, fwd_entry(b"\x00\x00\x00\x00\x00\x06", "MyIngress.drop"))
    notification = stream.recv(kind="idle_timeout_notification").idle_timeout_notification
    (expired,) = notification.table_entry
    assert expired.match[0].exact.value == b"\x05"
    assert (expired.idle_timeout_ns, expired.controller_metadata) == (100_000_000, 42)
    again = stream.recv(kind="idle_timeout_notification").idle_timeout_notification
    assert again.timestamp > notification.timestamp    # the timer restarts after a report
    (read,) = client.read(pb.Entity(table_entry=pb.TableEntry(
        table_id=FWD, match=expired.match, time_since_last_hit=pb.TableEntry.IdleTimeout())))
    # ...but the time since the last hit keeps counting from the real last hit.
    assert read.table_entry.time_since_last_hit.elapsed_ns >= 2 * 100_000_000
