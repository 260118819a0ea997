"""Sub-controls instantiated more than once, or one instance applied from two places: every
instance has its own tables, actions and counters (P4Info, BMv2 JSON and on the NIC), as p4c's
inliner makes them; calls with differing arguments copy them in and out (p4c's temporaries)."""
import pytest

from p4nic.compiler.driver import compile_file
from p4nic.compiler.errors import CompileError
from tests.compiler.midend_harness import action_id, data_program, load

FIELDS = "bit<8> a; bit<8> b; bit<8> out1; bit<8> out2;"

COUNTING = """
control Count(in bit<8> k, inout bit<8> result, inout standard_metadata_t sm) {
    direct_counter(CounterType.packets) hits;
    direct_meter<bit<2>>(MeterType.packets) rate;
    counter(4, CounterType.packets) seen;
    register<bit<8>>(4) last;
    action set(bit<8> v) { result = v; seen.count(0); last.write(0, k); }
    action forward(bit<9> port) { sm.egress_spec = port; }
    table t {
        key = { k : exact; }
        actions = { set; forward; NoAction; }
        counters = hits;
        meters = rate;
        default_action = NoAction();
    }
    apply { t.apply(); }
}
"""


def compile_program(tmp_path, apply, locals_, extra=COUNTING):
    path = tmp_path / "prog.p4"
    path.write_text(data_program(FIELDS, apply, locals_, extra=extra))
    return compile_file(str(path))


@pytest.fixture
def two_instances(tmp_path):
    return compile_program(tmp_path, "c1.apply(hdr.d.a, hdr.d.out1, sm); "
                                     "c2.apply(hdr.d.b, hdr.d.out2, sm);",
                           "Count() c1; Count() c2;")


def test_each_instance_has_its_own_p4info_objects(two_instances):
    info = two_instances.p4info
    tables = {t.preamble.name: t for t in info.tables}
    direct = {c.preamble.name: c for c in info.direct_counters}
    meters = {m.preamble.name: m for m in info.direct_meters}
    assert sorted(tables) == ["I.c1.t", "I.c2.t"]
    assert sorted(direct) == ["I.c1.hits", "I.c2.hits"]
    assert sorted(meters) == ["I.c1.rate", "I.c2.rate"]
    for inst in ("c1", "c2"):
        table = tables[f"I.{inst}.t"]
        assert direct[f"I.{inst}.hits"].direct_table_id == table.preamble.id
        assert meters[f"I.{inst}.rate"].direct_table_id == table.preamble.id
        assert sorted(table.direct_resource_ids) == sorted(
            [direct[f"I.{inst}.hits"].preamble.id, meters[f"I.{inst}.rate"].preamble.id])
    assert sorted(c.preamble.name for c in info.counters) == ["I.c1.seen", "I.c2.seen"]
    assert sorted(r.preamble.name for r in info.registers) == ["I.c1.last", "I.c2.last"]
    assert {a.preamble.name for a in info.actions} >= {"I.c1.set", "I.c2.set",
                                                        "I.c1.forward", "I.c2.forward"}


def test_each_instance_has_its_own_bmv2_objects(two_instances):
    bmv2 = two_instances.bmv2_json
    arrays = {c["name"]: c for c in bmv2["counter_arrays"]}
    assert arrays["I.c1.hits"]["binding"] == "I.c1.t" and arrays["I.c1.hits"]["is_direct"]
    assert arrays["I.c2.hits"]["binding"] == "I.c2.t" and arrays["I.c2.hits"]["is_direct"]
    meters = {m["name"]: m for m in bmv2["meter_arrays"]}
    assert meters["I.c1.rate"]["binding"] == "I.c1.t"
    assert meters["I.c2.rate"]["binding"] == "I.c2.t"
    assert {"I.c1.last", "I.c2.last"} <= {r["name"] for r in bmv2["register_arrays"]}


def test_instances_count_separately_on_the_nic(two_instances):
    bmv2 = two_instances.bmv2_json
    dev = load(bmv2)
    t1, t2 = dev.state.tables["I.c1.t"], dev.state.tables["I.c2.t"]
    h1 = t1.add([(1,)], action_id(bmv2, "I.c1.set"), (0x11,))
    h2 = t2.add([(2,)], action_id(bmv2, "I.c2.set"), (0x22,))
    out = dev.process([(0, bytes([1, 2, 0, 0])), (0, bytes([1, 9, 0, 0])),
                       (0, bytes([7, 2, 0, 0]))])
    assert [p for _, p in out] == [bytes([1, 2, 0x11, 0x22]), bytes([1, 9, 0x11, 0]),
                                   bytes([7, 2, 0, 0x22])]
    assert t1.direct_counter(h1)[1] == 2 and t2.direct_counter(h2)[1] == 2
    assert dev.state.counters["I.c1.seen"].read(0)[1] == 2
    assert dev.state.counters["I.c2.seen"].read(0)[1] == 2
    assert dev.state.registers["I.c1.last"].read(0) == 1
    assert dev.state.registers["I.c2.last"].read(0) == 2


ROUTE = """
control Route(in bit<8> k, inout standard_metadata_t sm) {
    direct_counter(CounterType.packets) hits;
    action forward(bit<9> port) { sm.egress_spec = port; }
    action drop() { mark_to_drop(sm); }
    table t { key = { k : exact; } actions = { forward; drop; } default_action = drop();
              counters = hits; }
    apply { t.apply(); }
}
"""


def test_one_instance_applied_from_two_places_with_different_arguments(tmp_path):
    result = compile_program(tmp_path, "if (hdr.d.a == 0) { r.apply(hdr.d.b, sm); } "
                                       "else { r.apply(hdr.d.a, sm); }", "Route() r;",
                             extra=ROUTE)
    bmv2 = result.bmv2_json
    assert [t.preamble.name for t in result.p4info.tables] == ["I.r.t"]
    [table] = [t for p in bmv2["pipelines"] for t in p["tables"] if t["name"] == "I.r.t"]
    assert [k["target"] for k in table["key"]] == [["scalars", "k"]]  # the instance's variable
    dev = load(bmv2)
    t = dev.state.tables["I.r.t"]
    handle = t.add([(5,)], action_id(bmv2, "I.r.forward"), (3,))
    out = dev.process([(0, bytes([0, 5, 0, 0])), (0, bytes([5, 1, 0, 0])),
                       (0, bytes([0, 6, 0, 0])), (0, bytes([6, 5, 0, 0]))])
    assert [port for port, _ in out] == [3, 3]
    assert [p[:2] for _, p in out] == [bytes([0, 5]), bytes([5, 1])]
    assert t.direct_counter(handle)[1] == 2


SWAP = """
control Overwrite(inout bit<8> x, inout data_t d) {
    apply { d.out1 = 2; x = 1; }
}
"""


def test_overlapping_arguments_are_copied_in_and_out(tmp_path):
    """P4's copy-in/copy-out: `x` and `d` name overlapping storage; `d` is copied out last,
    so its `out1 = 2` wins although `x = 1` ran after it."""
    result = compile_program(tmp_path, "o.apply(hdr.d.out1, hdr.d);", "Overwrite() o;",
                             extra=SWAP)
    assert load(result.bmv2_json).process([(0, bytes(4))]) == [(0, bytes([0, 0, 2, 0]))]


def test_directionless_parameters_must_agree_between_calls(tmp_path):
    extra = "control Add(inout bit<8> x, bit<8> n) { apply { x = x + n; } }"
    with pytest.raises(CompileError, match="same value in every call of 'add'") as info:
        compile_program(tmp_path, "add.apply(hdr.d.a, 1); add.apply(hdr.d.b, 2);",
                        "Add() add;", extra=extra)
    assert info.value.loc.line > 0


SUBPARSER_PROGRAM = """
#include <core.p4>
#include <v1model.p4>
header byte_t { bit<8> v; }
struct headers { byte_t x; byte_t y; byte_t z; }
struct metadata { bit<8> special_seen; }
parser Byte(packet_in pkt, out byte_t b, inout metadata meta) {
    value_set<bit<8>>(4) special;
    state start { pkt.extract(b); transition select(b.v) { special: mark; default: accept; } }
    state mark { meta.special_seen = meta.special_seen + 1; transition accept; }
}
parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    Byte() first;
    Byte() second;
    state start {
        first.apply(pkt, hdr.x, meta);
        first.apply(pkt, hdr.y, meta);
        second.apply(pkt, hdr.z, meta);
        transition accept;
    }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply { hdr.z.v = meta.special_seen; }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def test_sub_parser_instances_have_their_own_value_sets(tmp_path):
    path = tmp_path / "subparsers.p4"
    path.write_text(SUBPARSER_PROGRAM)
    result = compile_file(str(path))
    assert sorted(v.preamble.name for v in result.p4info.value_sets) == [
        "P.first.special", "P.second.special"]
    dev = load(result.bmv2_json)
    dev.state.value_sets["P.first.special"].add(7)
    dev.state.value_sets["P.second.special"].add(9)
    # x=7 and y=7 go through `first` (both match), z=7 through `second` (no match)
    assert dev.process([(0, bytes([7, 7, 7]))]) == [(0, bytes([7, 7, 2]))]
    assert dev.process([(0, bytes([1, 7, 9]))]) == [(0, bytes([1, 7, 2]))]
