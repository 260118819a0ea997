"""Issue 3 items an STF file cannot set up (action profile members and groups, direct meters,
parser value sets, the switch's --priority-queues), run through the real interfaces instead:
`p4nic switch` as a process, programmed over P4Runtime (p4nic.runtime), packets through its
nanomsg packet socket or pcap files. docs/stf-coverage.md names the other tests of this kind
(digests, idle timeouts)."""
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from p4nic.proto import p4runtime_pb2 as pb

from p4nic.runtime.wire import PacketWire
from p4nic.nic.ports.pcap import PcapWriter, read_pcap
from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import EntityBuilder
from p4nic.runtime.local_switch import LocalSwitch, compile_p4

PROGRAM = Path(__file__).parent / "programs" / "beyond_stf.p4"
SRC_EVEN, SRC_ODD = bytes.fromhex("0000000000A0"), bytes.fromhex("0000000000A1")
TO_SPREAD, TO_PINNED = bytes.fromhex("000000000001"), bytes.fromhex("000000000002")


@pytest.fixture(scope="module")
def nic(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("beyond-stf")
    json_path, p4info_path = compile_p4(PROGRAM, workdir)
    with ExitStack() as stack:
        switch = stack.enter_context(LocalSwitch(json_path, workdir, p4info_path=p4info_path))
        conn = stack.enter_context(Connection(switch.grpc_addr, election_id=(0, 1)))
        conn.set_pipeline(p4info_path, json_path.read_bytes())
        wire = PacketWire(switch.packet_socket)
        stack.callback(wire.close)
        yield conn, EntityBuilder(p4info_path), wire


def exchange(wire: PacketWire, frame: bytes, port: int = 0) -> list:
    """Send one frame; every (port, frame) that came out, once the NIC has had time to answer."""
    wire.send(port, frame)
    deadline = time.monotonic() + 60  # only a failing test waits this long
    out = []
    while not out and time.monotonic() < deadline:
        time.sleep(0.02)
        out = wire.receive()
    time.sleep(0.05)
    return out + wire.receive()


def frame(dst: bytes, src: bytes, ether_type: str = "0800", rest: str = "77") -> bytes:
    return dst + src + bytes.fromhex(ether_type + rest)


def test_selector_groups_pick_members_by_hash_and_profiles_by_member(nic):
    conn, p4, wire = nic
    conn.insert(p4.action_profile_member("spread_selector", 1, "to_port", {"port": 2}),
                p4.action_profile_member("spread_selector", 2, "to_port", {"port": 3}),
                p4.action_profile_member("pinned_profile", 7, "to_port", {"port": 4}))
    conn.insert(p4.action_profile_group("spread_selector", 10, [1, 2], max_size=4))
    conn.insert(p4.table_entry("spread", {"hdr.eth.dst": TO_SPREAD}, group_id=10),
                p4.table_entry("pinned", {"hdr.eth.dst": TO_PINNED}, member_id=7))
    # identity hash of the source MAC: 0xA0 % 2 -> first member, 0xA1 % 2 -> second
    even, odd = frame(TO_SPREAD, SRC_EVEN), frame(TO_SPREAD, SRC_ODD)
    assert exchange(wire, even) == [(2, even)]
    assert exchange(wire, odd) == [(3, odd)]
    pinned = frame(TO_PINNED, SRC_EVEN)
    assert exchange(wire, pinned) == [(4, pinned)]
    # a group change and a member change reach the data plane
    conn.modify(p4.action_profile_group("spread_selector", 10, [2], max_size=4))
    assert exchange(wire, even) == [(3, even)]
    conn.modify(p4.action_profile_member("pinned_profile", 7, "to_port", {"port": 5}))
    assert exchange(wire, pinned) == [(5, pinned)]
    # no entry: the default egress port 1
    other = frame(bytes.fromhex("000000000009"), SRC_EVEN)
    assert exchange(wire, other) == [(1, other)]


def test_parser_value_set_is_matched_once_the_controller_fills_it(nic):
    conn, p4, wire = nic
    tagged = frame(bytes.fromhex("000000000009"), SRC_EVEN, "88B5", "07")
    assert exchange(wire, tagged) == [(1, tagged)]               # empty set: the tag stays payload
    value_set = p4.names.get("value_sets", "tag_types").preamble.id
    entry = pb.ValueSetEntry(value_set_id=value_set)
    entry.members.add().match.add(field_id=1).exact.value = bytes.fromhex("88B5")
    conn.modify(entry)
    assert exchange(wire, tagged) == [(1, tagged[:-1] + b"\x08")]  # parsed: ingress adds 1
    conn.modify(pb.ValueSetEntry(value_set_id=value_set))
    assert exchange(wire, tagged) == [(1, tagged)]


def test_direct_meter_configured_in_the_entry_colours_its_hits(nic):
    """BMv2 colours (meters.cpp): peak bucket first (empty: RED), then committed (empty:
    YELLOW). One packet per second refills nothing during the test."""
    conn, p4, wire = nic
    entry = p4.table_entry("metered", {"hdr.eth.etherType": bytes.fromhex("0900")}, "mark")
    entry.meter_config.cir, entry.meter_config.cburst = 1, 1
    entry.meter_config.pir, entry.meter_config.pburst = 1, 2
    conn.insert(entry)
    metered = frame(bytes.fromhex("000000000009"), SRC_EVEN, "0900")
    colours = [exchange(wire, metered)[0][1][11] for _ in range(3)]
    assert colours == [0, 1, 2]                                  # GREEN, YELLOW, RED


TRAFFIC_MANAGER = Path(__file__).parent / "programs" / "traffic_manager.p4"
PRIORITY_1 = bytes.fromhex("000000000001 AAAAAAAAAAAA 0005 05")  # ingress: priority 1, port 2
PRIORITY_0 = bytes.fromhex("000000000001 AAAAAAAAAAAA 0009 09")  # ingress: priority 0, port 2


def switch_on_files(tmp_path: Path, json_path: Path, burst: list[bytes], out_ports: dict[int, int],
                    options=()) -> dict[int, list[bytes]]:
    """Runs `p4nic switch --use-files` with `burst` in port 0's input file, so the switch reads
    it as one batch; returns what each port of `out_ports` ({port: packets to wait for})
    sent."""
    writer = PcapWriter(tmp_path / "p0_in.pcap")
    for packet in burst:
        writer.write(packet)
    writer.close()
    interfaces = ["-i", "0@p0"]
    for port in out_ports:
        PcapWriter(tmp_path / f"p{port}_in.pcap").close()
        interfaces += ["-i", f"{port}@p{port}"]
    outputs = {port: tmp_path / f"p{port}_out.pcap" for port in out_ports}
    with open(tmp_path / "switch.out", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "p4nic.cli", "switch", str(json_path), *interfaces,
             "--use-files", "0", *options, "--", "--grpc-server-addr", "127.0.0.1:0"],
            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        try:
            deadline = time.monotonic() + 120  # generous: a loaded machine starts Python slowly
            while any(len(captured(outputs[port])) < n for port, n in out_ports.items()):
                assert proc.poll() is None and time.monotonic() < deadline, \
                    (tmp_path / "switch.out").read_text()
                time.sleep(0.05)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    return {port: captured(path) for port, path in outputs.items()}


@pytest.mark.parametrize("queues, expected", [(None, [(9, 0)]), (8, [(5, 1), (9, 0)])])
def test_priority_queues_option_of_the_switch(tmp_path, queues, expected):
    """`p4nic switch --priority-queues K` on pcap files (--use-files): with the default single
    queue a priority-1 packet is dropped at enqueue (simple_switch.cpp enqueue), with 8 it
    passes, and egress sees its priority (the program stamps it into the source MAC's last
    byte). The priority-0 packet that follows marks the end."""
    json_path, _ = compile_p4(TRAFFIC_MANAGER, tmp_path)
    options = ["--priority-queues", str(queues)] if queues else []
    out = switch_on_files(tmp_path, json_path, [PRIORITY_1, PRIORITY_0], {2: len(expected)},
                          options)
    assert [(p[13], p[11]) for p in out[2]] == expected


QUEUES = Path(__file__).parent / "programs" / "queues.p4"


def queued(port: int, priority: int, seq: int) -> bytes:
    """To `port` with `priority` (queues.p4), numbered by the byte after the Ethernet header."""
    return bytes.fromhex(f"0000000000{port:02x} AAAAAAAAAAAA 000{priority} {seq:02x}")


def seen(packet: bytes) -> tuple[int, int, int, int, int]:
    """(number, priority, enq_qdepth, deq_qdepth, deq_timedelta consistent) stamped by egress."""
    src = packet[6:12]
    return (packet[14], src[0], int.from_bytes(src[1:3], "big"), int.from_bytes(src[3:5], "big"),
            src[5])


def test_burst_leaves_highest_priority_queue_first(tmp_path):
    """One burst of mixed priorities to one port with 8 priority queues: egress serves queue 7,
    then 3, then 0 (QueueingLogicPriRL), FIFO within each; enq_qdepth counts the packets
    already in the packet's queue, deq_qdepth those still behind it."""
    json_path, _ = compile_p4(QUEUES, tmp_path)
    burst = [queued(2, priority, seq) for seq, priority in enumerate([0, 3, 7, 3, 0, 7])]
    out = switch_on_files(tmp_path, json_path, burst, {2: 6}, ["--priority-queues", "8"])
    assert [seen(p) for p in out[2]] == [
        (2, 7, 0, 1, 1), (5, 7, 1, 0, 1),
        (1, 3, 0, 1, 1), (3, 3, 1, 0, 1),
        (0, 0, 0, 1, 1), (4, 0, 1, 0, 1)]


def test_queue_depths_per_port_with_one_queue(tmp_path):
    """The default single queue per port: a burst leaves each port in arrival order, and the
    queue depths count only packets for the same port."""
    json_path, _ = compile_p4(QUEUES, tmp_path)
    burst = [queued(port, 0, seq) for seq, port in enumerate([2, 3, 2, 2, 3])]
    out = switch_on_files(tmp_path, json_path, burst, {2: 3, 3: 2})
    assert [seen(p) for p in out[2]] == [(0, 0, 0, 2, 1), (2, 0, 1, 1, 1), (3, 0, 2, 0, 1)]
    assert [seen(p) for p in out[3]] == [(1, 0, 0, 1, 1), (4, 0, 1, 0, 1)]


def captured(path: Path) -> list[bytes]:
    return [packet for _, packet in read_pcap(path)] if path.exists() else []
