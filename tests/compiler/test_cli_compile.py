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
