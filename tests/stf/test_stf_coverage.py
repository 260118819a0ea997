"""The v1model semantics of issue 3, one STF program per group (docs/stf-coverage.md maps each
issue item to its program). Each runs as a user runs it: `p4nic stf PROG.p4 PROG.stf` in a
process, which must exit 0 and print its PASS line."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).parent / "programs"
COVERAGE = ["parser_features", "checksums", "traffic_manager", "primitives",
            "match_kinds", "stateful_externs", "hash_random",
            "clone_recirc", "table_keys"]


def run_stf(program: Path, test: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "p4nic.cli", "stf", str(program), str(test), *options],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", COVERAGE)
def test_program_meets_every_expectation(name):
    test = PROGRAMS / f"{name}.stf"
    r = run_stf(PROGRAMS / f"{name}.p4", test)
    assert r.returncode == 0, r.stdout + r.stderr
    sent = len(re.findall(r"^packet ", test.read_text(), re.MULTILINE))
    assert f"PASS {test}: {sent} packet(s) sent" in r.stdout


def test_a_wrong_expectation_fails(tmp_path):
    """The runner is not vacuous: push_front with the new element expected at the back fails."""
    text = (PROGRAMS / "primitives.stf").read_text()
    right = "expect 1 000000000001 0000000000EE 0201 EE 01 02 AA $"
    assert right in text
    wrong = tmp_path / "primitives.stf"
    wrong.write_text(text.replace(right, "expect 1 000000000001 0000000000EE 0201 01 02 EE AA $"))
    r = run_stf(PROGRAMS / "primitives.p4", wrong)
    assert r.returncode == 1
    assert "differs at byte 14 (nibble 28): expected 0, got E" in r.stdout
    assert f"FAIL {wrong}: 1 problem(s)" in r.stdout


@pytest.mark.parametrize("name, messages", [
    ("primitives", ["arith: x=1 y=1", "arith: x=16 y=65535"]),   # in an action
    ("parser_features", ["parser visit 0", "parser visit 1"]),   # in a parser state
])
def test_log_msg_reaches_the_trace(name, messages):
    r = run_stf(PROGRAMS / f"{name}.p4", PROGRAMS / f"{name}.stf", "--trace")
    assert r.returncode == 0, r.stdout + r.stderr
    for message in messages:
        assert message in r.stdout
