"""P4Runtime roles (nic/p4runtime/roles.py): which roles exist, and what packet I/O each may
do — on the test program, whose one named role ("guest") has a table and no packet I/O, and on
the same program given packet I/O role annotations."""
import itertools

import grpc
import pytest
from google.rpc import code_pb2
from p4.v1 import p4runtime_pb2 as pb

from p4rt_client import Client, Names, SwitchProcess, Wire, load_config

NAMES = Names(load_config().p4info)
ELECTION = itertools.count(10, 10)


@pytest.fixture(scope="module")
def switch(tmp_path_factory):
    process = SwitchProcess(tmp_path_factory.mktemp("p4rt-roles"))
    yield process
    assert process.stop() == 0


@pytest.fixture
def streams():
    opened = []
    yield opened
    for stream in opened:
        stream.close()


def controller(address, streams, role="", device_id=1):
    """A client and its arbitrated stream (a fresh, higher election id each time)."""
    election = (0, next(ELECTION))
    client = Client(address, device_id=device_id, election_id=election, role=role)
    stream = client.stream()
    streams.append(stream)
    answer = stream.arbitrate(election, role=role)
    return client, stream, answer


def packet_out(payload: bytes, *values) -> pb.StreamMessageRequest:
    """A packet-out with metadata ids 1, 2, ... set to `values` (one byte each)."""
    request = pb.StreamMessageRequest()
    request.packet.payload = payload
    for metadata_id, value in enumerate(values, start=1):
        request.packet.metadata.add(metadata_id=metadata_id, value=bytes([value]))
    return request


# -- the test program: "guest" owns a table and has no packet I/O -------------------------------

def test_a_role_the_program_does_not_name_is_refused(switch, streams):
    admin, _, _ = controller(switch.address, streams)
    admin.set_config(load_config())
    with pytest.raises(grpc.RpcError) as err:
        controller(switch.address, streams, role="made-up")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert "unknown role 'made-up'" in err.value.details()
    assert "'guest'" in err.value.details()
    stranger = Client(switch.address, role="made-up")
    entry = pb.Entity()
    entry.table_entry.table_id = NAMES.table("MyIngress.guest_flows")
    with pytest.raises(grpc.RpcError) as err:
        stranger.insert(entry)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        stranger.read(pb.Entity(table_entry=pb.TableEntry()), role="made-up")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    stranger.close()


def test_a_role_taken_before_the_pipeline_ends_when_the_pipeline_lacks_it(tmp_path, streams):
    fresh = SwitchProcess(tmp_path)          # no pipeline yet: no program to check roles against
    try:
        _, early, answer = controller(fresh.address, streams, role="made-up")
        assert answer.arbitration.status.code == code_pb2.OK
        admin, _, _ = controller(fresh.address, streams)
        admin.set_config(load_config())
        with pytest.raises(grpc.RpcError) as err:
            early.recv()
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        for stream in streams:
            stream.close()
        assert fresh.stop() == 0


def test_a_role_without_packet_io_neither_sends_nor_receives_packets(switch, streams):
    admin, admin_stream, _ = controller(switch.address, streams)
    admin.set_config(load_config())
    entry = pb.Entity()
    entry.table_entry.table_id = NAMES.table("MyIngress.fwd")
    entry.table_entry.match.add(field_id=1).exact.value = b"\x00\x00\x00\x00\x00\x09"
    entry.table_entry.action.action.action_id = NAMES.action("MyIngress.send_to_cpu")
    admin.insert(entry)
    _, guest, answer = controller(switch.address, streams, role="guest")
    assert answer.arbitration.status.code == code_pb2.OK
    wire = Wire(switch.socket)
    try:
        frame = bytes.fromhex("000000000002" "000000000001" "0800") + b"from the guest"
        guest.send(packet_out(frame, 3, 0))
        error = guest.recv(kind="error").error
        assert error.canonical_code == code_pb2.PERMISSION_DENIED
        assert "role 'guest' may not send packet-outs" in error.message
        punted = bytes.fromhex("000000000009" "000000000001" "0800") + b"to the controller"
        wire.send(4, punted)
        assert admin_stream.recv(kind="packet").packet.payload == punted
        admin_stream.send(packet_out(frame, 3, 0))    # the default role may; it comes out first
        assert wire.recv() == (3, frame)
        assert [r for r in guest.pending(0.5) if r.HasField("packet")] == []
    finally:
        wire.close()


def with_packet_annotations(packet_in: str = "", packet_out: str = "") -> pb.ForwardingPipelineConfig:
    """The test program, its P4Info given role annotations on the first field of each
    controller header (as p4c writes field annotations there)."""
    config = load_config()
    for header in config.p4info.controller_packet_metadata:
        text = packet_in if header.preamble.name == "packet_in" else packet_out
        if text:
            header.metadata[0].annotations.append(text)
    return config


def test_packet_io_rules_come_from_the_controller_header_annotations(tmp_path, streams):
    fresh = SwitchProcess(tmp_path)
    try:
        admin, admin_stream, _ = controller(fresh.address, streams)
        admin.set_config(with_packet_annotations(
            packet_in='@p4runtime_role_packet_in("guest", 4)',
            packet_out='@p4runtime_role_packet_out("guest", 9w3, 0x05)'))
        entry = pb.Entity()
        entry.table_entry.table_id = NAMES.table("MyIngress.fwd")
        entry.table_entry.match.add(field_id=1).exact.value = b"\x00\x00\x00\x00\x00\x09"
        entry.table_entry.action.action.action_id = NAMES.action("MyIngress.send_to_cpu")
        admin.insert(entry)
        _, guest, _ = controller(fresh.address, streams, role="guest")
        wire = Wire(fresh.socket)
        try:
            frame = bytes.fromhex("000000000002" "000000000001" "0800") + b"from the guest"
            guest.send(packet_out(frame, 4, 0))
            error = guest.recv(kind="error").error
            assert error.canonical_code == code_pb2.PERMISSION_DENIED
            assert "with egress_port in {3, 5} only, not 4" in error.message
            guest.send(packet_out(frame, 5, 0))
            assert wire.recv() == (5, frame)
            punted = bytes.fromhex("000000000009" "000000000001" "0800")
            wire.send(6, punted + b"from port 6")       # ingress_port 6: not the guest's
            wire.send(4, punted + b"from port 4")
            assert guest.recv(kind="packet").packet.payload == punted + b"from port 4"
            assert [admin_stream.recv(kind="packet").packet.payload[-11:] for _ in range(2)] == \
                [b"from port 6", b"from port 4"]
        finally:
            wire.close()
    finally:
        for stream in streams:
            stream.close()
        assert fresh.stop() == 0


@pytest.mark.parametrize("annotation", ['@p4runtime_role_packet_out(guest, 1)',
                                        '@p4runtime_role_packet_out("guest")',
                                        '@p4runtime_role_packet_out("", 1)',
                                        '@p4runtime_role_packet_out("guest", "1")'])
def test_a_malformed_role_annotation_is_an_invalid_config(switch, annotation):
    client = Client(switch.address)
    with pytest.raises(grpc.RpcError) as err:
        client.set_config(with_packet_annotations(packet_out=annotation))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "packet_out.egress_port" in err.value.details()
    client.close()
