"""`p4nic up` follows its file: an edit is checked and applied to the running host (only what
changed), a new offload policy moves flows back; an edit with errors changes nothing."""
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from up_helpers import P4NIC, REPO, p4nic, wait


def status() -> dict:
    return json.loads(p4nic("status", "--json").stdout)


@pytest.fixture
def host(tmp_path):
    path = tmp_path / "host.nic"
    path.write_text((REPO / "examples" / "host.nic").read_text())
    process = subprocess.Popen([P4NIC, "up", str(path), "--json", "--run-dir", str(tmp_path / "run")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    assert line, process.stderr.read()[-3000:]
    yield path, process
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    time.sleep(0.05)                 # a new modification time, even on a coarse clock
    path.write_text(text.replace(old, new))


def test_a_new_offload_policy_moves_flows_back(host):
    path, process = host
    assert p4nic("traffic", "--tcp", "0", "--udp", "2", "--packets", "4").returncode == 0
    wait(lambda: [f for f in status()["flows"] if f["tier"] == "pnic"], "flows on the PNIC")
    edit(path, "to pnic when established", "to pnic never")
    flows = wait(lambda: [f for f in status()["flows"] if f["tier"] == "vnic"] or None,
                 "flows back on the VNIC")
    assert len(flows) == 2
    assert flows[0]["moves"][-1] == {**flows[0]["moves"][-1], "from": "pnic", "to": "vnic",
                                     "why": "the offload policy changed"}
    # the host keeps serving them: every exchange is answered
    assert p4nic("traffic", "--tcp", "1", "--udp", "1", "--packets", "3").returncode == 0


def test_an_edit_with_errors_changes_nothing(host):
    path, process = host
    edit(path, "udp dport 53            -> queue 3", "udp dport 99999         -> queue 3")
    time.sleep(2)
    assert process.poll() is None
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert "changed but is not applied" in err and "host.nic:" in err
    assert "Traceback" not in err
