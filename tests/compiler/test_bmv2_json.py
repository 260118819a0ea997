"""The BMv2 JSON back end: the document's shape (BMv2 docs/JSON_format.md), names that match
the P4Info, and every program of the repo loading in the NIC."""
from pathlib import Path

import pytest

from p4nic.compiler.driver import compile_file
from tests.compiler.midend_harness import compile_text, data_program, load

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = sorted((ROOT / "tests" / "compiler" / "programs").glob("*.p4")) + sorted(
    (ROOT / "p4src").glob("*.p4"))

SECTIONS = ["header_types", "headers", "header_stacks", "header_union_types", "header_unions",
            "header_union_stacks", "field_lists", "errors", "enums", "parsers", "parse_vsets",
            "deparsers", "meter_arrays", "counter_arrays", "register_arrays", "calculations",
            "learn_lists", "actions", "pipelines", "checksums", "extern_instances",
            "field_aliases", "program", "__meta__"]


@pytest.fixture(scope="module", params=PROGRAMS, ids=lambda p: p.name)
def compiled(request):
    return compile_file(str(request.param), include_dirs=[str(ROOT / "p4src")])


def test_every_program_loads_in_the_nic(compiled):
    dev = load(compiled.bmv2_json)
    assert dev.state.tables is not None


def test_document_shape(compiled):
    j = compiled.bmv2_json
    assert all(s in j for s in SECTIONS)
    assert j["__meta__"]["version"] == [2, 23]
    assert [p["name"] for p in j["pipelines"]] == ["ingress", "egress"]
    assert j["parsers"][0]["name"] == "parser" and j["deparsers"][0]["name"] == "deparser"
    assert j["errors"][0] == ["NoError", 0]
    assert j["headers"][0]["name"] == "scalars"
    assert any(h["name"] == "standard_metadata" for h in j["headers"])
    for kind in ("header_types", "headers", "actions", "counter_arrays", "meter_arrays",
                 "register_arrays", "calculations"):
        ids = [x["id"] for x in j[kind]]
        assert len(ids) == len(set(ids)), kind
    for t in (t for p in j["pipelines"] for t in p["tables"]):
        assert set(t["next_tables"]) in ({"__HIT__", "__MISS__"}, set(t["actions"]))
        if t["type"] == "simple":
            assert "default_entry" in t


def test_control_plane_names_match_p4info(compiled):
    j, info = compiled.bmv2_json, compiled.p4info
    tables = {t["name"] for p in j["pipelines"] for t in p["tables"]}
    assert {t.preamble.name for t in info.tables} <= tables
    assert {a.preamble.name for a in info.actions} <= {a["name"] for a in j["actions"]}
    arrays = {x["name"] for k in ("counter_arrays", "meter_arrays", "register_arrays")
              for x in j[k]}
    for group in (info.counters, info.direct_counters, info.meters, info.direct_meters,
                  info.registers):
        assert {x.preamble.name for x in group} <= arrays
    profiles = {a["name"] for p in j["pipelines"] for a in p["action_profiles"]}
    assert {a.preamble.name for a in info.action_profiles} <= profiles
    for t in info.tables:
        jt = next(x for p in j["pipelines"] for x in p["tables"] if x["name"] == t.preamble.name)
        assert [m.name for m in t.match_fields] == [k["name"] for k in jt["key"]
                                                    if k["match_type"] != "selector"]


def test_direct_calls_keep_action_names_and_unused_profiles_are_listed(tmp_path):
    locals_ = """
        action_selector(HashAlgorithm.crc16, 32w64, 32w14) sel;
        action set_out(out bit<8> r, bit<8> v) { r = v; }
    """
    j = compile_text(tmp_path, data_program("bit<8> a; bit<8> b;", "set_out(hdr.d.b, 7);",
                                            locals_))
    assert "I.set_out" in {a["name"] for a in j["actions"]}
    assert [p["name"] for p in j["pipelines"][0]["action_profiles"]] == ["I.sel"]
    [(_, out)] = load(j).process([(0, bytes([1, 2]))])
    assert out == bytes([1, 7])


def test_externs_become_arrays_calculations_and_lists(tmp_path):
    locals_ = """
        counter(16, CounterType.packets) hits;
        register<bit<16>>(8) last;
        meter(4, MeterType.bytes) rate;
        action note() {
            hits.count((bit<32>)hdr.d.a);
            last.write((bit<32>)hdr.d.a, hdr.d.w);
            last.read(hdr.d.w, 0);
            rate.execute_meter((bit<32>)hdr.d.a, hdr.d.c);
            hash(hdr.d.h, HashAlgorithm.crc16, 16w0, { hdr.d.a, hdr.d.w }, 32w65536);
            digest<learn_t>(1, { hdr.d.a, hdr.d.w });
            clone_preserving_field_list(CloneType.I2E, 5, 1);
        }
    """
    extra = "struct learn_t { bit<8> a; bit<16> w; }"
    j = compile_text(tmp_path, data_program(
        "bit<8> a; bit<16> w; bit<8> c; bit<16> h;", "note();", locals_,
        meta="@field_list(1) bit<8> keep; bit<8> other;", extra=extra))
    assert [(c["name"], c["size"]) for c in j["counter_arrays"]] == [("I.hits", 16)]
    assert [(r["name"], r["bitwidth"]) for r in j["register_arrays"]] == [("I.last", 16)]
    assert j["meter_arrays"][0]["type"] == "bytes"
    assert j["calculations"][0]["algo"] == "crc16"
    assert j["learn_lists"][0]["name"] == "learn_t"
    keep = [fl for fl in j["field_lists"] if fl["name"] == "field_list1"]
    assert len(keep) == 1 and len(keep[0]["elements"]) == 1
    ops = [p["op"] for a in j["actions"] for p in a["primitives"]]
    for op in ("count", "register_write", "register_read", "execute_meter",
               "modify_field_with_hash_based_offset", "generate_digest",
               "clone_ingress_pkt_to_egress"):
        assert op in ops
    dev = load(j)
    digests = []
    dev.on_digest = lambda list_id, name, samples: digests.append((name, samples))
    [(_, out)] = dev.process([(0, bytes([3, 0x12, 0x34, 0, 0, 0]))])
    assert dev.state.counters["I.hits"].read(3)[1] == 1
    assert dev.state.registers["I.last"].read(3) == 0x1234
    assert digests and digests[0][0] == "learn_t"


@pytest.mark.parametrize("fields, apply, message", [
    ("bit<8> a; bit<8> b;", "update_checksum(true, { hdr.d.a }, hdr.d.b, HashAlgorithm.csum16);",
     "checksum controls"),
    ("bit<8> a; bit<3> b;", "", "not a whole number of bytes"),
])
def test_unsupported_construct_is_a_located_error(tmp_path, fields, apply, message):
    from p4nic.compiler.errors import CompileError
    with pytest.raises(CompileError) as e:
        compile_text(tmp_path, data_program(fields, apply), "bad.p4")
    assert "bad.p4:" in str(e.value) and "^" in str(e.value)
    assert message in str(e.value)
