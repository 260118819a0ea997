"""`p4nic demo`, the main job, run as a user runs it: a host from examples/host.nic, real
conversations through it, and each flow's journey guest -> VNIC -> PNIC."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import HAVE_PROC, live_children, still_running

P4NIC = str(Path(sys.executable).parent / "p4nic")
REPO = Path(__file__).resolve().parents[1]


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    build = tmp_path_factory.mktemp("build")
    r = subprocess.run([P4NIC, "demo", "--build-dir", str(build)], capture_output=True,
                       text=True, timeout=600, env={**os.environ, "COLUMNS": "160"})
    return r, build


def test_every_flow_makes_its_journey_and_is_counted(demo):
    r, _ = demo
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-3000:]
    assert "Traceback" not in r.stdout + r.stderr and "FAIL" not in r.stdout
    rows = re.findall(r"│ (tcp|udp) 10\.0\.0\.1:\d+ → 10\.0\.0\.2:(\d+) +│ (.+?) +│ (\d+) +│ "
                      r"(\d+) +│ (\d+)/(\d+) +│ PASS", r.stdout)
    assert len(rows) == 3, r.stdout[-4000:]
    for proto, port, journey, sent, answered, forward, back in rows:
        expected = "guest → vnic → pnic" + (" → guest" if proto == "tcp" else "")
        assert journey == expected
        assert (int(forward), int(back)) == (int(sent), int(answered))


def test_each_packet_says_which_tier_served_it(demo):
    r, _ = demo
    out = r.stdout
    assert re.search(r"│ 1 │ SYN +│ guest +│ 1/1", out)
    assert re.search(r"│ 6 │ FIN +│ pnic", out)
    # the close finishes where the flow is, then it goes back to the guest
    assert re.search(r"│ 7 │ ACK +│ (pnic|guest)", out)
    assert ("NAT: dst 10.0.0.2:80 → 10.0.0.20:80 / src 10.0.0.20:80 → 10.0.0.2:80"
            in one_line(out))
    assert "moved vnic → pnic: the host's policy" in one_line(out)
    assert "moved pnic → guest: TCP FIN/RST" in one_line(out)


def test_the_closed_flows_leave_no_entry_and_the_outputs_stay(demo):
    r, build = demo
    assert re.search(r"flow-table entries left on the NICs: .* PASS", r.stdout)
    assert f"are in {build / 'h1'}/" in one_line(r.stdout)
    for name in ("vnic.json", "pnic.p4info.txtpb", "vm1/switch.switch.log",
                 "nic0/switch.switch.log"):
        assert (build / "h1" / name).is_file(), name


@pytest.mark.skipif(not HAVE_PROC, reason="needs Linux /proc")
def test_ctrl_c_stops_the_host():
    process = subprocess.Popen([P4NIC, "demo"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    output, switches = "", []
    try:
        deadline = time.monotonic() + 600
        while "host h1 up in" not in output and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output += line
        switches = live_children(process.pid)
        assert len(switches) == 2, output
    finally:
        process.send_signal(signal.SIGINT)
        output += process.communicate(timeout=120)[0]
    assert process.returncode == 130, output
    assert "Traceback" not in output
    assert not still_running(switches)


def test_make_demo_keeps_its_outputs_in_build_and_git_ignores_them():
    r = subprocess.run(["make", "-n", "demo"], cwd=REPO, capture_output=True, text=True,
                       timeout=60)
    assert "p4nic demo --build-dir build/demo" in r.stdout
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "ptf.log", "ptf.pcap", "build/demo/h1/vnic.json"],
                             cwd=REPO, capture_output=True, text=True, timeout=60)
    assert ignored.stdout.split() == ["ptf.log", "ptf.pcap", "build/demo/h1/vnic.json"]
