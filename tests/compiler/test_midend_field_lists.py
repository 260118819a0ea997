"""@field_list(...) on user metadata: the list index may be a literal, a named constant or a
serializable enum member (p4c folds them before its BMv2 back end reads the annotation); the
tagged fields survive resubmit on the NIC, the others start again from zero."""
from tests.compiler.midend_harness import compile_text, data_program, load

EXTRA = """
const bit<8> FL_RESUBMIT = 1;
enum bit<8> Lists { CLONE = 2 }
"""

META = """
    @field_list(FL_RESUBMIT, Lists.CLONE) bit<8> kept;
    @field_list(Lists.CLONE) bit<8> cloned_only;
    bit<8> lost;
"""

APPLY = """
    if (sm.instance_type == 0) {
        meta.kept = hdr.d.a;
        meta.cloned_only = hdr.d.a;
        meta.lost = hdr.d.a;
        resubmit_preserving_field_list(FL_RESUBMIT);
    } else {
        hdr.d.b = meta.kept;
        hdr.d.c = meta.cloned_only;
        hdr.d.e = meta.lost;
    }
"""


def test_named_constant_and_enum_member_index_field_lists(tmp_path):
    bmv2 = compile_text(tmp_path, data_program("bit<8> a; bit<8> b; bit<8> c; bit<8> e;", APPLY,
                                               meta=META, extra=EXTRA))
    lists = {fl["name"]: [e["value"][1] for e in fl["elements"]] for fl in bmv2["field_lists"]}
    assert lists["field_list1"] == ["userMetadata.kept"]
    out = load(bmv2).process([(3, bytes([0x2A, 0, 0, 0]))])
    # resubmitted: `kept` comes back, the fields outside list 1 are zero again
    assert out == [(0, bytes([0x2A, 0x2A, 0, 0]))]


def test_clone_list_from_enum_member(tmp_path):
    bmv2 = compile_text(tmp_path, data_program(
        "bit<8> a;", "clone_preserving_field_list(CloneType.I2E, 5, Lists.CLONE);",
        meta=META, extra=EXTRA))
    lists = {fl["name"]: [e["value"][1] for e in fl["elements"]] for fl in bmv2["field_lists"]}
    assert lists["field_list2"] == ["userMetadata.kept", "userMetadata.cloned_only"]
