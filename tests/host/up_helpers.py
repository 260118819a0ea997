"""What the tests of `p4nic up` share: the installed `p4nic` command, run as a user runs it,
the example host file, and waiting for a condition on a running host."""
import json
import subprocess
import sys
import time
from pathlib import Path

P4NIC = str(Path(sys.executable).parent / "p4nic")
REPO = Path(__file__).resolve().parents[2]
HOST_FILE = REPO / "examples" / "host.nic"


def p4nic(*args, timeout=300):
    return subprocess.run([P4NIC, *args], capture_output=True, text=True, timeout=timeout)


def traffic_all_answered() -> list:
    """`p4nic traffic` of 2 TCP and 2 UDP conversations through the host that is up: each is
    answered, nothing lost or wrong; its report."""
    r = p4nic("traffic", "--json", "--tcp", "2", "--udp", "2", "--packets", "4")
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert len(report) == 4
    assert all(c["lost"] == 0 and c["wrong"] == 0 and c["answered"] > 0 for c in report)
    return report


def wait(condition, what, deadline=60.0):
    """condition()'s first true result within `deadline` seconds; fails naming `what`."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"never: {what}")
