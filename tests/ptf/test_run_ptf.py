"""The PTF suites of tests/ptf/suites against `p4nic switch`, exactly as they run against
simple_switch_grpc: p4src/ compiled by `p4nic compile`, the switch started as a process, its
ports on BMv2's nanomsg socket, the `ptf` command on platform nn, the target given to the suite
only through --test-params.

Each part is checked before use and the test skips, naming it, while it is missing.
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITES = Path(__file__).parent / "suites"
PTF = Path(sys.executable).with_name("ptf")
P4NIC = [sys.executable, "-m", "p4nic.cli"]
CPU_PORT = 255

# suite (ptf group) -> (program, ports the suite uses)
SUITE_TARGETS = {"vnic": ("vnic", range(0, 5)), "pnic": ("pnic", range(0, 6))}


def compile_program(name: str, out: Path) -> tuple:
    """(json, p4info) of p4src/<name>.p4 compiled by `p4nic compile`; skips if it cannot."""
    json_path, p4info_path = out / f"{name}.json", out / f"{name}.p4info.txtpb"
    r = subprocess.run(P4NIC + ["compile", str(ROOT / "p4src" / f"{name}.p4"), "-o",
                                str(json_path), "--p4runtime-files", str(p4info_path)],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0 or not json_path.exists() or not p4info_path.exists():
        pytest.skip(f"`p4nic compile p4src/{name}.p4` does not work yet: "
                    f"{(r.stderr or r.stdout).strip()[-300:]}")
    return json_path, p4info_path


def start_switch(program: Path, workdir: Path):
    """`p4nic switch` on a nanomsg socket and a free gRPC port: (process, socket, address)."""
    try:
        import p4nic.nic.device  # noqa: F401  (the switch's data plane)
    except ImportError as exc:
        pytest.skip(f"the software NIC (p4nic.nic.device) is not there yet: {exc}")
    socket_addr = f"ipc://{workdir}/{program.stem}.ipc"
    log_path = workdir / f"{program.stem}.switch.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(P4NIC + ["switch", str(program), "--packet-in", socket_addr, "--",
                                     "--grpc-server-addr", "127.0.0.1:0",
                                     "--cpu-port", str(CPU_PORT)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    log.close()
    deadline = time.monotonic() + 60
    while True:
        listening = re.search(r"Server listening on (\S+:\d+)", log_path.read_text())
        if listening and os.path.exists(f"{workdir}/{program.stem}.ipc"):
            return proc, socket_addr, listening.group(1)
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"p4nic switch did not start:\n{log_path.read_text()[-2000:]}")
        time.sleep(0.1)


@pytest.mark.parametrize("suite", sorted(SUITE_TARGETS))
def test_ptf_suite_on_p4nic_switch(suite, tmp_path):
    program, ports = SUITE_TARGETS[suite]
    json_path, p4info_path = compile_program(program, tmp_path)
    proc, socket_addr, grpc_addr = start_switch(json_path, tmp_path)
    try:
        params = f"grpc_addr='{grpc_addr}';p4info='{p4info_path}';config='{json_path}'"
        r = subprocess.run([str(PTF), "--test-dir", str(SUITES), "--platform", "nn",
                            "--device-socket", f"0-{{{ports.start}-{ports.stop - 1}}}@{socket_addr}",
                            "--test-params", params, "--log-file", str(tmp_path / "ptf.log"),
                            suite],
                           capture_output=True, text=True, timeout=600, cwd=tmp_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    report = r.stdout + r.stderr
    assert r.returncode == 0, report[-6000:]
    listed = subprocess.run([str(PTF), "--test-dir", str(SUITES), "--list-test-names", suite],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path).stdout
    names = re.findall(rf"^({suite}_\w+\.\w+)$", listed, re.M)
    assert names, listed
    for name in names:
        assert f"{name} ... ok" in report, f"{name} did not pass:\n{report[-3000:]}"
