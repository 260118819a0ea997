"""docs/dsl.md runs: every ```nic block loads, and the ```entries block under it is the
summary of its entities, in order (a `...` line stands for any number of lines)."""
import re
import shutil
from pathlib import Path

import pytest

from p4nic import dsl

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```nic\n(?P<nic>.*?)```\n```entries\n(?P<entries>.*?)```", re.S)
EXAMPLES = BLOCK.findall((ROOT / "docs" / "dsl.md").read_text())


def test_the_reference_has_examples():
    assert len(EXAMPLES) >= 9


@pytest.mark.parametrize("nic, expected", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_example_gives_the_entries_shown(nic, expected, tmp_path):
    shutil.copy(ROOT / "examples" / "l3_router.p4", tmp_path)
    path = tmp_path / "example.nic"
    path.write_text(nic)
    model = dsl.load(path)
    found = [line for target in model.nics for line in model.summaries(target.name)]
    wanted = expected.strip("\n").split("\n")
    position = 0
    for i, line in enumerate(wanted):
        if line == "...":
            following = wanted[i + 1]
            while found[position] != following:
                position += 1
            continue
        assert found[position] == line
        position += 1
    assert position == len(found)
