"""Golden files: `p4nic entries` of every example, byte for byte (tests/dsl/golden/).

The goldens were read through when written: every entity is there for a statement of the
example, with the match, action and priority docs/dsl.md describes. When a change to the
language or to p4src/ changes them on purpose, regenerate and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/dsl/test_golden.py
    git diff tests/dsl/golden/
"""
import json
import os
from pathlib import Path

import pytest

from p4nic.dsl.cli import entries_main

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = sorted((ROOT / "examples").glob("*.nic"))


def entries_output(capsys, monkeypatch, *argv) -> str:
    monkeypatch.chdir(ROOT)
    assert entries_main(list(argv)) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_entries_match_golden(example, capsys, monkeypatch):
    text = entries_output(capsys, monkeypatch, f"examples/{example.name}")
    golden = GOLDEN / f"{example.stem}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert golden.exists(), f"no golden for {example.name}: run with UPDATE_GOLDEN=1"
    assert text == golden.read_text()


def test_json_holds_the_same_entities(capsys, monkeypatch):
    text = entries_output(capsys, monkeypatch, "examples/host.nic", "--json")
    found = json.loads(text)
    assert [n["name"] for n in found["nics"]] == ["vm1", "nic0"]
    vm1 = found["nics"][0]
    assert vm1["address"] is None and vm1["kind"] == "vnic"
    assert all(e["origin"].startswith("examples/host.nic:") for e in vm1["entities"])
    metadata = [e["entity"]["table_entry"].get("metadata") for e in vm1["entities"]
                if "table_entry" in e["entity"]]
    assert metadata and set(metadata) == {"cDRuaWMtZHNs"}        # base64 of the cookie


def test_one_nic_only(capsys, monkeypatch):
    text = entries_output(capsys, monkeypatch, "examples/special.nic", "--nic", "nic0")
    assert "nic nic0 (pnic)" in text and "nic vm1" not in text


def test_output_is_deterministic(capsys, monkeypatch):
    first = entries_output(capsys, monkeypatch, "examples/pipeline.nic")
    assert entries_output(capsys, monkeypatch, "examples/pipeline.nic") == first
