"""The switch's `--log-console` trace, line for line as BMv2's simple_switch writes it for one
packet (parser, conditions with their P4 source, table lookups with padded keys, the entry hit,
actions and their primitives with source, deparser) and for the control plane (pipeline
pushed, entries added / modified / removed, default entries): a `p4nic switch` process driven
over P4Runtime and its packet socket, its log read back."""
import re
import time
from pathlib import Path

import pytest

from p4nic.nic.device import Device
from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import EntityBuilder
from p4nic.runtime.local_switch import LocalSwitch, compile_p4
from p4nic.runtime.wire import PacketWire

PROGRAM = Path(__file__).resolve().parent / "programs_p4rt" / "p4rt_compiled.p4"
FRAME = bytes.fromhex("00000000000a" "000000000001" "0800") + bytes(46)


def line_of(text: str) -> int:
    """The line of PROGRAM holding `text` (so the test does not hard-code line numbers)."""
    for number, line in enumerate(PROGRAM.read_text().splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(text)


def messages(log: str) -> list[str]:
    """Each log record without its time and thread: '[T] text' (continuation lines joined)."""
    records = re.split(r"^\[[\d:.]+\] \[p4nic\] ", log, flags=re.M)[1:]
    return [re.sub(r" \[thread \d+\] ", " ", r, count=1).rstrip("\n") for r in records]


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    with LocalSwitch.from_p4(PROGRAM, tmp_path_factory.mktemp("trace"),
                             switch_args=["--log-console"]) as switch:
        p4 = EntityBuilder(switch.p4info_path)
        with Connection(switch.grpc_addr, election_id=(0, 1)) as conn:
            conn.set_pipeline(switch.p4info_path, switch.json_path.read_bytes())
            conn.insert(p4.table_entry("fwd", {"dstAddr": "00:00:00:00:00:0a"}, "count_port",
                                       {"port": 3}))
            conn.insert(p4.table_entry("acl", {"etherType": (0x0806, 0xFFFF)}, "drop",
                                       priority=7))
            conn.modify(p4.table_entry("fwd", {"dstAddr": "00:00:00:00:00:0a"}, "forward",
                                       {"port": 3}))
            conn.modify(p4.table_entry("acl", action="NoAction", default=True))
            with PacketWire(switch.packet_socket) as wire:
                wire.send(2, FRAME)
                assert wire.expect(port=3, timeout=30) == (3, FRAME)
            conn.delete(p4.table_entry("acl", {"etherType": (0x0806, 0xFFFF)}, priority=7))
            conn.modify(p4.table_entry("acl", default=True))
            deadline = time.monotonic() + 30   # the log is written as the switch works
            while "Reset default entry" not in switch.log_path.read_text():
                assert time.monotonic() < deadline, switch.log_path.read_text()
                time.sleep(0.05)
        return messages(switch.log_path.read_text())


def test_control_plane_changes_are_logged_as_bmv2_logs_them(log):
    assert any(m.startswith("[D] P4Runtime: forwarding pipeline config committed on device 0: "
                            "2 tables") for m in log)
    added = log.index("[D] Entry 0 added to table 'MyIngress.fwd'")
    assert log[added + 1] == ("[D] Dumping entry 0\nMatch key:\n"
                              "* hdr.ethernet.dstAddr: EXACT     00000000000a\n"
                              "Action entry: MyIngress.count_port - 3,")
    acl = log.index("[D] Entry 0 added to table 'MyIngress.acl'")
    assert log[acl + 1] == ("[D] Dumping entry 0\nMatch key:\n"
                            "* hdr.ethernet.etherType: TERNARY   0806 &&& ffff\n"
                            "* hdr.ethernet.srcAddr  : TERNARY   000000000000 &&& 000000000000\n"
                            "Priority: 7\n"
                            "Action entry: MyIngress.drop - ")
    modified = log.index("[D] Modified entry 0 in table 'MyIngress.fwd'")
    assert log[modified + 1].endswith("Action entry: MyIngress.forward - 3,")
    assert "[D] Set default entry for table 'MyIngress.acl': NoAction - " in log
    assert "[D] Removed entry 0 from table 'MyIngress.acl'" in log
    assert "[D] Reset default entry for table 'MyIngress.acl' to: NoAction - " in log


def test_one_packet_is_traced_line_for_line(log):
    first = log.index("[D] [1.0] [cxt 0] Processing packet received on port 2")
    packet = [m.replace("[1.0] [cxt 0] ", "") for m in log[first:] if "[1.0] [cxt 0]" in m]
    expected = [
        "[D] Processing packet received on port 2",
        "[D] Packet of size 60",
        "[D] Parser 'parser': start",
        "[D] Parser 'parser' entering state 'start'",
        "[D] Parser state 'start': key is 0002",        # std.ingress_port, 9 bits: 2 bytes
        "[T] Bytes parsed: 0",
        "[D] Parser 'parser' entering state 'parse_ethernet'",
        "[D] Extracting header 'ethernet'",
        "[D] Parser state 'parse_ethernet' has no switch, going to default next state",
        "[T] Bytes parsed: 14",
        "[D] Parser 'parser': end",
        "[D] Pipeline 'ingress': start",
        rf"\[T\] .*{re.escape(PROGRAM.name)}\({line_of('if (hdr.packet_out.isValid())')}\) "
        r'Condition "hdr.packet_out.isValid\(\)" \(node\) is false',
        "[T] Applying table 'MyIngress.fwd'",
        "[D] Looking up key:\n* hdr.ethernet.dstAddr: 00000000000a",
        "[D] Table 'MyIngress.fwd': hit with handle 0",
        "[D] Dumping entry 0\nMatch key:\n* hdr.ethernet.dstAddr: EXACT     00000000000a\n"
        "Action entry: MyIngress.forward - 3,",
        "[D] Action entry is MyIngress.forward - 3,",
        rf"\[T\] .*{re.escape(PROGRAM.name)}\({line_of('action forward')}\) "
        "Action MyIngress.forward",
        rf"\[T\] .*{re.escape(PROGRAM.name)}\({line_of('action forward')}\) "
        "Primitive std.egress_spec = port",
        "[T] Applying table 'MyIngress.acl'",
        "[D] Looking up key:\n* hdr.ethernet.etherType: 0800\n* hdr.ethernet.srcAddr  : 000000000001",
        "[D] Table 'MyIngress.acl': miss",
        "[D] Action entry is NoAction - ",
        r"\[T\] .*core\.p4\(\d+\) Action NoAction",
        "[D] Pipeline 'ingress': end",
        "[D] Egress port is 3",
        "[D] Pipeline 'egress': start",
        "[D] Pipeline 'egress': end",
        "[D] Deparser 'deparser': start",
        "[D] Deparsing header 'ethernet'",
        "[D] Deparser 'deparser': end",
        "[D] Transmitting packet of size 60 out of port 3",
    ]
    assert len(packet) == len(expected), "\n".join(packet)
    for got, want in zip(packet, expected):
        if want.startswith(r"\["):
            assert re.fullmatch(want, got), (got, want)
        else:
            assert got == want, (got, want)


def test_no_trace_calls_in_the_generated_code_when_logging_is_off(tmp_path):
    """Free when off: the pipeline compiled without a logger carries no trace call at all."""
    json_path, _ = compile_p4(PROGRAM, tmp_path)
    quiet, traced = Device(), Device(logger=lambda line: None)
    quiet.load(json_path.read_text())
    traced.load(json_path.read_text())
    assert "_tr" not in quiet.compiled.source
    assert "_tr.hit(" in traced.compiled.source and "_tr.trace(" in traced.compiled.source
