"""The PTF suites of tests/ptf/suites against `p4nic switch`, and against BMv2's simple_switch_grpc
where it is on PATH, the same way: p4src/ compiled by `p4nic compile`, the switch started as a
process, its ports on BMv2's nanomsg socket, the `ptf` command on platform nn, the target given
to the suite only through --test-params.
"""
import re
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from p4nic.runtime.local_switch import (BMV2_SWITCH, Bmv2Switch, LocalSwitch, LocalSwitchError,
                                        compile_p4)

ROOT = Path(__file__).resolve().parents[2]
SUITES = Path(__file__).parent / "suites"
PTF = Path(sys.executable).with_name("ptf")

# suite (ptf group) -> its devices, in PTF device order: (program, ports it uses, param prefix)
SUITE_TARGETS = {
    "vnic": [("vnic", range(0, 5), "")],
    "pnic": [("pnic", range(0, 6), "")],
    "host": [("vnic", range(0, 5), ""), ("pnic", range(0, 6), "pnic_")],
}


def suite_test_names(suite: str, cwd: Path) -> list:
    listed = subprocess.run([str(PTF), "--test-dir", str(SUITES), "--list-test-names", suite],
                            capture_output=True, text=True, timeout=120, cwd=cwd).stdout
    return re.findall(r"^(\w+\.\w+)$", listed, re.M)


def start_switch(target: str, json_path: Path, p4info_path: Path, workdir: Path):
    """The switch process a suite's device runs on: `p4nic switch` with the program loaded, or
    simple_switch_grpc with none (the suite pushes `config`)."""
    if target == "bmv2":
        return Bmv2Switch(workdir, json_path.stem)
    return LocalSwitch(json_path, workdir, p4info_path=p4info_path)


TARGETS = ["p4nic", pytest.param("bmv2", marks=pytest.mark.skipif(
    shutil.which(BMV2_SWITCH) is None, reason=f"{BMV2_SWITCH} is not on PATH"))]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("suite", sorted(SUITE_TARGETS))
def test_ptf_suite(suite, target, tmp_path):
    compiled = {}
    for program, _, _ in SUITE_TARGETS[suite]:
        try:
            compiled[program] = compile_p4(ROOT / "p4src" / f"{program}.p4", tmp_path)
        except LocalSwitchError as exc:
            pytest.fail(f"`p4nic compile` cannot build p4src/{program}.p4: {exc}")
    with ExitStack() as stack:
        args, params = [], []
        for device, (program, ports, prefix) in enumerate(SUITE_TARGETS[suite]):
            json_path, p4info_path = compiled[program]
            switch = stack.enter_context(
                start_switch(target, json_path, p4info_path, tmp_path / program))
            args += ["--device-socket",
                     f"{device}-{{{ports.start}-{ports.stop - 1}}}@{switch.packet_socket}"]
            params += [f"{prefix}grpc_addr='{switch.grpc_addr}'", f"{prefix}p4info='{p4info_path}'",
                       f"{prefix}config='{json_path}'"]
        # --default-timeout: PTF waits 2 s for an expected packet; a loaded machine needs longer
        r = subprocess.run([str(PTF), "--test-dir", str(SUITES), "--platform", "nn", *args,
                            "--default-timeout", "20",
                            "--test-params", ";".join(params),
                            "--log-file", str(tmp_path / "ptf.log"), suite],
                           capture_output=True, text=True, timeout=600, cwd=tmp_path)
    report = r.stdout + r.stderr
    assert r.returncode == 0, report[-6000:]
    names = suite_test_names(suite, tmp_path)
    assert names, f"ptf lists no tests in group {suite}"
    for name in names:
        assert f"{name} ... ok" in report, f"{name} did not pass:\n{report[-3000:]}"
