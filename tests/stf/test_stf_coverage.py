"""The v1model semantics of issue 3, one STF program per group (docs/stf-coverage.md maps each
issue item to its program). Each runs as a user runs it: `p4nic stf PROG.p4 PROG.stf` in a
process, which must exit 0 and print its PASS line."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).parent / "programs"
COVERAGE = ["parser_features", "checksums", "traffic_manager"]


def run_stf(program: Path, test: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "p4nic.cli", "stf", str(program), str(test)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", COVERAGE)
def test_program_meets_every_expectation(name):
    test = PROGRAMS / f"{name}.stf"
    r = run_stf(PROGRAMS / f"{name}.p4", test)
    assert r.returncode == 0, r.stdout + r.stderr
    sent = len(re.findall(r"^packet ", test.read_text(), re.MULTILINE))
    assert f"PASS {test}: {sent} packet(s) sent" in r.stdout
