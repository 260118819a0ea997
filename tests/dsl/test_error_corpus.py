"""The broken-file corpus (tests/dsl/errors/, format in its README): every file fails with
the announced message at the announced file:line:column, printed with its line and a caret,
by the Python API and by `p4nic check` alike."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from p4nic import dsl

ERRORS = Path(__file__).parent / "errors"
HEADER = re.compile(r"^# error: (?P<fragment>.+) @ (?P<line>\d+):(?P<column>\d+)\s*$")
CASES = sorted(ERRORS.glob("*.nic"))


def test_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_broken_file_reports_one_located_error(path):
    header = HEADER.match(path.read_text().split("\n", 1)[0])
    assert header, f"{path.name}: first line must be '# error: <fragment> @ <line>:<column>'"
    line, column = int(header["line"]), int(header["column"])

    with pytest.raises(dsl.DslError) as info:
        dsl.load(path)
    errors = info.value.errors
    assert len(errors) == 1, "\n".join(str(e) for e in errors)
    error = errors[0]
    assert header["fragment"] in error.message
    assert (error.loc.file, error.loc.line, error.loc.column) == (str(path), line, column)
    first, source_line, caret = str(error).split("\n")
    assert first == f"{path}:{line}:{column}: error: {error.message}"
    assert source_line == path.read_text().split("\n")[line - 1].expandtabs(1)
    assert caret == " " * (column - 1) + "^"


def test_check_command_prints_every_file_and_fails(tmp_path):
    chosen = CASES[:3]
    result = subprocess.run([sys.executable, "-m", "p4nic.cli", "check", *map(str, chosen)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    for path in chosen:
        header = HEADER.match(path.read_text().split("\n", 1)[0])
        assert f"{path}:{header['line']}:{header['column']}: error: " in result.stderr
        assert f"{path}: 1 error" in result.stderr
    assert "Traceback" not in result.stderr
