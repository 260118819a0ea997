"""The `start_server` entry point used in-process (as `p4nic switch` and embedded hosts do):
the handle's port, packet-in hand-over, packet-out without a port loop, stop, bind errors."""
import grpc
import pytest
from p4nic.proto import p4runtime_pb2 as pb


from p4nic.nic.device import Device  # noqa: E402
from p4nic.nic.p4runtime.server import start_server  # noqa: E402
from p4rt_client import Client, load_config  # noqa: E402

# P4Runtime server/client behaviour: `make test` runs it under both protobuf runtimes
pytestmark = pytest.mark.p4runtime

CPU_PORT = 255


@pytest.fixture
def embedded():
    handle = start_server(Device(device_id=1, cpu_port=CPU_PORT), "127.0.0.1:0", device_id=1,
                          cpu_port=CPU_PORT)
    client = Client(f"127.0.0.1:{handle.port}", election_id=(0, 1))
    stream = client.stream()
    stream.arbitrate((0, 1))
    client.set_config(load_config())
    yield handle, client, stream
    stream.close()
    client.close()
    handle.stop()


def test_packet_in_handed_over_by_the_port_loop(embedded):
    handle, _, stream = embedded
    handle.packet_in([b"\x03\x00" + b"frame from port 6"])      # packet_in header: port 6
    packet = stream.recv(kind="packet").packet
    assert packet.payload == b"frame from port 6"
    assert {m.metadata_id: m.value for m in packet.metadata} == {1: b"\x06", 2: b"\x00"}
    handle.packet_in([b"\x03"])                                # shorter than the header: dropped
    assert [r for r in stream.pending(0.2) if r.HasField("packet")] == []


def test_packet_out_to_the_cpu_port_loops_back_without_a_port_loop(embedded):
    _, _, stream = embedded
    frame = bytes.fromhex("000000000002" "000000000001" "0800")
    out = pb.StreamMessageRequest()
    out.packet.payload = frame
    out.packet.metadata.add(metadata_id=1, value=CPU_PORT.to_bytes(1, "big"))
    out.packet.metadata.add(metadata_id=2, value=b"\x00")
    stream.send(out)
    # The program sends it to port 255 = the CPU port; its first 2 bytes read as packet_in.
    packet = stream.recv(kind="packet").packet
    assert frame.endswith(packet.payload) and len(packet.payload) == len(frame) - 2


def test_stop_ends_streams_and_the_service(embedded):
    handle, client, stream = embedded
    handle.stop()
    with pytest.raises((EOFError, grpc.RpcError)):
        while True:
            stream.recv()
    with pytest.raises(grpc.RpcError):
        client.stub.Capabilities(pb.CapabilitiesRequest(), timeout=2)


def test_unbindable_address_is_an_os_error():
    with pytest.raises(OSError):
        start_server(Device(), "256.0.0.1:1")
