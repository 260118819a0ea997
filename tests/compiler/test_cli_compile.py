"""`p4nic compile` run as a process, the way build scripts and users run it."""
import json
import subprocess
import sys
from pathlib import Path

from p4.config.v1 import p4info_pb2
from google.protobuf import json_format, text_format

PROGRAMS = Path(__file__).parent / "programs"
ERRORS = Path(__file__).parent / "errors"


def p4nic_compile(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "p4nic.cli", "compile", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def test_writes_bmv2_json_and_p4info_in_every_format(tmp_path):
    out = tmp_path / "router.json"
    infos = [tmp_path / "router.p4info.txtpb", tmp_path / "router.p4info.json",
             tmp_path / "router.p4info.bin"]
    run = p4nic_compile(PROGRAMS / "basic_router.p4", "-o", out, "--p4runtime-files",
                        ",".join(map(str, infos)), "--std", "p4-16", "--arch", "v1model",
                        "--target", "bmv2", "--emit-externs", "--Wdisable=unused")
    assert run.returncode == 0, run.stderr
    assert "pipelines" in json.loads(out.read_text())
    text = text_format.Parse(infos[0].read_text(), p4info_pb2.P4Info())
    from_json = json_format.Parse(infos[1].read_text(), p4info_pb2.P4Info())
    from_bin = p4info_pb2.P4Info.FromString(infos[2].read_bytes())
    assert text == from_json == from_bin
    assert [t.preamble.name for t in text.tables] == ["RouterIngress.ipv4_lpm"]


def test_default_output_name_is_the_source_name_with_json(tmp_path):
    run = p4nic_compile(PROGRAMS / "basic_router.p4", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "basic_router.json").is_file()


def test_syntax_error_exits_1_with_located_message_and_no_traceback(tmp_path):
    bad = ERRORS / "missing_semicolon.p4"
    run = p4nic_compile(bad, "-o", tmp_path / "x.json")
    assert run.returncode == 1
    assert run.stderr.startswith(f"{bad}:3:13: error: syntax error: missing ';' after 'a'")
    assert "    bit<8> a\n            ^" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "x.json").exists()


def test_preprocessor_error_and_defines_reach_the_preprocessor(tmp_path):
    src = tmp_path / "needs_flag.p4"
    src.write_text("#ifndef FLAG\n#error build with -DFLAG\n#endif\nconst bit<8> X = FLAG;\n")
    run = p4nic_compile(src, "-E")
    assert run.returncode == 1 and f"{src}:2:1: error: #error build with -DFLAG" in run.stderr
    run = p4nic_compile(src, "-E", "-DFLAG=7")
    assert run.returncode == 0 and "const bit<8> X = 7;" in run.stdout


def test_include_dir_flag(tmp_path):
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "consts.p4").write_text("const bit<8> FROM_INC = 1;\n")
    src = tmp_path / "main.p4"
    src.write_text("#include <consts.p4>\n")
    run = p4nic_compile(src, "-E", "-I", tmp_path / "inc")
    assert run.returncode == 0 and "FROM_INC" in run.stdout


def test_missing_source_file(tmp_path):
    run = p4nic_compile(tmp_path / "nope.p4")
    assert run.returncode == 1 and "cannot open source file" in run.stderr
    assert "Traceback" not in run.stderr


def test_unknown_p4info_suffix_is_rejected(tmp_path):
    run = p4nic_compile(PROGRAMS / "basic_router.p4", "-o", tmp_path / "x.json",
                        "--p4runtime-files", tmp_path / "info.yaml")
    assert run.returncode == 1 and "unknown file kind" in run.stderr


def test_unsupported_architecture_and_bad_flags(tmp_path):
    run = p4nic_compile(PROGRAMS / "basic_router.p4", "--arch", "psa")
    assert run.returncode == 1 and "only v1model is supported" in run.stderr
    run = p4nic_compile(PROGRAMS / "basic_router.p4", "--no-such-flag")
    assert run.returncode == 1 and "unrecognized arguments: --no-such-flag" in run.stderr
    assert "Traceback" not in run.stderr


def test_unwritable_output_is_a_clear_error(tmp_path):
    run = p4nic_compile(PROGRAMS / "basic_router.p4", "-o", tmp_path / "no_dir" / "x.json")
    assert run.returncode == 1 and "cannot write" in run.stderr
    assert "Traceback" not in run.stderr


def test_single_p4runtime_file_uses_the_given_format(tmp_path):
    info = tmp_path / "router.p4info"
    run = p4nic_compile(PROGRAMS / "basic_router.p4", "-o", tmp_path / "x.json",
                        "--p4runtime-file", info, "--p4runtime-format", "json")
    assert run.returncode == 0, run.stderr
    parsed = json_format.Parse(info.read_text(), p4info_pb2.P4Info())
    assert parsed.tables[0].preamble.name == "RouterIngress.ipv4_lpm"


def test_tutorial_makefile_flags(tmp_path):
    """The p4lang tutorials' build line: p4c-bm2-ss with --p4v 16 and an explicit JSON file."""
    out = tmp_path / "router.json"
    info = tmp_path / "router.p4info.txtpb"
    run = p4nic_compile("--p4v", "16", "--target", "bmv2", "--arch", "v1model",
                        "--p4runtime-files", info, "-o", out, PROGRAMS / "basic_router.p4")
    assert run.returncode == 0, run.stderr
    assert "pipelines" in json.loads(out.read_text())
    assert text_format.Parse(info.read_text(), p4info_pb2.P4Info()).tables
    run = p4nic_compile("--p4v=16", "-o", tmp_path / "again.json", PROGRAMS / "basic_router.p4")
    assert run.returncode == 0, run.stderr


def test_p4c_driver_flags_write_name_json_into_the_output_directory(tmp_path):
    build = tmp_path / "build"
    build.mkdir()
    run = p4nic_compile("-b", "bmv2", "-a", "v1model", "--std", "p4-16",
                        "--p4runtime-files", build / "basic_router.p4info.txtpb",
                        "-o", build, PROGRAMS / "basic_router.p4")
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in build.iterdir()) == ["basic_router.json",
                                                        "basic_router.p4info.txtpb"]
    # a directory that does not exist yet is made, as the driver makes it
    run = p4nic_compile(PROGRAMS / "basic_router.p4", "-o", tmp_path / "out" / "p4")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "p4" / "basic_router.json").is_file()


def test_p4_14_is_refused_and_version_needs_no_source(tmp_path):
    run = p4nic_compile("--p4v", "14", PROGRAMS / "basic_router.p4", cwd=tmp_path)
    assert run.returncode == 1 and "--p4v 14: only P4-16 is supported" in run.stderr
    assert not list(tmp_path.iterdir())
    run = p4nic_compile("--version")
    assert run.returncode == 0 and run.stdout.splitlines()[-1].startswith("Version ")
    run = p4nic_compile()
    assert run.returncode == 1 and "required: source" in run.stderr


MANY_ERRORS = """#include <core.p4>
const bit<8> A = no_such_constant;
struct S { bit<8> f; string s; }
control c(inout bit<8> x) {
    bit<8> uses_a = A;
    apply {
        x = true;
        x = x + 1;
        uses_a = 2;
        x = 4w3 + 8w1;
    }
}
"""


def test_every_independent_error_is_reported(tmp_path):
    src = tmp_path / "many.p4"
    src.write_text(MANY_ERRORS)
    run = p4nic_compile(src, "-o", tmp_path / "x.json")
    assert run.returncode == 1
    located = [line for line in run.stderr.splitlines() if ": error: " in line]
    # uses of the failed constant (uses_a and its assignment) are not reported again
    assert located == [
        f"{src}:2:18: error: 'no_such_constant' is not declared",
        f"{src}:3:29: error: field 's' of S cannot have type string",
        f"{src}:7:13: error: type mismatch: expected bit<8>, got bool",
        f"{src}:10:13: error: operands of '+' have different types: bit<4> and bit<8>"]
    assert "        x = true;\n            ^" in run.stderr
    assert not (tmp_path / "x.json").exists()


def test_error_count_is_capped_by_max_error_count(tmp_path):
    src = tmp_path / "lots.p4"
    src.write_text("".join(f"const bit<8> C{i} = missing{i};\n" for i in range(30)))
    run = p4nic_compile(src, "-o", tmp_path / "x.json")
    located = [line for line in run.stderr.splitlines() if ": error: " in line]
    assert run.returncode == 1 and len(located) == 20
    assert run.stderr.rstrip().endswith("error: number of errors exceeded the maximum of 20")
    run = p4nic_compile(src, "-o", tmp_path / "x.json", "--maxErrorCount", "3")
    assert [line.split(": error: ")[1] for line in run.stderr.splitlines()
            if ": error: " in line] == [f"'missing{i}' is not declared" for i in range(3)]
