"""`p4nic switch` as a process with its ports on BMv2's nanomsg socket, driven by the real `ptf`
command (platform nn), exactly as PTF suites drive simple_switch_grpc."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROUTER = HERE.parent / "stf" / "programs" / "l3_router.json"
PTF = Path(sys.executable).with_name("ptf")


def router_with_const_routes(path: Path) -> None:
    """l3_router.json with routes in the JSON itself, so no control plane is needed."""
    program = json.loads(ROUTER.read_text())
    table = program["pipelines"][0]["tables"][0]
    forward = next(a["id"] for a in program["actions"] if a["name"] == "MyIngress.forward")
    table["entries"] = [
        {"match_key": [{"match_type": "lpm", "key": "0x0a0a0000", "prefix_length": 16}],
         "action_entry": {"action_id": forward, "action_data": ["0x0003", "0x000000000303"]},
         "priority": 1},
        {"match_key": [{"match_type": "lpm", "key": "0x0a000000", "prefix_length": 8}],
         "action_entry": {"action_id": forward, "action_data": ["0x0002", "0x000000000202"]},
         "priority": 2},
    ]
    path.write_text(json.dumps(program))


@pytest.fixture
def running_switch(tmp_path):
    program = tmp_path / "router.json"
    router_with_const_routes(program)
    socket_addr = f"ipc://{tmp_path}/switch.ipc"
    log = open(tmp_path / "switch.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "p4nic.cli", "switch", str(program),
                             "--packet-in", socket_addr, "--log-console", "-L", "debug",
                             "--dump-packet-data", "14",
                             "--", "--grpc-server-addr", "127.0.0.1:0"],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120  # generous: a loaded machine starts Python slowly
    while not os.path.exists(f"{tmp_path}/switch.ipc"):
        if proc.poll() is not None or time.monotonic() > deadline:
            log.close()
            pytest.fail("switch did not start:\n" + (tmp_path / "switch.log").read_text())
        time.sleep(0.05)
    yield socket_addr, tmp_path / "switch.log"
    proc.terminate()
    try:
        assert proc.wait(timeout=60) == 0, "switch did not exit cleanly on SIGTERM"
    finally:
        proc.kill()
        log.close()


def run_ptf(socket_addr, tmp_path, *tests):
    return subprocess.run([str(PTF), "--test-dir", str(HERE / "switch_ptf"), "--platform", "nn",
                           "--device-socket", f"0-{{1-3}}@{socket_addr}",
                           "--default-timeout", "20",  # PTF's 2 s is short on a loaded machine
                           "--log-file", str(tmp_path / "ptf.log"), *tests],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)


def test_ptf_suite_over_nanomsg(running_switch, tmp_path):
    socket_addr, switch_log = running_switch
    r = run_ptf(socket_addr, tmp_path)
    report = r.stdout + r.stderr
    assert r.returncode == 0, report
    for name in ("LongestPrefixWins", "ShorterPrefix", "NoRouteIsDropped"):
        assert f"l3_forwarding.{name} ... ok" in report, report
    # a second PTF run against the same switch: the socket takes the new peer
    r = run_ptf(socket_addr, tmp_path, "l3_forwarding.LongestPrefixWins")
    assert r.returncode == 0 and "l3_forwarding.LongestPrefixWins ... ok" in r.stdout + r.stderr
    # --log-console: BMv2-style lines, the Device's trace and --dump-packet-data's samples
    log = switch_log.read_text()
    assert "] [p4nic] [D] [thread " in log
    assert "Processing packet received on port 1" in log
    assert "Received packet of length 100 on port 1: 0000000000aa0000000000bb0800\n" in log
    assert "Sending packet of length 100 on port 3: 0000000003030000000000aa0800\n" in log
