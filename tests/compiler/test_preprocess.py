"""The gcc-free C preprocessor: directives, macros, and the line map back to original files."""
import pytest

from p4nic.compiler.errors import CompileError
from p4nic.compiler.preprocess import BUNDLED_INCLUDE_DIR, preprocess


def write(dir_, name, text):
    path = dir_ / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def lines_of(source):
    return source.text.split("\n")


def code(source):
    """Non-blank output lines, stripped."""
    return [line.strip() for line in lines_of(source) if line.strip()]


def test_object_and_function_macros_with_nested_expansion(tmp_path):
    src = write(tmp_path, "a.p4", "#define W 16\n#define TWICE(x) ((x) * 2)\n"
                                  "#define WIDE TWICE(W)\nbit<W> f; const int c = WIDE;\n")
    assert code(preprocess(str(src))) == ["bit<16> f; const int c = ((16) * 2);"]


def test_stringify_paste_and_variadic(tmp_path):
    src = write(tmp_path, "a.p4", '#define NAME(a, b) a ## _ ## b\n#define STR(x) #x\n'
                                  '#define LOG(fmt, ...) log_msg(fmt, __VA_ARGS__)\n'
                                  'NAME(ipv4, lpm) STR(a "q" b) LOG("x", 1, 2)\n')
    assert code(preprocess(str(src))) == ['ipv4_lpm "a \\"q\\" b" log_msg("x", 1, 2)']


def test_self_referential_macro_does_not_loop(tmp_path):
    src = write(tmp_path, "a.p4", "#define x x + 1\nx\n")
    assert code(preprocess(str(src))) == ["x + 1"]


def test_macro_call_spanning_lines_keeps_line_numbers(tmp_path):
    src = write(tmp_path, "a.p4", "#define ADD(a, b) a + b\nconst int c = ADD(1,\n  2);\nlast\n")
    out = preprocess(str(src))
    assert lines_of(out)[1].strip() == "const int c = 1 + 2;"
    assert out.location(4, 1).line == 4 and lines_of(out)[3] == "last"


def test_conditionals_defined_and_integer_expressions(tmp_path):
    src = write(tmp_path, "a.p4", "\n".join([
        "#define V 20200408",
        "#if V >= 20200408 && defined(V) && !defined NOPE",
        "new",
        "#elif 1",
        "wrong1",
        "#else",
        "wrong2",
        "#endif",
        "#if (1 << 4) == 16 ? 0 : 1",
        "wrong3",
        "#elif UNDEFINED_NAME + 2 == 2",
        "undefined_is_zero",
        "#endif",
        "#ifndef V",
        "wrong4",
        "#endif",
        "#if 0",
        "#error not reached",
        "#include \"not_read.p4\"",
        "#endif",
    ]) + "\n")
    assert code(preprocess(str(src))) == ["new", "undefined_is_zero"]


def test_command_line_defines_and_undef(tmp_path):
    src = write(tmp_path, "a.p4", "#ifdef FLAG\nflag FLAG\n#endif\nN\n#undef N\nN\n")
    assert code(preprocess(str(src), defines={"FLAG": "1", "N": "7"})) == ["flag 1", "7", "N"]


def test_bmv2_target_macro_is_predefined(tmp_path):
    # p4c-bm2-ss passes -D__TARGET_BMV2__ (backends/bmv2/simple_switch/main.cpp).
    src = write(tmp_path, "a.p4", "#ifdef __TARGET_BMV2__\nbmv2\n#endif\n")
    assert code(preprocess(str(src))) == ["bmv2"]


def test_comments_become_spaces_keeping_columns_and_strings(tmp_path):
    src = write(tmp_path, "a.p4",
                'a /* c */ b // tail\n"s // not /* a comment */" /* multi\nline */ c\n')
    out = lines_of(preprocess(str(src)))
    assert out[0] == "a         b        "
    assert out[1].startswith('"s // not /* a comment */"') and out[1].strip().endswith('"')
    assert out[2].strip() == "c" and out[2].index("c") == 8


def test_line_continuation(tmp_path):
    src = write(tmp_path, "a.p4", "#define LONG one \\\n  two\nLONG\nafter\n")
    out = preprocess(str(src))
    assert code(out) == ["one   two", "after"]
    assert out.location(4, 1).line == 4


def test_include_search_order_and_location_map(tmp_path):
    write(tmp_path / "inc", "shared.p4", "from_include_dir\n")
    write(tmp_path / "src", "shared.p4", "from_same_dir\n")
    main = write(tmp_path / "src", "main.p4", '#include "shared.p4"\n#include <shared.p4>\nend\n')
    out = preprocess(str(main), include_dirs=[str(tmp_path / "inc")])
    assert code(out) == ["from_same_dir", "from_include_dir", "end"]
    end_line = lines_of(out).index("end") + 1
    loc = out.location(end_line, 1)
    assert (loc.file, loc.line, loc.text) == (str(main), 3, "end")
    inc_line = lines_of(out).index("from_include_dir") + 1
    assert out.location(inc_line, 3).file == str(tmp_path / "inc" / "shared.p4")


def test_bundled_headers_are_found_and_guarded(tmp_path):
    src = write(tmp_path, "a.p4", "#include <core.p4>\n#include <v1model.p4>\n#include <core.p4>\n")
    out = preprocess(str(src))
    assert out.text.count("extern packet_in") == 1
    assert "V1Switch" in out.text
    assert (BUNDLED_INCLUDE_DIR / "v1model.p4").is_file()


def test_v1model_version_selects_generic_externs(tmp_path):
    src = write(tmp_path, "a.p4", "#define V1MODEL_VERSION 20200408\n#include <v1model.p4>\n")
    text = preprocess(str(src)).text
    assert "extern register<T, I>" in text and "typedef bit<9>  PortId_t;" in text


def test_pragma_once_and_hash_pragma_lines_are_dropped(tmp_path):
    write(tmp_path, "once.p4", "#pragma once\nonce_body\n")
    src = write(tmp_path, "a.p4", '#include "once.p4"\n#include "once.p4"\n#pragma anything here\n')
    assert code(preprocess(str(src))) == ["once_body"]


def test_line_directive_renames_file_and_renumbers(tmp_path):
    src = write(tmp_path, "a.p4", 'x\n#line 100 "gen.p4"\ny\n__LINE__ __FILE__\n')
    out = preprocess(str(src))
    assert out.location(3, 1).file == "gen.p4" and out.location(3, 1).line == 100
    assert out.location(3, 1).text == "y"
    assert code(out)[-1] == '101 "gen.p4"'


@pytest.mark.parametrize("text, fragment, line", [
    ("#if 1\n", "unterminated conditional", 1),
    ("#endif\n", "#endif without #if", 1),
    ("#if 1\n#else\n#elif 1\n#endif\n", "#elif after #else", 3),
    ("ok\n#error custom message\n", "#error custom message", 2),
    ('#include "missing.p4"\n', "cannot find include file 'missing.p4'", 1),
    ("#define F(a) a\nF(1, 2)\n", "takes 1 argument(s), got 2", 2),
    ("#define F(a) a\nF(1\n", "unterminated call of macro 'F'", 2),
    ("#if 1 / 0\n#endif\n", "division by zero", 1),
    ("#if (1\n#endif\n", "expected ')'", 1),
    ("#bogus\n", "unknown preprocessor directive '#bogus'", 1),
    ("a /* no end\n", "unterminated /* comment", 1),
    ("#define\n", "#define needs a macro name", 1),
    ("#define F(a, 1) a\n", "bad parameter '1'", 1),
    ("#ifdef\n#endif\n", "#ifdef needs a macro name", 1),
    ("#line x\n", "#line expects a line number", 1),
])
def test_errors_name_file_and_line(tmp_path, text, fragment, line):
    src = write(tmp_path, "bad.p4", text)
    with pytest.raises(CompileError) as info:
        preprocess(str(src))
    assert fragment in info.value.message
    assert info.value.kind == "preprocessor"
    assert (info.value.loc.file, info.value.loc.line) == (str(src), line)


def test_include_cycle_is_an_error(tmp_path):
    src = write(tmp_path, "loop.p4", '#include "loop.p4"\n')
    with pytest.raises(CompileError, match="nested too deeply"):
        preprocess(str(src))


def test_missing_source_file(tmp_path):
    with pytest.raises(CompileError, match="cannot open source file"):
        preprocess(str(tmp_path / "nope.p4"))


def test_byte_order_mark_and_crlf_line_ends(tmp_path):
    src = tmp_path / "a.p4"
    src.write_bytes("\ufeff#define N 3\r\nconst bit<8> X = N;\r\n".encode())
    out = preprocess(str(src))
    assert code(out) == ["const bit<8> X = 3;"]
    assert out.location(2, 1).text == "const bit<8> X = N;"


def test_columns_after_a_macro_expansion_map_back_to_the_source_line(tmp_path):
    original = "const bit<8> X = ADD(1, 2) + Y;"
    src = write(tmp_path, "a.p4", "#define ADD(a, b) ((a) + (b))\n" + original + "\n")
    out = preprocess(str(src))
    expanded = lines_of(out)[1]
    assert expanded == "const bit<8> X = ((1) + (2)) + Y;"
    assert out.location(2, expanded.index("Y") + 1).column == original.index("Y") + 1
    invocation_start = "const bit<8> X = ".index("=") + 3
    inside = out.location(2, expanded.index("+") + 1).column
    assert invocation_start <= inside < invocation_start + len("ADD(1, 2)")
    assert out.location(2, 1).column == 1


def test_exponential_macro_expansion_is_stopped(tmp_path):
    defines = ["#define M0 x x"] + [f"#define M{i} M{i - 1} M{i - 1}" for i in range(1, 40)]
    src = write(tmp_path, "bomb.p4", "\n".join(defines) + "\nM39\n")
    with pytest.raises(CompileError, match="too large"):
        preprocess(str(src))


def test_absurdly_deep_macro_chains_are_a_clean_error(tmp_path):
    defines = ["#define M0 x"] + [f"#define M{i} M{i - 1}" for i in range(1, 3000)]
    src = write(tmp_path, "chain.p4", "\n".join(defines) + "\nM2999\n")
    with pytest.raises(CompileError, match="nest too deeply"):
        preprocess(str(src))
