"""The broken-program corpus (tests/compiler/errors/, format in its README): every file fails
with the announced message at the announced file:line:column, printed with a caret line."""
import re
from pathlib import Path

import pytest

from p4nic.compiler.errors import CompileError
from p4nic.compiler.parser import parse
from p4nic.compiler.preprocess import preprocess

ERRORS = Path(__file__).parent / "errors"
HEADER = re.compile(r"^// error: (?P<fragment>.+) @ (?P<line>\d+):(?P<column>\d+)\s*$")
CASES = sorted(ERRORS.glob("*.p4"))


def compile_front_end(path: Path):
    program = parse(preprocess(str(path)))
    from p4nic.compiler.typecheck import typecheck   # only programs that parse get this far
    typecheck(program)


def test_corpus_is_large_enough():
    assert len(CASES) >= 30


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_broken_program_reports_located_error(path):
    header = HEADER.match(path.read_text().split("\n", 1)[0])
    assert header, f"{path.name}: first line must be '// error: <fragment> @ <line>:<column>'"
    line, column = int(header["line"]), int(header["column"])

    with pytest.raises(CompileError) as info:
        compile_front_end(path)
    error = info.value

    assert header["fragment"] in error.message
    assert (error.loc.file, error.loc.line, error.loc.column) == (str(path), line, column)
    first, source_line, caret = str(error).split("\n")
    assert first == f"{path}:{line}:{column}: error: {error.message}"
    assert source_line == path.read_text().split("\n")[line - 1].expandtabs(1)
    assert caret == " " * (column - 1) + "^"


def test_very_long_lines_are_shown_as_a_window_around_the_caret(tmp_path):
    src = tmp_path / "long.p4"
    src.write_text("const bit<8> X = " + "1 + " * 100 + "$ 1;\n")
    with pytest.raises(CompileError) as info:
        compile_front_end(src)
    _, shown, caret = str(info.value).split("\n")
    assert shown.startswith("...") and len(shown) <= 170
    assert shown[len(caret) - 1] == "$"


def test_absurdly_deep_nesting_is_a_clean_error(tmp_path):
    src = tmp_path / "deep.p4"
    src.write_text("const bit<32> X = " + " + ".join(["1"] * 3000) + ";\n")
    with pytest.raises(CompileError, match="nests too deeply"):
        compile_front_end(src)


def test_mangled_programs_give_compile_errors_never_crashes(tmp_path):
    """Seeded random damage (deletions, stray tokens, duplicated text) to the corpus programs:
    the front end either parses the result or raises a located CompileError."""
    import random

    rng = random.Random(4)
    programs = [p.read_text() for p in sorted((Path(__file__).parent / "programs").glob("*.p4"))]
    debris = ["(", ")", "{", "}", "<", ">", ">>", ";", ",", "@name(\"x\")", "@", "\"", ".", "..",
              "&&&", "header", "8w", "0x", "apply", "state", "[", ":", "=", "#if 1", "#define",
              "\\\n", "/*", "*/", "{#}", "_", "this", "typedef", "extern", "<bit<8>>"]
    for i in range(60):
        text = rng.choice(programs)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(text))
            roll = rng.random()
            if roll < 0.4:
                text = text[:pos] + text[pos + rng.randint(1, 20):]
            elif roll < 0.8:
                text = text[:pos] + rng.choice(debris) + text[pos:]
            else:
                start = rng.randrange(len(text))
                text = text[:pos] + text[start:start + 30] + text[pos:]
        path = tmp_path / f"mangled{i}.p4"
        path.write_text(text)
        try:
            parse(preprocess(str(path)))
        except CompileError as e:
            assert e.loc is None or (e.loc.line >= 1 and e.loc.column >= 1)
