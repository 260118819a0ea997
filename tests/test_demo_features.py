"""`p4nic demo --features`, the self-check of every NIC feature, run as a user runs it: the
venv's `p4nic` command, as a process."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import HAVE_PROC, live_children, still_running

from p4nic.runtime.connection import Connection

P4NIC = str(Path(sys.executable).parent / "p4nic")
REPO = Path(__file__).resolve().parents[1]
FEATURES = ("RX filters", "NUMA-aware steering", "Programmable VNIC pipeline",
            "Sender-side special-processing flag", "Logical networks on the PNIC",
            "Stateful service offload: guest → VNIC → PNIC")


def p4nic_demo(*args, timeout=600):
    return subprocess.run([P4NIC, "demo", "--features", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def demo():
    return p4nic_demo()


def test_demo_passes_every_feature(demo):
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "Traceback" not in demo.stdout + demo.stderr
    for feature in FEATURES:
        assert re.search(rf"│ {re.escape(feature)} .*│ PASS", demo.stdout), feature


def test_demo_shows_compile_facts_and_the_running_nics(demo):
    assert re.search(r"p4src/vnic\.p4 +│ \d+\.\d\d s +│ \d+ +│ \d+", demo.stdout)
    assert re.search(r"p4src/pnic\.p4 +│ \d+\.\d\d s +│ \d+ +│ \d+", demo.stdout)
    for nic in ("VNIC", "PNIC"):
        assert re.search(rf"{nic} +│ 127\.0\.0\.1:\d+ +│ ipc://", demo.stdout)
    assert "FAIL" not in demo.stdout


def test_demo_lists_what_each_controller_wrote(demo):
    out = " ".join(demo.stdout.split())     # undo the table's line wrapping
    assert out.count("written over P4Runtime") == len(FEATURES)
    assert "VNIC controller modify steering.vcpu_node vcpu=5 → set_node(node=1)" in out
    assert "guest default action of services.flow_table := svc_to_guest()" in out
    assert "counter starting at 2 packets / 144 bytes" in out


def test_a_wrong_pipeline_fails_and_says_what_differed(tmp_path):
    """The demo checks real behaviour: a VNIC whose filters pick the next queue up fails the
    filter feature (exit 1, the differing queue named) and nothing else."""
    p4src = tmp_path / "p4src"
    shutil.copytree(REPO / "p4src", p4src)
    vnic = p4src / "vnic.p4"
    action = re.compile(r"(action filter_to_queue\(bit<9> queue\) \{\s*meta\.out_port = queue)")
    source, replaced = action.subn(r"\1 + 1", vnic.read_text())
    assert replaced == 1
    vnic.write_text(source)
    r = p4nic_demo("--quiet", "--p4src", str(p4src))
    assert r.returncode == 1, r.stdout[-3000:]
    assert re.search(r"│ RX filters .*│ FAIL", r.stdout)
    assert "missing VNIC queue 3" in r.stdout and "unexpected VNIC queue 4" in r.stdout
    for feature in FEATURES[1:]:
        assert re.search(rf"│ {re.escape(feature)} .*│ PASS", r.stdout), feature
    assert "Traceback" not in r.stdout + r.stderr


def test_missing_p4src_is_a_clear_error(tmp_path):
    r = p4nic_demo("--p4src", str(tmp_path), timeout=60)
    assert r.returncode == 1
    assert "has no vnic.p4 or pnic.p4" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


@pytest.mark.skipif(not HAVE_PROC, reason="needs Linux /proc")
def test_keep_running_serves_p4runtime_until_terminated():
    """--keep-running leaves both NICs reachable by other controllers; SIGTERM stops the demo
    and its switch processes."""
    process = subprocess.Popen([P4NIC, "demo", "--features", "--quiet", "--keep-running"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output, switches = "", []
    try:
        deadline = time.monotonic() + 600  # the whole demo first: slow on a loaded machine
        while output.count("PTF:") < 2 and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output += line
        addresses = re.findall(r"P4Runtime (127\.0\.0\.1:\d+)", output)
        assert len(addresses) == 2, output
        switches = live_children(process.pid)
        assert len(switches) == 2
        for address in addresses:
            with Connection(address, election_id=(0, 5), timeout=60) as conn:
                assert conn.is_primary
                assert conn.get_p4info().tables
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=120)
    assert code == 130, output
    assert not still_running(switches)


@pytest.mark.skipif(not HAVE_PROC, reason="needs Linux /proc")
def test_ctrl_c_while_running_stops_the_switches():
    # Unbuffered, so the line saying both NICs are up arrives when printed (a pipe is otherwise
    # block-buffered and the whole short demo could be over before the test reads it).
    process = subprocess.Popen([P4NIC, "demo", "--features"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    output, switches = "", []
    try:
        deadline = time.monotonic() + 600  # compile and start-up are slow on a loaded machine
        while "Running as `p4nic switch` processes" not in output and time.monotonic() < deadline:
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
    assert "interrupted; stopping the NICs" in output
    assert "Traceback" not in output
    assert not still_running(switches)


def test_build_dir_keeps_the_compiled_programs_and_says_where(tmp_path):
    build = tmp_path / "build" / "demo"
    r = p4nic_demo("--quiet", "--build-dir", str(build))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert f"Compiled programs and switch logs are in {build}/" in " ".join(r.stdout.split())
    for name in ("vnic.json", "vnic.p4info.txtpb", "pnic.json", "pnic.p4info.txtpb",
                 "vnic.switch.log", "pnic.switch.log"):
        assert (build / name).is_file(), name
    assert "Server listening on" in (build / "vnic.switch.log").read_text()
