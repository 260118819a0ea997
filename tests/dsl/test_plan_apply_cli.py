"""`p4nic plan` / `p4nic apply` as commands, against real `p4nic switch` processes: exit codes,
--target, mastership, --atomic across NICs, stage chains. The file is given to the command
already loaded ({nic name: NicEntries}, as `p4nic.dsl.load(...).entries()` returns it)."""
import io

import pytest

from apply_harness import FileBuilder, fresh_pipeline, next_election, read_all, start_vnic
from p4nic.dsl import apply_cli
from p4nic.runtime.connection import Connection

FILTERS_SIZE = 1024


@pytest.fixture(scope="module")
def switches(tmp_path_factory):
    with start_vnic(tmp_path_factory.mktemp("vm1")) as vm1, \
            start_vnic(tmp_path_factory.mktemp("vm2")) as vm2:
        yield vm1, vm2


@pytest.fixture
def nic(switches):
    for switch in switches:
        fresh_pipeline(switch.grpc_addr)
    return switches[0].grpc_addr


def run(command, files, *args, chains=None):
    """The command over `files` (FileBuilders): (exit status, what it printed)."""
    options = apply_cli.parser(command).parse_args(["host.nic", *args])
    out = io.StringIO()
    status = apply_cli.run(command, {f.target.name: f.build() for f in files}, chains or {},
                           options, out)
    return status, out.getvalue()


def filters(address, name="vm1", ports=(80, 443)):
    f = FileBuilder(address, name=name, file="host.nic", election_id=next_election())
    for port in ports:
        f.entry(f"tcp dport {port} -> queue 2", "filters", {"ip_ver": 4, "proto": 6,
                "dport": port}, "filter_to_queue", {"queue": 2}, priority=10)
    return f


def state(address):
    with Connection(address, arbitrate=False) as conn:
        return read_all(conn)


def test_detailed_exitcode(nic, capsys):
    f = filters(nic)
    status, text = run("plan", [f], "--detailed-exitcode")
    assert status == 2 and "2 to add, 0 to change, 0 to delete" in text
    assert "+ VnicIngress.filters  meta.ip_ver=4 meta.proto=6 meta.dport=443  priority 10" in text
    assert run("plan", [f])[0] == 0
    status, text = run("apply", [filters(nic)])
    assert status == 0 and "2 changes applied [CONTINUE_ON_ERROR]" in text
    status, text = run("plan", [f], "--detailed-exitcode")
    assert status == 0 and "no changes (2 declared entities installed as declared)" in text
    with Connection(nic, election_id=next_election()) as other:
        other.insert(f.p4.table_entry("filters", {"ip_ver": 4, "proto": 6, "dport": 22},
                                      "filter_drop", priority=10))
    status, text = run("plan", [filters(nic, ports=(22, 80, 443))], "--detailed-exitcode")
    assert status == 1 and "1 conflict" in text
    status, _ = run("apply", [filters(nic, ports=(22, 80, 443))])
    assert status == 1 and "nothing was applied" in capsys.readouterr().err


def test_target_overrides_the_files_address(switches, nic, capsys):
    vm2 = switches[1].grpc_addr
    status, _ = run("plan", [filters(None)], "--detailed-exitcode")
    assert status == 1
    assert ("NIC 'vm1' has no P4Runtime address in the file: give --target vm1=HOST:PORT"
            in capsys.readouterr().err)
    # The file says a port nothing listens on: --target wins, so nothing waits on it.
    unreachable = filters("127.0.0.1:1")
    assert run("plan", [unreachable], "--target", f"vm1={vm2}", "--detailed-exitcode")[0] == 2
    assert run("apply", [filters("127.0.0.1:1")], "--target", f"vm1={vm2}")[0] == 0
    assert run("plan", [unreachable], "--target", f"vm1={vm2}", "--detailed-exitcode")[0] == 0
    assert run("plan", [filters(nic)], "--detailed-exitcode")[0] == 2     # vm1's own NIC: empty
    for bad, message in (("ghost=127.0.0.1:9559", "the file names no NIC 'ghost' (its NICs: vm1)"),
                         ("vm1", "--target vm1: expected NAME=HOST:PORT"),
                         ("vm1=localhost", "--target vm1=localhost: expected NAME=HOST:PORT"),
                         ("vm1=h:99999", "expected NAME=HOST:PORT")):
        assert run("plan", [filters(nic)], "--target", bad)[0] == 1
        assert message in capsys.readouterr().err


def test_apply_needs_mastership_and_plan_does_not_take_it(nic, capsys):
    f = filters(nic)                                     # the file's election id ...
    with Connection(nic, election_id=next_election()) as other:   # ... is below this one's
        assert other.is_primary
        before = state(nic)
        assert run("apply", [f])[0] == 1
        assert "another controller is primary" in capsys.readouterr().err
        assert state(nic) == before
        higher = filters(nic)                            # plan with a higher id: only reads
        assert run("plan", [higher], "--detailed-exitcode")[0] == 2
        assert other.arbitrate(), "plan took mastership from the running controller"
        other.insert(f.p4.table_entry("filters", {"dport": 1}, "filter_drop", priority=1))


def overfull(address, name):
    return filters(address, name=name, ports=range(FILTERS_SIZE + 1))


def test_atomic_apply_across_nics_is_all_or_nothing(switches, nic, capsys):
    vm1, vm2 = (s.grpc_addr for s in switches)
    before = state(vm1), state(vm2)
    status, text = run("apply", [filters(vm1), overfull(vm2, "vm2")], "--atomic")
    assert status == 1
    assert f"vm1 ({vm1}, device 0): 2 changes applied [DATAPLANE_ATOMIC]" in text
    assert (f"vm2 ({vm2}, device 0): apply FAILED: {FILTERS_SIZE} not applied, 1 failed "
            "[DATAPLANE_ATOMIC]") in text
    assert "RESOURCE_EXHAUSTED: table VnicIngress.filters is full (1024 entries)" in text
    assert f"vm1 ({vm1}, device 0): everything this apply wrote was undone" in text
    assert (state(vm1), state(vm2)) == before
    # Without --atomic: vm1 keeps what it got; vm2 is filled up to the failure.
    status, text = run("apply", [filters(vm1), overfull(vm2, "vm2")])
    assert status == 1 and f"apply FAILED: {FILTERS_SIZE} applied, 1 failed" in text
    assert state(vm1) != before[0]


def test_apply_stops_at_the_first_failing_nic(switches, nic, capsys):
    vm1, vm2 = (s.grpc_addr for s in switches)
    status, _ = run("apply", [overfull(vm1, "vm1"), filters(vm2, name="vm2")])
    assert status == 1
    assert "not applied to vm2 (stopped at vm1)" in capsys.readouterr().err
    assert run("plan", [filters(vm2, name="vm2")], "--detailed-exitcode")[0] == 2


def chains():
    fixed = ["classify", "filter", "acl", "services", "qselect", "encap"]
    return [
        {"profile": 0, "flows": "every other flow",
         "stages": [{"name": s, "kind": "fixed"} for s in fixed]},
        {"profile": 1, "flows": "tcp dport 80",
         "stages": [{"name": s, "kind": "fixed"} for s in fixed[:3]]
         + [{"name": "scrub", "kind": "injected"}]
         + [{"name": s, "kind": "fixed"} for s in fixed[3:]]},
        {"profile": 2, "flows": "ip saddr 10.9.0.0/16",
         "stages": [{"name": s, "kind": "bypassed" if s in ("acl", "services") else "fixed"}
                    for s in fixed]},
    ]


def test_plan_prints_each_profiles_stage_chain(nic):
    status, text = run("plan", [filters(nic)], chains={"vm1": chains()})
    assert status == 0
    lines = [line.strip() for line in text.splitlines()]
    at = lines.index("stage chains (+injected, ~~bypassed~~):")
    assert lines[at + 1:at + 4] == [
        "profile 0  every other flow  classify > filter > acl > services > qselect > encap",
        "profile 1  tcp dport 80  classify > filter > acl > +scrub > services > qselect > encap",
        "profile 2  ip saddr 10.9.0.0/16  classify > filter > ~~acl~~ > ~~services~~ > "
        "qselect > encap"]
    status, colored = run("plan", [filters(nic)], "--color", "always", chains={"vm1": chains()})
    assert "~~" not in colored
    assert "\x1b[2;9macl\x1b[0m" in colored           # dim, struck through
    assert "\x1b[1;32m+scrub\x1b[0m" in colored        # bold green

