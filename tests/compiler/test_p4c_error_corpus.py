"""Development measurement: of the programs p4c rejects (its testdata/p4_16_errors and
p4_16_bmv_errors), p4nic accepts exactly those docs/compiler-errors.md lists. Reads p4c's test
data from $P4C_TESTDATA (a checkout of p4c's testdata/ directory); skipped without it, as on
CI."""
import os
import re
from pathlib import Path

import pytest

from p4nic.compiler.driver import compile_file
from p4nic.compiler.errors import CompileError

TESTDATA = Path(os.environ.get("P4C_TESTDATA", "/work/ref/testdata"))
GROUPS = ("p4_16_errors", "p4_16_bmv_errors")
DOC = Path(__file__).parents[2] / "docs" / "compiler-errors.md"
NO_MAIN = "the program has no 'main' instance"


def p4c_rejected_programs() -> list:
    return sorted(p for g in GROUPS if (TESTDATA / g).is_dir()
                  for p in (TESTDATA / g).glob("*.p4"))


def rejected(path: Path) -> bool:
    """Rejected for a reason of its own: p4c's front end needs no `main`, so a program
    without one counts as accepted when nothing before the midend finds fault."""
    try:
        compile_file(str(path), include_dirs=[str(path.parent)])
    except CompileError as e:
        return NO_MAIN not in e.message
    return False


@pytest.mark.skipif(not p4c_rejected_programs(), reason="p4c's test data is not on this machine")
def test_only_the_documented_programs_are_accepted():
    documented = set(re.findall(r"^\| (p4_16_\w+/[\w.-]+\.p4) \|", DOC.read_text(), re.M))
    programs = p4c_rejected_programs()
    accepted = {f"{p.parent.name}/{p.name}" for p in programs if not rejected(p)}
    assert accepted == documented, (
        f"{len(programs) - len(accepted)}/{len(programs)} rejected; accepted but not documented: "
        f"{sorted(accepted - documented)}; documented but now rejected: "
        f"{sorted(documented - accepted)}")
