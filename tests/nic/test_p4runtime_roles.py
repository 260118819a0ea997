"""P4Runtime roles (nic/p4runtime/roles.py): which roles exist, and what packet I/O each may
do — on the test program, whose one named role ("guest") has a table and no packet I/O (then
given some by annotations), and on the VNIC, whose controller headers give the guest role its
packet-ins and packet-outs."""
import itertools
import time

import grpc
import pytest
from google.protobuf import text_format
from google.rpc import code_pb2
from p4.v1 import p4runtime_pb2 as pb
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from p4nic import pipelines
from p4nic.runtime.entities import EntityBuilder
from p4nic.runtime.local_switch import LocalSwitch
from p4nic.runtime.nicdefs import (PKT_OUT_DIRECT, PKT_OUT_INJECT, PORT_FIRST_QUEUE, PORT_UPLINK,
                                   REASON_ACL, REASON_SERVICE, STAGE_ACL, STAGE_SERVICES)
from p4rt_client import WAIT, Client, Names, SwitchProcess, Wire, load_config

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


# -- the VNIC: the guest gets REASON_SERVICE, and returns packets through the pipeline ---------

@pytest.fixture(scope="module")
def vnic(tmp_path_factory):
    switch = LocalSwitch.from_p4(pipelines.source("vnic"), tmp_path_factory.mktemp("vnic-roles"),
                                 device_id=1)
    config = pb.ForwardingPipelineConfig(p4_device_config=switch.json_path.read_bytes())
    text_format.Parse(switch.p4info_path.read_text(), config.p4info)
    yield switch, config
    switch.stop()


def tcp(dport: int) -> bytes:
    return bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                 / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=40000, dport=dport))


def reason(packet_in) -> int:
    return next(int.from_bytes(m.value, "big") for m in packet_in.metadata if m.metadata_id == 3)


def test_the_vnic_guest_role_gets_its_packets_and_cannot_bypass_the_acl(vnic, streams):
    switch, config = vnic
    p4 = EntityBuilder(config.p4info)
    host, host_stream, _ = controller(switch.grpc_addr, streams)
    host.set_config(config)
    deny_tx = p4.table_entry("acl", {"dir": 1}, "acl_deny", priority=10)
    host.insert(pb.Entity(table_entry=deny_tx),
                pb.Entity(table_entry=p4.table_entry("acl", {"dir": 0, "dport": 7031},
                                                     "acl_to_cpu", priority=20)))
    guest, guest_stream, answer = controller(switch.grpc_addr, streams, role="guest")
    assert answer.arbitration.status.code == code_pb2.OK
    guest.modify(pb.Entity(table_entry=p4.table_entry("services.flow_table", action="svc_to_guest",
                                                      default=True)))
    wire = Wire(switch.packet_socket)
    try:
        # packet-ins: the host gets both reasons, the guest only the services' one
        wire.send(PORT_UPLINK, tcp(7031))                    # the ACL punts it
        wire.send(PORT_UPLINK, tcp(80))                      # services punt it
        assert [reason(host_stream.recv(kind="packet").packet) for _ in range(2)] == \
            [REASON_ACL, REASON_SERVICE]
        to_guest = guest_stream.recv(kind="packet").packet
        assert reason(to_guest) == REASON_SERVICE and to_guest.payload == tcp(80)

        # packet-outs that would skip the ACL are refused (the TX ACL denies everything)
        leaked = tcp(22)
        refused = [packet_out(leaked, PORT_UPLINK, 0, PKT_OUT_DIRECT, 0, 0),
                   packet_out(leaked, PORT_FIRST_QUEUE, 0, PKT_OUT_INJECT, STAGE_ACL, 0),
                   packet_out(leaked, PORT_FIRST_QUEUE, 0, PKT_OUT_INJECT,
                              STAGE_ACL | STAGE_SERVICES, 0)]
        for request in refused:
            guest_stream.send(request)
            error = guest_stream.recv(kind="error").error
            assert error.canonical_code == code_pb2.PERMISSION_DENIED, error
            assert "role 'guest' may send packet-outs with" in error.message
        # through the pipeline, the TX ACL drops what the guest transmits
        guest_stream.send(packet_out(leaked, PORT_FIRST_QUEUE, 0, PKT_OUT_INJECT, STAGE_SERVICES, 0))
        counter = pb.Entity(direct_counter_entry=pb.DirectCounterEntry(table_entry=deny_tx))
        deadline = time.monotonic() + WAIT
        while host.read(counter)[0].direct_counter_entry.data.packet_count < 1:
            assert time.monotonic() < deadline, "the TX ACL never saw the packet"
        # the guest service engine's return path: INJECT on the packet-in's ingress port with
        # services bypassed reaches the guest's queue, and is the first thing on the wire
        guest_stream.send(packet_out(to_guest.payload, PORT_UPLINK, 0, PKT_OUT_INJECT,
                                     STAGE_SERVICES, 0))
        assert wire.recv() == (PORT_FIRST_QUEUE, tcp(80))
        # the default role keeps full access
        host_stream.send(packet_out(leaked, PORT_UPLINK, 0, PKT_OUT_DIRECT, 0, 0))
        assert wire.recv() == (PORT_UPLINK, leaked)
    finally:
        wire.close()
