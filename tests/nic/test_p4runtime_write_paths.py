"""The P4Runtime server writes table entries two ways: a table's codec serves the common,
canonical update (nic/p4runtime/codecs.py), the general path everything else, errors included.
Both must accept the same updates, answer the same errors and store the same entries.

A switch that logs its control plane (`--log-file`, level info) writes every update the
general way; random batches of valid, non-canonical and broken updates go to it and to a plain
switch, and their answers and Reads must agree."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from p4nic.proto import p4info_pb2
from p4nic.proto import p4runtime_pb2 as pb
from p4nic.runtime.connection import Connection, WriteError
from p4nic.runtime.local_switch import LocalSwitch, compile_p4
from p4nic.runtime.p4info import load_p4info

from p4rt_client import PROGRAMS

pytestmark = pytest.mark.p4runtime

PROGRAM = PROGRAMS / "p4rt_match_kinds.p4"


@pytest.fixture(scope="module")
def switches(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("write-paths")
    json_path, p4info_path = compile_p4(PROGRAM, workdir)
    config = json_path.read_bytes()
    started, connections = [], []
    try:
        for name, args in (("codec", ()), ("general", ("--log-file", str(workdir / "general.log"),
                                                        "-L", "info"))):
            switch = LocalSwitch(None, workdir / name, switch_args=args, name=name)
            started.append(switch)
            connections.append(Connection(switch.grpc_addr, election_id=(0, 1), timeout=60))
        yield connections, load_p4info(p4info_path), config
    finally:
        for conn in connections:
            conn.close()
        for switch in started:
            switch.stop()


def number(width: int):
    """A value of a `width`-bit field, from a small pool (so that keys collide) or anywhere."""
    return st.one_of(st.sampled_from([0, 1, 2, 0x80 % (1 << width), (1 << width) - 1]),
                     st.integers(0, (1 << width) - 1))


@st.composite
def bytestring(draw, value: int, width: int):
    """`value` as a bytestring: canonical mostly; else padded with a zero byte, empty, or
    replaced by a value too wide for the field."""
    flaw = draw(st.sampled_from(["none"] * 37 + ["padded", "empty", "too wide"]))
    if flaw == "empty":
        return b""
    if flaw == "too wide":
        value = 1 << width
    data = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    return b"\0" + data if flaw == "padded" else data


KINDS = {p4info_pb2.MatchField.EXACT: "exact", p4info_pb2.MatchField.LPM: "lpm",
         p4info_pb2.MatchField.TERNARY: "ternary", p4info_pb2.MatchField.RANGE: "range",
         p4info_pb2.MatchField.OPTIONAL: "optional"}


@st.composite
def field_match(draw, field):
    """A FieldMatch of `field`: a valid one of its kind mostly; sometimes one the spec
    refuses (another kind, a don't-care, bits outside the prefix or mask, a reversed range)."""
    width = field.bitwidth
    kind = KINDS[field.match_type]
    if draw(st.integers(0, 30)) == 30:
        kind = draw(st.sampled_from(sorted(KINDS.values())))
    odd = draw(st.integers(0, 12)) == 12
    fm = pb.FieldMatch(field_id=field.id)
    value = draw(number(width))
    if kind == "exact":
        fm.exact.value = draw(bytestring(value, width))
    elif kind == "optional":
        fm.optional.value = draw(bytestring(value, width))
    elif kind == "lpm":
        plen = min(width, draw(st.sampled_from([width, width, 8, 16, 1])))
        if odd:
            plen = draw(st.sampled_from([0, width + 1, -1]))
        else:
            value &= ((1 << width) - 1) ^ ((1 << (width - plen)) - 1)
        fm.lpm.value = draw(bytestring(value, width))
        fm.lpm.prefix_len = plen
    elif kind == "ternary":
        mask = draw(number(width)) if not odd else 0
        fm.ternary.value = draw(bytestring(value if odd else value & mask, width))
        fm.ternary.mask = draw(bytestring(mask, width))
    else:
        low, high = sorted([value, draw(number(width))], reverse=odd)
        if (low, high) == (0, (1 << width) - 1) and not odd:
            high -= 1
        fm.range.low = draw(bytestring(low, width))
        fm.range.high = draw(bytestring(high, width))
    return fm


@st.composite
def updates(draw, p4info):
    """An Update of one of the program's tables: mostly a valid, canonical one."""
    actions = {a.preamble.id: a for a in p4info.actions}
    table = draw(st.sampled_from(list(p4info.tables)))
    rare = st.integers(0, 39).map(lambda n: n == 39)   # hypothesis favours 0
    te = pb.TableEntry(table_id=table.preamble.id)
    fields = [draw(field_match(f)) for f in table.match_fields   # some left out, exact rarely
              if f.match_type != p4info_pb2.MatchField.EXACT and draw(st.booleans())
              or not draw(rare)]
    if draw(rare):
        fields.reverse()
    if fields and draw(rare):
        fields.append(fields[0])
    te.match.extend(fields)
    ternary = table.match_fields[0].match_type == p4info_pb2.MatchField.TERNARY
    te.priority = draw(st.sampled_from([1, 7, 7, 100]) if ternary else st.just(0))
    if draw(rare):
        te.priority = draw(st.sampled_from([0, -3, 5]))
    if not draw(rare):
        refs = [r.id for r in table.action_refs]
        action = actions[draw(st.sampled_from(refs))]
        if draw(rare):
            action = draw(st.sampled_from(list(actions.values())))
        te.action.action.action_id = action.preamble.id
        params = [pb.Action.Param(param_id=p.id, value=draw(bytestring(
            draw(number(p.bitwidth)), p.bitwidth))) for p in action.params if not draw(rare)]
        if draw(rare):
            params.reverse()
        te.action.action.params.extend(params)
    if table.idle_timeout_behavior or draw(rare):
        te.idle_timeout_ns = draw(st.sampled_from([0, 10**12, 5 * 10**9]))
    if draw(rare):
        te.idle_timeout_ns = -1
    te.controller_metadata = draw(st.sampled_from([0, 0, 5]))
    te.metadata = draw(st.sampled_from([b"", b"", b"note"]))
    if draw(rare):
        te.counter_data.packet_count = 3
    if draw(rare):
        te.is_const = True
    kind = draw(st.sampled_from([pb.Update.INSERT] * 6 + [pb.Update.MODIFY, pb.Update.DELETE]))
    if draw(rare):
        kind = pb.Update.UNSPECIFIED
    return pb.Update(type=kind, entity=pb.Entity(table_entry=te))


def outcome(conn: Connection, batch) -> list:
    try:
        conn.write(batch)
    except WriteError as exc:
        return exc.errors
    return []


def contents(conn: Connection, p4info) -> list:
    """Every entry of every table, plain and with its direct counter, in the server's order."""
    everything = []
    for table in p4info.tables:
        for counters in (False, True):
            query = pb.TableEntry(table_id=table.preamble.id)
            if counters:
                query.counter_data.SetInParent()
            everything.append([e.SerializeToString() for e in conn.read(query)])
    return everything


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_both_write_paths_accept_the_same_entries_and_store_them_alike(switches, data):
    connections, p4info, config = switches
    batches = data.draw(st.lists(st.lists(updates(p4info), min_size=1, max_size=25),
                                 min_size=1, max_size=3))
    for conn in connections:
        conn.set_pipeline(p4info, config)
    for batch in batches:
        codec, general = (outcome(conn, batch) for conn in connections)
        assert codec == general
    codec, general = (contents(conn, p4info) for conn in connections)
    assert codec == general


def test_a_canonical_entry_reads_back_as_written(switches):
    """What the codec path stores is what Read returns, byte for byte (spec: a Read returns
    entities as written, in canonical form)."""
    (conn, _), p4info, config = switches
    conn.set_pipeline(p4info, config)
    routes = next(t for t in p4info.tables if t.preamble.name.endswith(".routes"))
    forward = next(a for a in p4info.actions if a.preamble.name.endswith(".forward"))
    te = pb.TableEntry(table_id=routes.preamble.id, controller_metadata=9, metadata=b"m",
                       idle_timeout_ns=5 * 10**9)
    te.match.add(field_id=routes.match_fields[0].id, lpm=pb.FieldMatch.LPM(
        value=bytes([10, 1, 0, 0]), prefix_len=16))
    te.action.action.action_id = forward.preamble.id
    te.action.action.params.add(param_id=forward.params[0].id, value=b"\x01\x02")
    te.action.action.params.add(param_id=forward.params[1].id, value=b"\x0a\x0b\x0c")
    conn.insert(te)
    (read,) = conn.read(pb.TableEntry(table_id=routes.preamble.id))
    assert read.table_entry == te
