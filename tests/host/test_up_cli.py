"""`p4nic up`, `p4nic traffic` and `p4nic status` as a user runs them: processes, their output,
and the NICs they leave reachable."""
import json
import os
import signal
import subprocess
import time

import pytest
from p4nic.proto import p4runtime_pb2

from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import EntityBuilder

from up_helpers import HOST_FILE, P4NIC, p4nic, traffic_all_answered


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("h1")
    process = subprocess.Popen([P4NIC, "up", str(HOST_FILE), "--json", "--run-dir", str(run_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line:
        process.kill()
        pytest.fail("p4nic up printed nothing:\n" + process.stderr.read()[-3000:])
    described = json.loads(line)
    yield process, described
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def flow_table(nic: dict) -> list:
    builder = EntityBuilder(nic["p4info"])
    table = builder.names.table("services.flow_table").preamble.id
    with Connection(nic["p4runtime"], device_id=nic["device_id"], arbitrate=False) as conn:
        return conn.read(p4runtime_pb2.TableEntry(table_id=table))


def test_up_describes_both_nics_and_they_answer(up):
    _, described = up
    assert described["host"] == "h1" and described["vnic"] == "vm1" and described["pnic"] == "nic0"
    for name, nic in described["nics"].items():
        assert nic["p4runtime"].startswith("127.0.0.1:")          # loopback only
        assert nic["packet_socket"].startswith("ipc://")
        with Connection(nic["p4runtime"], device_id=nic["device_id"], election_id=(0, 0)) as conn:
            assert not conn.is_primary                          # the host is their controller
            assert conn.get_p4info().tables
    assert described["nics"]["vm1"]["ports_wired"] == [0]
    assert described["nics"]["nic0"]["ports_wired"] == [1]


def test_a_second_up_of_the_same_host_is_refused(up):
    r = p4nic("up", str(HOST_FILE), timeout=120)
    assert r.returncode == 1
    assert "host h1 is already up" in r.stderr and "Traceback" not in r.stderr


def test_traffic_is_answered_and_flows_reach_the_pnic(up):
    _, described = up
    traffic_all_answered()
    # the UDP flows reach the PNIC; the closed TCP flows, once quiet there, return to the guest
    end = time.monotonic() + 60
    while time.monotonic() < end:
        status = json.loads(p4nic("status", "--json").stdout)
        udp = [f for f in status["flows"] if f["flow"].startswith("udp")]
        tcp = [f for f in status["flows"] if f["flow"].startswith("tcp")]
        if len(udp) == 2 and all(f["tier"] == "pnic" for f in udp) and all(
                f["tier"] == "guest" and f["moves"] for f in tcp):
            break
        time.sleep(0.2)
    assert [m["to"] for m in udp[0]["moves"]] == ["vnic", "pnic"]
    assert all(f["tier"] == "guest" and f["moves"][-1]["to"] == "guest" for f in tcp)  # closed
    assert status["filters"] and any(row["packets"] for row in status["filters"])
    assert flow_table(described["nics"]["nic0"])          # the UDP flows' entries
    assert flow_table(described["nics"]["vm1"])           # their pass-throughs


def test_status_prints_tiers_flows_and_moves(up):
    r = p4nic("status")
    assert r.returncode == 0, r.stderr
    for heading in ("flows per tier", "flows", "ports", "VNIC filters", "last moves"):
        assert heading in r.stdout


@pytest.mark.shell
def test_a_p4runtime_shell_session_reads_the_flow_table_of_both_nics(up):
    """As the host prints it: p4runtime-shell with election id 0,0 is a backup controller of
    the NIC (the host stays its primary) and reads what the offload put there."""
    import p4runtime_sh.shell as sh
    _, described = up
    p4nic("traffic", "--tcp", "0", "--udp", "1", "--packets", "4", "--json")
    read = {}
    for name, nic in described["nics"].items():
        sh.setup(device_id=nic["device_id"], grpc_addr=nic["p4runtime"], election_id=(0, 0),
                 verbose=False)
        try:
            read[name] = list(sh.TableEntry("services.flow_table").read())
        finally:
            sh.teardown()
    assert read["nic0"] and read["vm1"]
    assert {entry.action.action_name for entry in read["nic0"]} <= {
        "PnicIngress.services.svc_allow", "PnicIngress.services.svc_nat"}


def test_ctrl_c_stops_the_host_and_its_switches(up):
    process, described = up
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    for nic in described["nics"].values():
        with pytest.raises(Exception):
            Connection(nic["p4runtime"], timeout=2)
    r = p4nic("status")
    assert r.returncode == 1 and "no host is up" in r.stderr


def test_a_file_with_errors_is_reported_not_started(tmp_path):
    broken = tmp_path / "broken.nic"
    broken.write_text("host h9 {\n    vnic vm9 { queues 4 filters { tcp dport 99999 -> queue 2 } }\n}\n")
    r = p4nic("up", str(broken), timeout=120)
    assert r.returncode == 1
    assert "broken.nic:2:" in r.stderr and "Traceback" not in r.stderr


def test_bmv2_without_simple_switch_grpc_says_so(tmp_path):
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    r = subprocess.run([P4NIC, "up", str(HOST_FILE), "--bmv2", "--run-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 1
    assert "simple_switch_grpc is not on PATH" in r.stderr and "Traceback" not in r.stderr
