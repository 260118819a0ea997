"""The native Write path (nic/p4runtime/write_native.c, native_writes.py): its C decoder against
the Python codec as oracle on random, respelled and damaged bytes (it reads untrusted network
input: nothing may crash it), and the switch without it: no compiler, a failing compiler, and a
first start that builds it in the background while the Python path serves.

Its agreement with the other Write paths through real switches is in
test_p4runtime_write_paths.py."""
import os
import sys
import time
from pathlib import Path

import grpc
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from p4nic.compiler.driver import compile_file
from p4nic.nic.device import Device
from p4nic.nic.p4runtime.entities import Entities
from p4nic.nic.p4runtime.errors import MALFORMED, P4RuntimeError
from p4nic.nic.p4runtime.fronts import FRONT
from p4nic.nic.p4runtime.native_writes import NATIVE, PIECE_UPDATES, NativeWrites
from p4nic.nic.p4runtime.translate import P4InfoIndex
from p4nic.nic.tables import Entry
from p4nic.proto import p4runtime_pb2 as pb
from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import EntityBuilder
from p4nic.runtime.local_switch import LocalSwitch, compile_p4

from p4rt_client import PROGRAMS, environment, wait_for
from update_strategies import updates
from wire_mutations import encode, parse_fields, respelled

pytestmark = pytest.mark.p4runtime

PROGRAM = PROGRAMS / "p4rt_match_kinds.p4"


@pytest.fixture(scope="module")
def program():
    result = compile_file(str(PROGRAM))
    return result.bmv2_json, result.p4info


@pytest.fixture(scope="module")
def native(program):
    """(NativeWrites with a layout for every table, Entities) of the program, in process."""
    bmv2_json, p4info = program
    device = Device()
    device.load(bmv2_json)
    entities = Entities(device.state, P4InfoIndex(p4info, bmv2_json))
    writes = NativeWrites(entities, NATIVE.require())
    for table in p4info.tables:
        writes.add_table(table.preamble.id)
    return writes, entities


def decode_one(writes: NativeWrites, data: bytes):
    """What the C decoder makes of one Update (as NativeWrites.prepare asks it)."""
    items, new_tables, undecoded = writes.native.decode(writes.layouts, data, [(0, len(data))])
    for table_id in new_tables:                 # an id no table has: no layout
        writes.add_table(table_id)
        items, new_tables, undecoded = writes.native.decode(writes.layouts, data,
                                                            [(0, len(data))])
        assert not new_tables
    assert undecoded == (items[0] is None)
    return items[0]


def check_against_codec(writes: NativeWrites, entities: Entities, data: bytes) -> None:
    """The oracle: the C decoder takes `data` only in protobuf's own spelling, and then returns
    exactly what the table's Python codec returns for it."""
    decoded = decode_one(writes, data)
    try:
        update = pb.Update.FromString(data)
        canonical = update.SerializeToString() == data
    except MALFORMED:
        canonical = False
    if not canonical:
        assert decoded is None
        return
    codec = (entities.codec(update.entity.table_entry.table_id)
             if update.entity.HasField("table_entry") else None)
    expected = None if codec is None else codec.decode(data)
    if expected is None:
        assert decoded is None
    else:
        assert decoded == (update.entity.table_entry.table_id, *expected)


def entry(p4info, table: str, match: dict, action: str | None = "set_port",
          params: dict | None = None, **fields) -> pb.Update:
    builder = EntityBuilder(p4info)
    te = builder.table_entry(table, match, action, params or {"port": 3},
                             priority=1 if table == "rules" else None)
    for name, value in fields.items():
        setattr(te, name, value)
    return pb.Update(type=pb.Update.INSERT, entity=pb.Entity(table_entry=te))


def with_field(data: bytes, path: list, number: int, value: int) -> bytes:
    """`data` with varint field `number` (value written out even if 0) in the nested message
    at `path` (field numbers), in field-number order."""
    fields = parse_fields(data)
    if path:
        at = next(f for f in fields if f[0] == path[0])
        at[2] = with_field(at[2], path[1:], number, value)
    else:
        fields.insert(sum(f[0] < number for f in fields), [number, 0, value])
    return encode(fields)


TABLE_ENTRY = [2, 2]        # Update.entity, Entity.table_entry


def refused_updates(p4info) -> dict:
    """Updates the C decoder must leave to the Python path: refused by the spec, or spelled
    otherwise than protobuf writes them."""
    route = {"hdr.ipv4.dstAddr": (0x0A000000, 8)}
    rule = {"hdr.ipv4.srcAddr": (0x0A000000, 0xFF000000), "meta.dport": (10, 20),
            "hdr.ethernet.etherType": 0x800}
    counted = {"action": "set_port_counted"}

    def ok_route(**fields):
        return entry(p4info, "routes", route, "forward", {"port": 1, "dstAddr": 2}, **fields)

    def ok_rule(**fields):
        return entry(p4info, "rules", rule, **counted, **{"priority": 5, **fields})

    def changed(update, field: int, kind: str, **values):
        """`update` with its field-th FieldMatch's `kind` part set to `values` (bytes)."""
        part = getattr(update.entity.table_entry.match[field], kind)
        for name, value in values.items():
            setattr(part, name, value)
        return update

    def default_only(update):
        action = update.entity.table_entry.action.action
        action.action_id = next(a.preamble.id for a in p4info.actions
                                if a.preamble.name == "NoAction")
        del action.params[:]
        return update

    cases = {
        "bits past the prefix": changed(ok_route(), 0, "lpm", value=b"\x0a\x00\x00\x01"),
        "value outside the mask": changed(ok_rule(), 0, "ternary", value=b"\x0a\x00\x00\x01"),
        "zero mask": changed(ok_rule(), 0, "ternary", value=b"\x00", mask=b"\x00"),
        "reversed range": changed(ok_rule(), 1, "range", low=b"\x14", high=b"\x0a"),
        "full range": changed(ok_rule(), 1, "range", low=b"\x00", high=b"\xff\xff"),
        "a value too wide": changed(ok_route(), 0, "lpm", value=b"\x01\x0a\x00\x00\x00"),
        "a value padded": changed(ok_rule(), 1, "range", low=b"\x00\x0a"),
        "no priority where one is needed": ok_rule(priority=0),
        "a priority where none is": entry(p4info, "macs", {"hdr.ethernet.dstAddr": 1},
                                          priority=4),
        "idle timeout on a table without": entry(p4info, "macs", {"hdr.ethernet.dstAddr": 1},
                                                 idle_timeout_ns=10**9),
        "a default-only action": default_only(ok_route()),
        "priority too big": ok_rule(priority=-2),
    }
    cases = {name: update.SerializeToString() for name, update in cases.items()}
    cases.update({
        "priority 0 written out": with_field(ok_route().SerializeToString(), TABLE_ENTRY, 4, 0),
        "controller_metadata 0 written out": with_field(ok_rule().SerializeToString(),
                                                        TABLE_ENTRY, 5, 0),
        "idle_timeout_ns 0 written out": with_field(ok_route().SerializeToString(),
                                                    TABLE_ENTRY, 9, 0),
        "is_default_action written out": with_field(ok_route().SerializeToString(),
                                                    TABLE_ENTRY, 8, 0),
        "update type 0 written out": with_field(ok_route().SerializeToString()[2:], [], 1, 0),
        "a long varint": encode(parse_fields(ok_route().SerializeToString()), ((0, "value"),)),
    })
    return cases


def test_the_c_decoder_leaves_what_it_must_not_take_to_python(native, program):
    writes, entities = native
    base = entry(program[1], "routes", {"hdr.ipv4.dstAddr": (0x0A000000, 8)}, "forward",
                 {"port": 1, "dstAddr": 2}).SerializeToString()
    assert decode_one(writes, base) is not None     # what each case changes is the cause
    for name, data in refused_updates(program[1]).items():
        assert decode_one(writes, data) is None, name
        check_against_codec(writes, entities, data)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_c_decoder_takes_what_the_python_codec_takes(native, program, data):
    writes, entities = native
    update = data.draw(updates(program[1]))
    check_against_codec(writes, entities, update.SerializeToString())


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_c_decoder_leaves_respelled_and_damaged_updates_to_protobuf(native, program, data):
    writes, entities = native
    serialized = data.draw(updates(program[1])).SerializeToString()
    for _ in range(data.draw(st.integers(1, 3))):
        serialized = data.draw(respelled(serialized))
    check_against_codec(writes, entities, serialized)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(max_size=200))
@example(raw=b"\x08\x01\x12\xff\xff\xff\xff\x0f")
@example(raw=b"\x08\x01\x12\x05\x12\x03\x08\xff\xff")
def test_the_c_decoder_survives_any_bytes(native, raw):
    writes, entities = native
    check_against_codec(writes, entities, raw)


@st.composite
def write_requests(draw, p4info) -> bytes:
    request = pb.WriteRequest(device_id=draw(st.integers(0, 3)), role=draw(st.sampled_from(
        ["", "", "guest"])), atomicity=draw(st.sampled_from([0, 0, 1, 2])))
    if draw(st.booleans()):
        request.election_id.low = draw(st.integers(1, 5))
    request.updates.extend(draw(st.lists(updates(p4info), max_size=5)))
    data = request.SerializeToString()
    return draw(respelled(data)) if draw(st.booleans()) else data


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_splitting_a_request_keeps_what_protobuf_reads(native, program, data):
    """split() gives the request without its Updates and where each Update lies, or None; what
    it gives reads, parsed again, as the whole request does."""
    writes, _ = native
    raw = data.draw(st.one_of(write_requests(program[1]), st.binary(max_size=120)))
    split = writes.native.split(raw)
    try:
        whole = pb.WriteRequest.FromString(raw)
    except MALFORMED:
        whole = None
    if split is None:
        return
    header, spans, stop = split
    assert stop == len(raw)
    assert all(0 <= start <= end <= len(raw) for start, end in spans)
    if whole is not None:
        rebuilt = pb.WriteRequest.FromString(header)
        rebuilt.updates.extend(pb.Update.FromString(raw[start:end]) for start, end in spans)
        assert rebuilt == whole
    # a piece at a time, as NativeWrites.split calls it: the same result
    limit = data.draw(st.integers(min_value=0, max_value=3))
    headers, pieces, position = [], [], 0
    while position < len(raw) or not headers:
        piece_header, found, position = writes.native.split(raw, position, limit or 1)
        headers.append(piece_header)
        pieces += found
    assert (b"".join(headers), pieces) == (header, spans)
    assert writes.split(raw) == (header, spans)


@st.composite
def one_update_requests(draw, p4info) -> bytes:
    """Requests of one Update in the default role, as protobuf writes them or respelled."""
    request = pb.WriteRequest(device_id=draw(st.integers(0, 2**64 - 1)),
                              updates=[draw(updates(p4info))])
    if draw(st.booleans()):
        request.election_id.high = draw(st.sampled_from([0, 1, 2**64 - 1]))
        request.election_id.low = draw(st.integers(0, 2**64 - 1))
    data = request.SerializeToString()
    return draw(respelled(data)) if draw(st.booleans()) else data


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_request_read_whole_is_read_as_protobuf_reads_it(native, program, data):
    """single() (the Write answered in place) takes a request only when protobuf reads it as one
    Update in the default role with CONTINUE_ON_ERROR, and then gives its device id, election
    id and that Update as decoded alone; it takes every such request whose other fields come
    first, each once and as protobuf writes them, and whose Update the decoder takes."""
    writes, _ = native
    raw = data.draw(st.one_of(one_update_requests(program[1]), write_requests(program[1]),
                              st.binary(max_size=120)))
    taken = writes.native.single(writes.layouts, raw)
    try:
        request = pb.WriteRequest.FromString(raw)
    except MALFORMED:
        assert taken is None
        return
    split = writes.split(raw)
    if (split is None or len(split[1]) != 1 or request.role or request.role_id
            or request.atomicity != pb.WriteRequest.CONTINUE_ON_ERROR):
        assert taken is None
        return
    header, [(start, end)] = split
    decoded = decode_one(writes, raw[start:end])
    if decoded is None:
        assert taken is None
        return
    election = ((request.election_id.high, request.election_id.low)
                if request.HasField("election_id") else None)
    canonical = pb.WriteRequest(device_id=request.device_id)
    if election is not None:
        canonical.election_id.high, canonical.election_id.low = election
    if header == canonical.SerializeToString() and raw.startswith(header) and end == len(raw):
        assert taken is not None
    if taken is not None:
        assert taken == (request.device_id, election, decoded)


def test_a_request_read_whole_has_nothing_beside_its_update(native, program):
    """Fields single() does not read (a role, an atomicity, a deprecated role id, an unknown
    field, a second Update) leave the request to the general path."""
    writes, _ = native
    update = entry(program[1], "routes", {"hdr.ipv4.dstAddr": (0x0A000000, 8)}, "forward",
                   {"port": 1, "dstAddr": 2})
    base = pb.WriteRequest(device_id=1, updates=[update])
    base.election_id.low = 7
    assert writes.native.single(writes.layouts, base.SerializeToString())[:2] == (1, (0, 7))
    others = [pb.WriteRequest(role="guest"), pb.WriteRequest(role_id=2),
              pb.WriteRequest(atomicity=pb.WriteRequest.ROLLBACK_ON_ERROR),
              pb.WriteRequest(updates=[update])]
    for other in others:
        request = pb.WriteRequest()
        request.CopyFrom(base)
        request.MergeFrom(other)
        assert writes.native.single(writes.layouts, request.SerializeToString()) is None, other
    unknown = base.SerializeToString() + encode([[9, 0, 1]])
    assert pb.WriteRequest.FromString(unknown).updates == base.updates
    assert writes.native.single(writes.layouts, unknown) is None


def test_a_tag_written_long_is_left_to_protobuf(native):
    """An Update's tag in two bytes (0xa2 0x00 for 0x22): upb reads an Update, pure-Python
    protobuf an unknown field, so split() takes neither side and gives the request up."""
    writes, _ = native
    update = pb.Update(type=pb.Update.INSERT)
    update.entity.table_entry.table_id = 1
    body = update.SerializeToString()
    assert writes.native.split(b"\x22" + bytes([len(body)]) + body) is not None
    assert writes.native.split(b"\xa2\x00" + bytes([len(body)]) + body) is None
    assert writes.split(b"\x22" + bytes([len(body)]) + body + b"\xa2\x00\x00") is None


def test_a_big_request_is_split_and_parsed_in_pieces_as_protobuf_reads_it(native, program):
    """Over PIECE_UPDATES Updates, split() and parse() work a piece at a time (packets get the
    interpreter in between): the same Updates, in order, as protobuf's parse of the whole."""
    writes, _ = native
    request = pb.WriteRequest(device_id=1, atomicity=pb.WriteRequest.ROLLBACK_ON_ERROR)
    request.election_id.low = 7
    for i in range(2 * PIECE_UPDATES + 17):
        update = request.updates.add(type=pb.Update.INSERT)
        update.entity.table_entry.table_id = i + 1
    raw = request.SerializeToString()
    header, spans = writes.split(raw)
    assert len(spans) == len(request.updates)
    assert pb.WriteRequest.FromString(header) == pb.WriteRequest(
        device_id=1, atomicity=pb.WriteRequest.ROLLBACK_ON_ERROR, election_id=request.election_id)
    assert writes.parse(raw, (header, spans)) == request
    with pytest.raises(P4RuntimeError) as refused:
        writes.parse(raw[:-3], writes.split(raw[:-3]))
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_insert_takes_only_decoded_inserts(native):
    """insert() stops at the first item it cannot take, whatever it is, without harm."""
    writes, _ = native
    errors = []
    junk = [None, 5, (), ("x",) * 7, (None,) * 7, (1, 1, (), None, None, None, b"")]
    for i in range(len(junk)):
        assert writes.native.insert(writes.targets, junk, i, len(junk), "", 0.0, errors) == i
    assert errors == []


def test_the_c_module_fills_every_slot_of_an_entry():
    """The C inserter writes MatchTable entries slot by slot; a slot it does not know would
    turn the inline insert off (NativeWrites.inline)."""
    assert NATIVE.require().entry_slots() == Entry.__slots__


# -- the switch without the native module, and while it builds ----------------------------------

def switch_with(workdir: Path, **env) -> LocalSwitch:
    """A switch with an empty native cache of its own and the given environment."""
    return LocalSwitch(None, workdir, name="switch",
                       env=environment(XDG_CACHE_HOME=str(workdir / "cache"), **env))


def routes_written_and_read(switch: LocalSwitch, workdir: Path, count: int = 300) -> None:
    """A batch of LPM routes and exact entries written; each reads back as written."""
    workdir.mkdir(parents=True, exist_ok=True)
    json_path, p4info_path = compile_p4(PROGRAM, workdir)
    builder = EntityBuilder(p4info_path)
    conn = Connection(switch.grpc_addr, election_id=(0, 1), timeout=60)
    try:
        conn.set_pipeline(p4info_path, json_path.read_bytes())
        routes = [builder.table_entry("routes", {"hdr.ipv4.dstAddr": (0x0A000000 + (i << 8), 24)},
                                      "forward", {"port": i % 7, "dstAddr": i})
                  for i in range(count)]
        macs = [builder.table_entry("macs", {"hdr.ethernet.dstAddr": i}, "set_port", {"port": 1})
                for i in range(count)]
        conn.insert(*routes, *macs)
        for written in (routes, macs):
            read = list(conn.read(pb.TableEntry(table_id=written[0].table_id)))
            assert [e.table_entry for e in read] == written
    finally:
        conn.close()


def test_without_a_compiler_the_python_codecs_serve(tmp_path):
    with switch_with(tmp_path, CC=str(tmp_path / "no-such-cc")) as switch:
        # one line per native module: the Write path and the gRPC front end
        wait_for(lambda: switch.log_path.read_text().count("unavailable (no C compiler") == 2,
                 "the switch to say it has no compiler")
        routes_written_and_read(switch, tmp_path)
        log = switch.log_path.read_text()
    assert log.count("unavailable") == 2 and "P4Runtime writes use the Python codecs" in log
    assert "P4Runtime is served through grpcio" in log
    assert "Traceback" not in log
    assert not list((tmp_path / "cache").glob("**/*.so"))


def test_a_failing_compiler_leaves_the_python_codecs_serving(tmp_path):
    with switch_with(tmp_path, CC="false") as switch:
        wait_for(lambda: "false failed" in switch.log_path.read_text(),
                 "the switch to report the failed build")
        routes_written_and_read(switch, tmp_path)
        assert "Traceback" not in switch.log_path.read_text()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc/PID/maps")
def test_the_first_start_builds_the_module_in_the_background(tmp_path):
    """The switch serves at once; the module it builds meanwhile is then loaded and used."""
    with switch_with(tmp_path) as switch:
        routes_written_and_read(switch, tmp_path / "before", count=50)
        maps = Path(f"/proc/{switch.process.pid}/maps")
        wait_for(lambda: "_p4nic_write_native" in maps.read_text(),
                 "the switch to load the module it builds")
        routes_written_and_read(switch, tmp_path / "after")
        # the gRPC front end was built meanwhile too, for the next start (test_grpc_front.py)
        built = tmp_path / "cache" / "p4nic" / FRONT.path().name
        wait_for(built.is_file, "the switch to build the gRPC front end")
        assert "unavailable" not in switch.log_path.read_text()
    assert sorted(p.name for p in (tmp_path / "cache" / "p4nic").iterdir()) == sorted(
        [NATIVE.path().name, FRONT.path().name])


def test_the_native_module_is_cached_per_source_and_python(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = NATIVE.path()
    assert path.parent == tmp_path / "p4nic"
    assert path.name.startswith("_p4nic_write_native-") and f"{sys.version_info[0]}" in path.name


def test_a_build_removes_what_a_stopped_build_left(monkeypatch, tmp_path):
    """A switch stopped while it built leaves its partial file; the next build removes it once
    no build can still be writing it, and leaves a fresh one alone."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = NATIVE.path()
    path.parent.mkdir(parents=True)
    abandoned, running = (path.parent / f"{path.name}{tag}.tmp" for tag in ("old", "new"))
    for partial in (abandoned, running):
        partial.write_bytes(b"")
    os.utime(abandoned, (time.time() - 3600, time.time() - 3600))
    assert NATIVE.build() == path and path.is_file()
    assert not abandoned.exists() and running.exists()
