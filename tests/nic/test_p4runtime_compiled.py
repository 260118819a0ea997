"""`p4nic compile` output driven over P4Runtime on `p4nic switch`: the compiler's P4Info ids and
BMv2 JSON names must meet in the server (tables, actions, controller headers, digests,
direct counters), as p4c's output does with simple_switch_grpc."""
import subprocess
import sys

import pytest
from google.protobuf import text_format
from p4.v1 import p4runtime_pb2 as pb

pytest.importorskip("p4nic.nic.device", reason="the Device (p4nic/nic/device.py) has not landed yet")

from p4rt_client import PROGRAMS, Client, Names, SwitchProcess, Wire  # noqa: E402


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    out = tmp_path_factory.mktemp("p4rt-compiled")
    json_path, p4info_path = out / "prog.json", out / "prog.p4info.txtpb"
    result = subprocess.run([sys.executable, "-m", "p4nic.cli", "compile",
                             str(PROGRAMS / "p4rt_compiled.p4"), "-o", str(json_path),
                             "--p4runtime-files", str(p4info_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    config = pb.ForwardingPipelineConfig(p4_device_config=json_path.read_bytes())
    text_format.Parse(p4info_path.read_text(), config.p4info)
    return config


@pytest.fixture
def session(compiled, tmp_path):
    switch = SwitchProcess(tmp_path)
    client = Client(switch.address, election_id=(0, 1))
    stream = client.stream()
    stream.arbitrate((0, 1))
    client.set_config(compiled)
    wire = Wire(switch.socket)
    yield client, stream, wire, Names(compiled.p4info)
    wire.close()
    stream.close()
    client.close()
    assert switch.stop() == 0


def fwd(names, mac: bytes, action: str, *params) -> pb.Entity:
    entity = pb.Entity()
    te = entity.table_entry
    te.table_id = names.table("MyIngress.fwd")
    te.match.add(field_id=1).exact.value = mac
    te.action.action.action_id = names.action(action)
    for i, value in enumerate(params, start=1):
        te.action.action.params.add(param_id=i, value=value)
    return entity


def test_forwarding_counters_and_packet_io_on_compiled_program(session):
    client, stream, wire, names = session
    client.insert(fwd(names, b"\x02", "MyIngress.forward", b"\x03"),
                  fwd(names, b"\x09", "MyIngress.send_to_cpu"))
    frame = bytes.fromhex("000000000002" "000000000001" "0800") + b"data"
    wire.send(1, frame)
    assert wire.recv() == (3, frame)
    (entry,) = client.read(pb.Entity(table_entry=pb.TableEntry(
        table_id=names.table("MyIngress.fwd"), counter_data=pb.CounterData(),
        match=[pb.FieldMatch(field_id=1, exact=pb.FieldMatch.Exact(value=b"\x02"))])))
    assert (entry.table_entry.counter_data.packet_count, entry.table_entry.counter_data.byte_count) == \
        (1, len(frame))

    to_cpu = bytes.fromhex("000000000009" "000000000001" "0800")
    wire.send(5, to_cpu)
    packet_in = stream.recv(kind="packet").packet
    assert packet_in.payload == to_cpu
    assert {m.metadata_id: m.value for m in packet_in.metadata} == {1: b"\x05", 2: b"\x00"}

    out = pb.StreamMessageRequest()
    out.packet.payload = frame
    out.packet.metadata.add(metadata_id=1, value=b"\x07")
    out.packet.metadata.add(metadata_id=2, value=b"\x00")
    stream.send(out)
    assert wire.recv() == (7, frame)


def test_digest_on_compiled_program(session):
    client, stream, wire, names = session
    digest_id = names.digest("digest_t")
    client.insert(pb.Entity(digest_entry=pb.DigestEntry(
        digest_id=digest_id, config=pb.DigestEntry.Config(max_timeout_ns=0, max_list_size=1))))
    client.insert(fwd(names, b"\x04", "MyIngress.learn"))
    wire.send(2, bytes.fromhex("000000000004" "00000000beef" "0800"))
    digest = stream.recv(kind="digest").digest
    assert digest.digest_id == digest_id
    assert [m.bitstring for m in digest.data[0].struct.members] == [b"\xbe\xef", b"\x02"]
