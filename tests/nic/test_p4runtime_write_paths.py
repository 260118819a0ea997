"""The P4Runtime server writes table entries three ways: the native path decodes a request's
wire bytes and inserts in C (nic/p4runtime/write_native.c), a table's Python codec serves the
common, canonical update (nic/p4runtime/codecs.py), the general path everything else, errors
included. All must accept the same updates, answer the same errors and store the same entries.

Three switches: one with the native module (built here first, so it loads at start-up), one
with native code off (`P4NIC_NATIVE=0`: the Python codecs), and one that logs its control plane
(`--log-file`, level info), which writes every update the general way. Random batches of valid,
non-canonical and broken updates go to all three, and their answers and Reads must agree."""
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from p4nic.nic.p4runtime.native_writes import NATIVE
from p4nic.proto import p4runtime_pb2 as pb
from p4nic.runtime.connection import Connection, WriteError
from p4nic.runtime.local_switch import LocalSwitch, compile_p4
from p4nic.runtime.p4info import load_p4info

from p4rt_client import PROGRAMS, maps
from update_strategies import updates
from wire_mutations import respelled

pytestmark = pytest.mark.p4runtime

PROGRAM = PROGRAMS / "p4rt_match_kinds.p4"


@pytest.fixture(scope="module")
def switches(tmp_path_factory):
    NATIVE.require()            # the native switch finds it built and loads it at start-up
    workdir = tmp_path_factory.mktemp("write-paths")
    json_path, p4info_path = compile_p4(PROGRAM, workdir)
    config = json_path.read_bytes()
    started, connections = [], []
    try:
        for name, args, env in (
                ("native", (), None),
                ("codec", (), {**os.environ, "P4NIC_NATIVE": "0"}),
                ("general", ("--log-file", str(workdir / "general.log"), "-L", "info"), None)):
            switch = LocalSwitch(None, workdir / name, switch_args=args, name=name, env=env)
            started.append(switch)
            connections.append(Connection(switch.grpc_addr, election_id=(0, 1), timeout=60))
        if Path("/proc/self/maps").exists():
            assert maps(started[0].process.pid, NATIVE.path())
            assert not maps(started[1].process.pid, NATIVE.path())
        yield connections, load_p4info(p4info_path), config
    finally:
        for conn in connections:
            conn.close()
        for switch in started:
            switch.stop()


def outcome(conn: Connection, batch) -> tuple:
    """The Write's status and per-update errors; `batch` is Updates, or (type, serialized
    Entity) pairs."""
    try:
        if batch and isinstance(batch[0], tuple):
            conn.write_serialized(batch)
        else:
            conn.write(batch)
    except WriteError as exc:
        return exc.code, exc.errors
    return None, []


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
    same_everywhere(connections, p4info, config, batches)


def same_everywhere(connections, p4info, config, batches) -> None:
    """The batches, written to a fresh pipeline on each switch, get the same answers and leave
    the same entries."""
    for conn in connections:
        conn.set_pipeline(p4info, config)
    for batch in batches:
        native, codec, general = (outcome(conn, batch) for conn in connections)
        assert native == codec == general
    native, codec, general = (contents(conn, p4info) for conn in connections)
    assert native == codec == general


def test_a_full_table_refuses_the_same_updates(switches):
    connections, p4info, config = switches
    neighbours = next(t for t in p4info.tables if t.preamble.name.endswith(".neighbours"))
    forward = next(a for a in p4info.actions if a.preamble.name.endswith(".forward"))
    batch = []
    for i in range(neighbours.size + 2):
        te = pb.TableEntry(table_id=neighbours.preamble.id)
        te.match.add(field_id=1, exact=pb.FieldMatch.Exact(value=b"\x01"))
        te.match.add(field_id=2, exact=pb.FieldMatch.Exact(value=bytes([i + 1])))
        te.action.action.action_id = forward.preamble.id
        te.action.action.params.add(param_id=1, value=b"\x02")
        te.action.action.params.add(param_id=2, value=b"\x03")
        batch.append(pb.Update(type=pb.Update.INSERT, entity=pb.Entity(table_entry=te)))
    same_everywhere(connections, p4info, config, [batch])
    _, errors = outcome(connections[0], batch)      # again: now every one is refused
    assert [code for _, code, _ in errors] == ["ALREADY_EXISTS"] * neighbours.size + [
        "RESOURCE_EXHAUSTED"] * 2


@st.composite
def respelled_updates(draw, p4info):
    """An update as (type, serialized Entity), its Entity often spelled the way protobuf would
    not write it, or damaged."""
    update = draw(updates(p4info))
    entity = update.entity.SerializeToString()
    if draw(st.integers(0, 3)):
        entity = draw(respelled(entity))
    return update.type, entity


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_updates_spelled_otherwise_are_read_as_protobuf_reads_them(switches, data):
    """The native path takes only the canonical spelling of an Update; any other (long varints,
    fields out of order, defaults written out, unknown or repeated fields) or a damaged one is
    left to protobuf, so the answer and what is stored are the same on every path."""
    connections, p4info, config = switches
    batches = data.draw(st.lists(st.lists(respelled_updates(p4info), min_size=1, max_size=12),
                                 min_size=1, max_size=3))
    same_everywhere(connections, p4info, config, batches)


def test_a_canonical_entry_reads_back_as_written(switches):
    """What the codec path stores is what Read returns, byte for byte (spec: a Read returns
    entities as written, in canonical form)."""
    connections, p4info, config = switches
    routes = next(t for t in p4info.tables if t.preamble.name.endswith(".routes"))
    forward = next(a for a in p4info.actions if a.preamble.name.endswith(".forward"))
    te = pb.TableEntry(table_id=routes.preamble.id, controller_metadata=9, metadata=b"m",
                       idle_timeout_ns=5 * 10**9)
    te.match.add(field_id=routes.match_fields[0].id, lpm=pb.FieldMatch.LPM(
        value=bytes([10, 1, 0, 0]), prefix_len=16))
    te.action.action.action_id = forward.preamble.id
    te.action.action.params.add(param_id=forward.params[0].id, value=b"\x01\x02")
    te.action.action.params.add(param_id=forward.params[1].id, value=b"\x0a\x0b\x0c")
    for conn in connections:
        conn.set_pipeline(p4info, config)
        conn.insert(te)
        (read,) = conn.read(pb.TableEntry(table_id=routes.preamble.id))
        assert read.table_entry == te
