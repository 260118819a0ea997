"""`p4nic compile` output driven over P4Runtime on `p4nic switch`: the compiler's P4Info ids and
BMv2 JSON names must meet in the server (tables, actions, controller headers, digests,
direct counters), as p4c's output does with simple_switch_grpc."""
import subprocess
import sys

import grpc
import pytest
from google.protobuf import text_format
from p4nic.proto import p4runtime_pb2 as pb


from p4rt_client import PROGRAMS, Client, Names, SwitchProcess, Wire, details  # noqa: E402

# P4Runtime server/client behaviour: `make test` runs it under both protobuf runtimes
pytestmark = pytest.mark.p4runtime


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


def any_entry(table, p4info) -> pb.Entity:
    """A well-formed entry for `table`: zero exact keys, wildcards elsewhere, its first entry
    action with zero parameters."""
    entity = pb.Entity()
    te = entity.table_entry
    te.table_id = table.preamble.id
    for field in table.match_fields:
        if field.match_type == field.EXACT:
            te.match.add(field_id=field.id).exact.value = b"\x00"
        elif field.match_type in (field.TERNARY, field.RANGE, field.OPTIONAL):
            te.priority = 1
    ref = next(r for r in table.action_refs if r.scope != r.DEFAULT_ONLY)
    action = next(a for a in p4info.actions if a.preamble.id == ref.id)
    te.action.action.action_id = action.preamble.id
    for param in action.params:
        te.action.action.params.add(param_id=param.id, value=b"\x00")
    return entity


@pytest.mark.parametrize("program", ["vnic.p4", "pnic.p4"])
def test_guest_role_on_the_nic_pipelines(program, tmp_path):
    """DESIGN.md: the guest may write its own (@p4runtime_role("guest")) tables and nothing else."""
    source = PROGRAMS.parents[2] / "p4src" / program
    json_path, p4info_path = tmp_path / "prog.json", tmp_path / "prog.p4info.txtpb"
    result = subprocess.run([sys.executable, "-m", "p4nic.cli", "compile", str(source), "-o", str(json_path),
                             "--p4runtime-files", str(p4info_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    config = pb.ForwardingPipelineConfig(p4_device_config=json_path.read_bytes())
    text_format.Parse(p4info_path.read_text(), config.p4info)
    guest_tables = [t for t in config.p4info.tables if '@p4runtime_role("guest")' in t.preamble.annotations]
    host_tables = [t for t in config.p4info.tables if t not in guest_tables and not t.is_const_table]
    assert guest_tables and host_tables

    switch = SwitchProcess(tmp_path)
    host = Client(switch.address, election_id=(0, 1))
    guest = Client(switch.address, election_id=(0, 1), role="guest")
    streams = [host.stream(), guest.stream()]
    try:
        streams[0].arbitrate((0, 1))
        assert streams[1].arbitrate((0, 1), role="guest").arbitration.status.code == 0
        host.set_config(config)
        for table in guest_tables:
            guest.insert(any_entry(table, config.p4info))
        with pytest.raises(grpc.RpcError) as err:
            guest.insert(any_entry(host_tables[0], config.p4info))
        assert details(err.value)[0][0] == grpc.StatusCode.PERMISSION_DENIED
        host.insert(any_entry(host_tables[0], config.p4info))
        visible = guest.read(pb.Entity(table_entry=pb.TableEntry()), role="guest")
        assert {e.table_entry.table_id for e in visible} == {t.preamble.id for t in guest_tables}
    finally:
        for stream in streams:
            stream.close()
        host.close()
        guest.close()
        assert switch.stop() == 0
