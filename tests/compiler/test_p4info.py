"""P4Info back end: P4 programs in, P4Info messages out; ids recomputed here from p4c's rule
(resource prefix << 24 | Jenkins one-at-a-time hash of the name, or the @id)."""
from pathlib import Path

import pytest
from p4.config.v1 import p4info_pb2

from p4nic.compiler.errors import CompileError
from p4nic.compiler.p4info import build_p4info
from p4nic.compiler.parser import parse
from p4nic.compiler.preprocess import preprocess
from p4nic.compiler.typecheck import typecheck

PROGRAMS = Path(__file__).parent / "programs"


def one_at_a_time(name: str) -> int:
    h = 0
    for b in name.encode():
        h = (h + b) & 0xFFFFFFFF
        h = (h + (h << 10)) & 0xFFFFFFFF
        h ^= h >> 6
    h = (h + (h << 3)) & 0xFFFFFFFF
    h ^= h >> 11
    return (h + (h << 15)) & 0xFFFFFFFF


def expected_id(prefix: int, name: str) -> int:
    return prefix << 24 | one_at_a_time(name) & 0xFFFFFF


def p4info_of(path) -> p4info_pb2.P4Info:
    return build_p4info(typecheck(parse(preprocess(str(path)))))


def p4info_of_source(tmp_path, body: str) -> p4info_pb2.P4Info:
    path = tmp_path / "prog.p4"
    path.write_text("#include <core.p4>\n#include <v1model.p4>\n" + body)
    return p4info_of(path)


@pytest.fixture(scope="module")
def info():
    return p4info_of(PROGRAMS / "control_plane_objects.p4")


def by_name(entries, name):
    found = [e for e in entries if e.preamble.name == name]
    assert len(found) == 1, [e.preamble.name for e in entries]
    return found[0]


def test_tables_have_hash_ids_names_and_aliases(info):
    routes = by_name(info.tables, "MyIngress.routes")
    assert routes.preamble.id == expected_id(0x02, "MyIngress.routes")
    assert routes.preamble.alias == "routes"
    assert routes.preamble.doc.description == "Longest-prefix routes"
    assert routes.size == 2048
    assert routes.idle_timeout_behavior == p4info_pb2.Table.NOTIFY_CONTROL


def test_match_fields(info):
    routes = by_name(info.tables, "MyIngress.routes")
    [dst] = routes.match_fields
    assert (dst.id, dst.name, dst.bitwidth, dst.match_type) == (1, "dst_addr", 32,
                                                               p4info_pb2.MatchField.LPM)
    ecmp = by_name(info.tables, "MyIngress.ecmp")
    # the selector key is not shown but still takes id 2; isValid() keys are named $valid$
    assert [(f.id, f.name, f.bitwidth) for f in ecmp.match_fields] == [
        (1, "hdr.ipv4.dst", 32), (3, "hdr.ethernet.$valid$", 1)]
    ports = by_name(info.tables, "MyIngress.ports")
    assert [f.match_type for f in ports.match_fields] == [p4info_pb2.MatchField.RANGE,
                                                          p4info_pb2.MatchField.OPTIONAL]


def test_action_refs_scopes_and_default_actions(info):
    routes = by_name(info.tables, "MyIngress.routes")
    set_nexthop = expected_id(0x01, "MyIngress.set_nexthop")
    drop = expected_id(0x01, "MyIngress.drop")
    assert [(r.id, r.scope, list(r.annotations)) for r in routes.action_refs] == [
        (set_nexthop, p4info_pb2.ActionRef.TABLE_AND_DEFAULT, []),
        (drop, p4info_pb2.ActionRef.DEFAULT_ONLY, ["@defaultonly"])]
    assert routes.const_default_action_id == set_nexthop
    args = routes.initial_default_action.arguments
    assert [(a.param_id, a.value) for a in args] == [(1, bytes.fromhex("0a0b0c0d0e0f")),
                                                      (2, b"\x00\x03")]
    ecmp = by_name(info.tables, "MyIngress.ecmp")
    no_action = expected_id(0x01, "NoAction")
    assert no_action == 21257015
    assert ecmp.action_refs[-1].id == no_action          # added by the front end, default only
    assert ecmp.action_refs[-1].scope == p4info_pb2.ActionRef.DEFAULT_ONLY
    assert ecmp.action_refs[1].scope == p4info_pb2.ActionRef.TABLE_ONLY
    assert ecmp.initial_default_action.action_id == no_action
    assert not ecmp.const_default_action_id


def test_const_entries_mark_the_table(info):
    ports = by_name(info.tables, "MyIngress.ports")
    assert ports.is_const_table and ports.has_initial_entries
    assert not by_name(info.tables, "MyIngress.routes").is_const_table


def test_actions_params_ids_and_at_id(info):
    set_nexthop = by_name(info.actions, "MyIngress.set_nexthop")
    assert [(p.id, p.name, p.bitwidth) for p in set_nexthop.params] == [
        (1, "dmac", 48), (2, "out_port", 9)]
    set_port = by_name(info.actions, "MyIngress.set_port")
    assert set_port.preamble.id == 0x01000042                 # @id(0x42) gets the prefix
    [port] = set_port.params
    assert port.bitwidth == 32 and port.type_name.name == "port_t"   # translated width


def test_which_actions_and_tables_appear(info):
    actions = {a.preamble.name for a in info.actions}
    assert "MyIngress.count_and_meter" in actions        # called from apply: kept
    assert "MyIngress.decrement" in actions              # listed in a table
    assert "MyIngress.helper" not in actions             # only called from an action: inlined
    assert "MyIngress.never_used" not in actions         # its table is never applied
    assert "MyIngress.learn" in actions                  # in a @hidden table
    tables = {t.preamble.name for t in info.tables}
    assert "MyIngress.hidden_table" not in tables
    assert "MyIngress.unused_table" not in tables


def test_sub_control_instances_are_named_by_instance_path(info):
    names = {t.preamble.name: t.preamble.alias for t in info.tables}
    assert names["MyIngress.inner_filter.acl"] == "inner_filter.acl"
    assert names["MyIngress.outer_filter.acl"] == "outer_filter.acl"
    registers = {r.preamble.name: r for r in info.registers}
    assert set(registers) == {"MyIngress.inner_filter.hits", "MyIngress.outer_filter.hits"}
    hits = registers["MyIngress.inner_filter.hits"]
    assert hits.preamble.id == expected_id(0x16, "MyIngress.inner_filter.hits")
    assert hits.size == 64 and hits.type_spec.bitstring.bit.bitwidth == 32


def test_counters_meters_and_direct_resources(info):
    [counter] = info.counters
    assert (counter.preamble.name, counter.size, counter.spec.unit) == (
        "MyIngress.port_counter", 1024, p4info_pb2.CounterSpec.BOTH)
    [meter] = info.meters
    assert meter.spec.unit == p4info_pb2.MeterSpec.BYTES and meter.preamble.doc.brief
    routes = by_name(info.tables, "MyIngress.routes")
    [direct] = info.direct_counters
    assert direct.preamble.id == expected_id(0x13, "MyIngress.route_hits")
    assert list(routes.direct_resource_ids) == [direct.preamble.id]
    assert direct.direct_table_id == routes.preamble.id
    [direct_meter] = info.direct_meters
    assert direct_meter.preamble.name == "ports_meter"   # in-place: the property's @name
    assert direct_meter.direct_table_id == by_name(info.tables, "MyIngress.ports").preamble.id


def test_action_selector(info):
    [profile] = info.action_profiles
    ecmp = by_name(info.tables, "MyIngress.ecmp")
    assert profile.with_selector and profile.size == 128
    assert list(profile.table_ids) == [ecmp.preamble.id]
    assert ecmp.implementation_id == profile.preamble.id == expected_id(
        0x11, "MyIngress.ecmp_selector")


def test_digest_value_set_and_controller_headers(info):
    [digest] = info.digests
    assert digest.preamble.name == "learn_t" and digest.type_spec.struct.name == "learn_t"
    members = info.type_info.structs["learn_t"].members
    assert [(m.name, m.type_spec.bitstring.bit.bitwidth) for m in members] == [
        ("src", 48), ("port", 9)]
    [vs] = info.value_sets
    assert vs.preamble.name == "MyParser.tunnel_types" and vs.size == 4
    assert [(m.id, m.bitwidth) for m in vs.match] == [(1, 16)]
    packet_out = by_name(info.controller_packet_metadata, "packet_out")
    # id from the header type's name, fields numbered after the @id(3) one
    assert packet_out.preamble.id == expected_id(0x04, "packet_out_t")
    assert [(m.id, m.name) for m in packet_out.metadata] == [(3, "egress_port"), (2, "pad")]


def test_type_info(info):
    proto = info.type_info.serializable_enums["Proto"]
    assert proto.underlying_type.bitwidth == 8
    assert [(m.name, m.value) for m in proto.members] == [("TCP", b"\x06"), ("UDP", b"\x11")]
    port = info.type_info.new_types["port_t"]
    assert port.translated_type.uri == "example.org/port"
    assert port.translated_type.sdn_bitwidth == 32
    assert info.pkg_info.arch == "v1model"


def test_global_names_and_collisions(tmp_path):
    info = p4info_of_source(tmp_path, """
struct h_t {} struct m_t {}
parser P(packet_in p, out h_t h, inout m_t m, inout standard_metadata_t s) {
    state start { transition accept; } }
control Empty(inout h_t h, inout m_t m) { apply { } }
control I(inout h_t h, inout m_t m, inout standard_metadata_t s) {
    @name(".global_table") table t1 { actions = { NoAction; } }
    @name("renamed") table t2 { actions = { NoAction; } }
    apply { t1.apply(); t2.apply(); }
}
control E(inout h_t h, inout m_t m, inout standard_metadata_t s) { apply { } }
control D(packet_out p, in h_t h) { apply { } }
V1Switch(P(), Empty(), I(), E(), Empty(), D()) main;
""")
    names = sorted(t.preamble.name for t in info.tables)
    assert names == ["I.renamed", "global_table"]
    # an empty program part gets no type_info; a table makes p4c create it
    assert info.HasField("type_info")


def test_program_without_control_plane_objects_has_no_type_info(tmp_path):
    info = p4info_of_source(tmp_path, """
struct h_t {} struct m_t {}
parser P(packet_in p, out h_t h, inout m_t m, inout standard_metadata_t s) {
    state start { transition accept; } }
control C(inout h_t h, inout m_t m) { apply { } }
control I(inout h_t h, inout m_t m, inout standard_metadata_t s) { apply { } }
control D(packet_out p, in h_t h) { apply { } }
V1Switch(P(), C(), I(), I(), C(), D()) main;
""")
    assert not info.HasField("type_info") and not info.tables and not info.actions


def test_anonymous_in_place_extern_needs_a_name(tmp_path):
    with pytest.raises(CompileError, match="no name annotation"):
        p4info_of_source(tmp_path, """
struct h_t {} struct m_t {}
parser P(packet_in p, out h_t h, inout m_t m, inout standard_metadata_t s) {
    state start { transition accept; } }
control C(inout h_t h, inout m_t m) { apply { } }
control I(inout h_t h, inout m_t m, inout standard_metadata_t s) {
    table t { actions = { NoAction; } implementation = action_profile(32); }
    apply { t.apply(); }
}
control E(inout h_t h, inout m_t m, inout standard_metadata_t s) { apply { } }
control D(packet_out p, in h_t h) { apply { } }
V1Switch(P(), C(), I(), E(), C(), D()) main;
""")


def test_sizes_from_constructor_parameters_per_instance(tmp_path):
    info = p4info_of_source(tmp_path, """
struct h_t {} struct m_t { bit<8> k; }
parser P(packet_in p, out h_t h, inout m_t m, inout standard_metadata_t s) {
    state start { transition accept; } }
control C(inout h_t h, inout m_t m) { apply { } }
control Pool(inout m_t m)(bit<32> entries) {
    counter(entries * 2, CounterType.bytes) used;
    table slots { key = { m.k : exact; } actions = { NoAction; } size = entries; }
    apply { slots.apply(); }
}
control I(inout h_t h, inout m_t m, inout standard_metadata_t s) {
    Pool(16) small;
    Pool(entries = 256) large;
    apply { small.apply(m); large.apply(m); }
}
control D(packet_out p, in h_t h) { apply { } }
V1Switch(P(), C(), I(), I(), C(), D()) main;
""")
    sizes = {t.preamble.name: t.size for t in info.tables}
    assert sizes == {"I.small.slots": 16, "I.large.slots": 256}
    counters = {c.preamble.name: c.size for c in info.counters}
    assert counters == {"I.small.used": 32, "I.large.used": 512}


def test_action_called_directly_has_its_parameters_bound_at_the_call(tmp_path):
    """p4c's RemoveActionParameters makes every parameter of a directly called action a local:
    P4Info lists the action without parameters, unless a table lists it too (its copy comes
    first, in p4c's order)."""
    info = p4info_of_source(tmp_path, """
struct h_t {} struct m_t { bit<8> a; bit<8> b; }
parser P(packet_in p, out h_t h, inout m_t m, inout standard_metadata_t s) {
    state start { transition accept; } }
control C(inout h_t h, inout m_t m) { apply { } }
control I(inout h_t h, inout m_t m, inout standard_metadata_t s) {
    action set_b(bit<8> v) { m.b = v; }
    action to_port(inout standard_metadata_t std, bit<9> port) { std.egress_spec = port; }
    action set_a(bit<8> v) { m.a = v; }
    table t { key = { m.a : exact; } actions = { set_a; NoAction; } }
    apply { set_b(7); to_port(s, 2); set_a(3); t.apply(); }
}
control E(inout h_t h, inout m_t m, inout standard_metadata_t s) { apply { } }
control D(packet_out p, in h_t h) { apply { } }
V1Switch(P(), C(), I(), E(), C(), D()) main;
""")
    actions = {a.preamble.name: a for a in info.actions}
    assert not actions["I.set_b"].params and not actions["I.to_port"].params
    assert [(p.name, p.bitwidth) for p in actions["I.set_a"].params] == [("v", 8)]
    assert actions["I.set_b"].preamble.id == expected_id(0x01, "I.set_b")
