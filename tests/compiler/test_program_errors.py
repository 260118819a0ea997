"""Errors only a whole v1model program shows (P4Info names, v1model and BMv2 limits), each
located at file:line:column with a caret, as p4c reports them."""
import pytest

from p4nic.compiler.driver import compile_file
from p4nic.compiler.errors import CompileError
from tests.compiler.midend_harness import data_program


def compile_text(tmp_path, text):
    path = tmp_path / "prog.p4"
    path.write_text(text)
    return compile_file(str(path))


def located(error: CompileError, text: str, fragment: str) -> None:
    """The error's caret line points into `text` at a line holding `fragment`."""
    line = text.split("\n")[error.loc.line - 1]
    assert fragment in line
    assert str(error).split("\n")[1:] == [line, " " * (error.loc.column - 1) + "^"]


def test_two_actions_with_one_control_plane_name(tmp_path):
    text = data_program("bit<8> a;", "t1.apply(); t2.apply();", """
        @name(".shared") action first() { hdr.d.a = 1; }
        @name(".shared") action second() { hdr.d.a = 2; }
        table t1 { actions = { first; } default_action = first(); }
        table t2 { actions = { second; } default_action = second(); }""")
    with pytest.raises(CompileError, match="'shared': conflicting control plane name") as info:
        compile_text(tmp_path, text)
    located(info.value, text, "action second()")


def test_two_tables_with_one_name(tmp_path):
    text = data_program("bit<8> a;", "s1.apply(hdr.d.a); s2.apply(hdr.d.a);",
                        "Sub() s1; Sub() s2;", extra="""
control Sub(inout bit<8> v) {
    @name(".only_one") table t { key = { v : exact; } actions = { NoAction; } }
    apply { t.apply(); }
}""")
    with pytest.raises(CompileError, match="'only_one' is used for multiple table objects"):
        compile_text(tmp_path, text)


@pytest.mark.parametrize("version, message", [
    ("20000101", "20000101: unknown v1model version"),
    ("-5", "expected the v1model version to be a non-negative number")])
def test_v1model_version_must_be_one_p4c_knows(tmp_path, version, message):
    text = f"#define V1MODEL_VERSION {version}\n" + data_program("bit<8> a;", "")
    with pytest.raises(CompileError, match=message) as info:
        compile_text(tmp_path, text)
    assert info.value.loc.file.endswith("v1model.p4")


def test_register_of_a_struct_cannot_be_read_on_bmv2(tmp_path):
    text = data_program("bit<8> a;", "regs.read(meta.pair, 0); hdr.d.a = meta.pair.x;",
                        "register<pair_t>(4) regs;", meta="pair_t pair;",
                        extra="struct pair_t { bit<8> x; bit<8> y; }")
    with pytest.raises(CompileError, match="register.read into a structure") as info:
        compile_text(tmp_path, text)
    located(info.value, text, "regs.read(meta.pair, 0)")


def test_counters_property_names_a_direct_counter(tmp_path):
    text = data_program("bit<8> a;", "t.apply();", """
        direct_meter<bit<2>>(MeterType.packets) rate;
        table t { key = { hdr.d.a : exact; } actions = { NoAction; } counters = rate; }""")
    with pytest.raises(CompileError, match="'counters' of table 'I.t' must be a "
                                           "direct_counter, not a direct_meter") as info:
        compile_text(tmp_path, text)
    located(info.value, text, "counters = rate")


def test_bmv2_limits_on_tables(tmp_path):
    """What p4c's BMv2 back end refuses, as BMv2 cannot hold it: two lpm keys in one table,
    and one action selector fed different selector keys by two tables."""
    text = data_program("bit<8> a; bit<8> b;", "t.apply();", """
        table t { key = { hdr.d.a : lpm; hdr.d.b : lpm; } actions = { NoAction; } }""")
    with pytest.raises(CompileError, match="more than one lpm key"):
        compile_text(tmp_path, text)
    text = data_program("bit<8> a; bit<8> b;", "t1.apply(); t2.apply();", """
        action_selector(HashAlgorithm.crc16, 32w64, 32w14) sel;
        table t1 { key = { hdr.d.a : exact; hdr.d.a : selector; hdr.d.b : selector; }
                   actions = { NoAction; } implementation = sel; }
        table t2 { key = { hdr.d.b : exact; hdr.d.b : selector; hdr.d.a : selector; }
                   actions = { NoAction; } implementation = sel; }""")
    with pytest.raises(CompileError, match="selector keys differ") as info:
        compile_text(tmp_path, text)
    located(info.value, text, "implementation = sel")
