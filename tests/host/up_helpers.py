"""What the tests of `p4nic up` share: the installed `p4nic` command, run as a user runs it,
the example host file, and waiting for a condition on a running host."""
import subprocess
import sys
import time
from pathlib import Path

P4NIC = str(Path(sys.executable).parent / "p4nic")
REPO = Path(__file__).resolve().parents[2]
HOST_FILE = REPO / "examples" / "host.nic"


def p4nic(*args, timeout=300):
    return subprocess.run([P4NIC, *args], capture_output=True, text=True, timeout=timeout)


def wait(condition, what, deadline=60.0):
    """condition()'s first true result within `deadline` seconds; fails naming `what`."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"never: {what}")
