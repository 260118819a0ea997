"""`p4nic up --bmv2`: the host of examples/host.nic on BMv2's simple_switch_grpc processes, driven
by `p4nic traffic`, `p4nic status` and `p4nic plan` as a user drives it. Runs where
simple_switch_grpc is on PATH (BMv2 built with PI); skipped elsewhere."""
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from p4nic.proto import p4runtime_pb2

from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import EntityBuilder

from up_helpers import (HOST_FILE, P4NIC, p4nic, traffic_all_answered,
                        wait)

pytestmark = pytest.mark.skipif(
    shutil.which("simple_switch_grpc") is None,
    reason="simple_switch_grpc is not on PATH (BMv2 built with PI: docs/performance.md)")


def bmv2_serving(address: str) -> list:
    """Pids of the simple_switch_grpc processes serving P4Runtime on `address`."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (Path(argv[0].decode(errors="replace")).name == "simple_switch_grpc"
                and address.encode() in argv):
            pids.append(int(entry.name))
    return pids


def start_up(path: Path, run_dir: Path):
    process = subprocess.Popen([P4NIC, "up", str(path), "--bmv2", "--json", "--run-dir",
                                str(run_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line:
        process.kill()
        pytest.fail("p4nic up --bmv2 printed nothing:\n" + process.stderr.read()[-3000:])
    return process, json.loads(line)


def stop(process) -> str:
    """Ctrl-C the host; its stderr."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    return process.stderr.read()


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    process, described = start_up(HOST_FILE, tmp_path_factory.mktemp("h1"))
    yield process, described
    stop(process)


def flows() -> dict:
    return {f["flow"]: f for f in json.loads(p4nic("status", "--json").stdout)["flows"]}


def flow_table(nic: dict) -> list:
    table = EntityBuilder(nic["p4info"]).names.table("services.flow_table").preamble.id
    with Connection(nic["p4runtime"], device_id=nic["device_id"], arbitrate=False) as conn:
        return conn.read(p4runtime_pb2.TableEntry(table_id=table))


def plan_targets(described: dict) -> list:
    return [arg for name, nic in described["nics"].items()
            for arg in ("--target", f"{name}={nic['p4runtime']}")]


def test_the_nics_are_simple_switch_grpc_processes_with_the_pipelines_pushed(up):
    _, described = up
    assert described["target"] == "bmv2"
    assert described["guest_role"] is None           # PI has no roles: the host's controller
    for nic in described["nics"].values():
        assert len(bmv2_serving(nic["p4runtime"])) == 1
        with Connection(nic["p4runtime"], device_id=nic["device_id"], election_id=(0, 0)) as conn:
            assert not conn.is_primary                 # the host is their controller
            assert conn.get_p4info().tables


def test_the_file_is_installed_as_declared(up):
    _, described = up
    r = p4nic("plan", str(HOST_FILE), *plan_targets(described), "--detailed-exitcode",
              "--color", "never")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("no changes") == 2


def test_traffic_is_answered_and_flows_move_guest_vnic_pnic(up):
    _, described = up
    traffic_all_answered()

    def settled():
        now = flows()
        udp = [f for name, f in now.items() if name.startswith("udp")]
        tcp = [f for name, f in now.items() if name.startswith("tcp")]
        return (len(udp) == 2 and all(f["tier"] == "pnic" for f in udp) and len(tcp) == 2
                and all(f["tier"] == "guest" and f["moves"] for f in tcp)) and (udp, tcp)

    udp, tcp = wait(settled, "UDP flows on the PNIC, closed TCP flows back in the guest")
    assert all([m["to"] for m in f["moves"]] == ["vnic", "pnic"] for f in udp)
    assert all(f["moves"][0]["to"] == "vnic" and f["moves"][-1]["to"] == "guest" for f in tcp)
    assert all(f["packets"] == [4, 4] for f in udp)      # counted across the tiers
    assert flow_table(described["nics"]["nic0"])          # the UDP flows' entries
    assert flow_table(described["nics"]["vm1"])           # the UDP flows' pass-throughs


def test_a_nic_that_dies_is_started_again_and_programmed(up):
    process, described = up
    pnic = described["nics"]["nic0"]
    (pid,) = bmv2_serving(pnic["p4runtime"])
    os.kill(pid, signal.SIGKILL)
    wait(lambda: bmv2_serving(pnic["p4runtime"]) not in ([], [pid]), "a new simple_switch_grpc")
    plans = []

    def applied_again():
        plans.append(p4nic("plan", str(HOST_FILE), *plan_targets(described),
                           "--detailed-exitcode", "--color", "never"))
        return plans[-1].returncode == 0

    try:
        wait(applied_again, "the file applied to it again")
    except AssertionError:
        raise AssertionError("the file was not applied again; the last plan said:\n"
                             + plans[-1].stdout + plans[-1].stderr
                             + ("" if process.poll() is None else
                                "\np4nic up ended:\n" + stop(process)[-3000:])) from None
    r = p4nic("traffic", "--json", "--tcp", "0", "--udp", "1", "--packets", "4")
    assert r.returncode == 0 and json.loads(r.stdout)[0]["lost"] == 0, r.stdout + r.stderr
    wait(lambda: any(f["tier"] == "pnic" and f["flow"].startswith("udp 10.0.0.1:42000")
                     and len(f["moves"]) == 2 for f in flows().values()),
         "the new UDP flow on the new PNIC")


@pytest.mark.shell
def test_a_p4runtime_shell_session_reads_both_nics_as_printed(up):
    """p4runtime-shell with election id 0,0, as `p4nic up` prints it: a backup controller of
    simple_switch_grpc that reads what the host wrote."""
    import p4runtime_sh.shell as sh
    _, described = up
    p4nic("traffic", "--tcp", "0", "--udp", "1", "--packets", "4", "--json")
    read = {}
    for name, nic in described["nics"].items():
        sh.setup(device_id=nic["device_id"], grpc_addr=nic["p4runtime"], election_id=(0, 0),
                 verbose=False)
        try:
            read[name] = {"flows": list(sh.TableEntry("services.flow_table").read()),
                          "filters": list(sh.TableEntry("filters").read()) if name == "vm1"
                          else None}
        finally:
            sh.teardown()
    assert read["nic0"]["flows"] and read["vm1"]["flows"]
    assert len(read["vm1"]["filters"]) == 3                # the file's three filter rules


def test_ctrl_c_stops_the_host_and_its_switches(up):
    process, described = up
    assert "Traceback" not in stop(process)
    assert process.returncode == 0
    for nic in described["nics"].values():
        assert bmv2_serving(nic["p4runtime"]) == []
    r = p4nic("status")
    assert r.returncode == 1 and "no host is up" in r.stderr


def test_idle_flows_end_on_bmv2_by_its_idle_timeout_notifications(tmp_path):
    path = tmp_path / "host.nic"
    path.write_text(HOST_FILE.read_text().replace("idle 60s", "idle 2s"))
    process, _ = start_up(path, tmp_path / "run")
    try:
        r = p4nic("traffic", "--json", "--tcp", "0", "--udp", "2", "--packets", "4")
        assert r.returncode == 0, r.stdout + r.stderr

        def both_ended():
            status = json.loads(p4nic("status", "--json").stdout)
            ends = [m for m in status["moves"] if m["to"] == "ended"]
            return not status["flows"] and len(ends) == 2 and ends

        ends = wait(both_ended, "both UDP flows ended")
        assert all(m["from"] == "pnic" and m["why"] == "idle timeout" for m in ends)
    finally:
        assert "Traceback" not in stop(process)
