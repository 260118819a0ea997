"""`p4nic tables`, `p4nic table-dump` and `p4nic counters`, run as processes against a
`p4nic switch` process: names from the switch's own P4Info, values over P4Runtime Read."""
import subprocess
import sys
from pathlib import Path

import pytest

from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import EntityBuilder
from p4nic.runtime.local_switch import LocalSwitch
from p4nic.runtime.wire import PacketWire

PROGRAM = Path(__file__).resolve().parent / "nic" / "programs_p4rt" / "p4rt_compiled.p4"
P4NIC = [sys.executable, "-m", "p4nic.cli"]
FRAME = bytes.fromhex("00000000000a" "000000000001" "0800") + bytes(46)


@pytest.fixture(scope="module")
def switch(tmp_path_factory):
    """The program with two fwd entries and an acl entry; one frame counted on port 2 (its
    port_counter cell and its fwd entry's direct counter); the primary controller stays."""
    with LocalSwitch.from_p4(PROGRAM, tmp_path_factory.mktemp("inspect")) as running:
        p4 = EntityBuilder(running.p4info_path)
        with Connection(running.grpc_addr, election_id=(0, 1)) as conn:
            conn.set_pipeline(running.p4info_path, running.json_path.read_bytes())
            conn.insert(p4.table_entry("fwd", {"dstAddr": "00:00:00:00:00:0a"}, "count_port",
                                       {"port": 3}),
                        p4.table_entry("fwd", {"dstAddr": "00:00:00:00:00:0b"}, "forward",
                                       {"port": 4}),
                        p4.table_entry("acl", {"etherType": (0x0806, 0xFFFF)}, "drop",
                                       priority=7))
            with PacketWire(running.packet_socket) as wire:
                wire.send(2, FRAME)
                assert wire.expect(port=3, timeout=30) == (3, FRAME)
            yield running
            assert conn.is_primary   # the commands read without taking the switch over


def p4nic(switch, *args):
    r = subprocess.run(P4NIC + [args[0], "--grpc-addr", switch.grpc_addr, *args[1:]],
                       capture_output=True, text=True, timeout=120)
    assert "Traceback" not in r.stderr
    return r


def test_tables_lists_entries_keys_and_actions(switch):
    r = p4nic(switch, "tables")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    fwd = lines.index("MyIngress.fwd: 2/1024 entries")
    assert lines[fwd + 1] == "  key: hdr.ethernet.dstAddr (exact, 48)"
    assert lines[fwd + 2].startswith("  actions: MyIngress.forward, MyIngress.drop")
    acl = lines.index("MyIngress.acl: 1/1024 entries")
    assert lines[acl + 1] == ("  key: hdr.ethernet.etherType (ternary, 16), "
                              "hdr.ethernet.srcAddr (ternary, 48)")


def test_table_dump_shows_keys_actions_data_and_counters(switch):
    r = p4nic(switch, "table-dump", "fwd")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "table MyIngress.fwd: 2 entries",
        "entry 0:",
        "  hdr.ethernet.dstAddr: 0x00000000000a",
        "  action: MyIngress.count_port(port=0x003)",
        "  counter: 1 packets, 60 bytes",
        "entry 1:",
        "  hdr.ethernet.dstAddr: 0x00000000000b",
        "  action: MyIngress.forward(port=0x004)",
        "  counter: 0 packets, 0 bytes",
        "default action: NoAction()",
    ]
    acl = p4nic(switch, "table-dump", "MyIngress.acl")
    assert acl.stdout.splitlines()[1:4] == [
        "entry 0, priority 7:",
        "  hdr.ethernet.etherType: 0x0806 &&& 0xffff",
        "  action: MyIngress.drop()",
    ]


def test_counters_show_nonzero_cells_and_direct_counters(switch):
    r = p4nic(switch, "counters")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "counter MyIngress.port_counter (512 cells): 1 shown (non-zero)",
        "  [2] 1 packets, 60 bytes",
        "direct counter MyIngress.fwd_counter (table MyIngress.fwd, 2 entries): 1 shown "
        "(non-zero)",
        "  hdr.ethernet.dstAddr=0x00000000000a: 1 packets, 60 bytes",
    ]
    one = p4nic(switch, "counters", "port_counter", "--index", "5")
    assert one.stdout.splitlines()[1:] == ["  [5] 0 packets, 0 bytes"]


def test_errors_are_clear(switch):
    missing = p4nic(switch, "table-dump", "nosuch")
    assert missing.returncode == 1
    assert "no table named 'nosuch' in the P4Info (there are: MyIngress.acl, MyIngress.fwd)" \
        in missing.stderr
    no_counter = p4nic(switch, "counters", "nosuch")
    assert no_counter.returncode == 1 and "no counter named 'nosuch'" in no_counter.stderr
    nobody = subprocess.run(P4NIC + ["tables", "--grpc-addr", "127.0.0.1:1"],
                            capture_output=True, text=True, timeout=120)
    assert nobody.returncode == 1 and "no P4Runtime server answered" in nobody.stderr
