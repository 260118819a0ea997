"""p4runtime-shell, unmodified from PyPI, drives `p4nic switch` as it would simple_switch_grpc:
push the pipeline, insert and read table entries and counters, packet-out and packet-in."""
import time

import pytest


pytestmark = pytest.mark.shell
sh = pytest.importorskip("p4runtime_sh.shell", reason="p4runtime-shell is not installed here: "
                         "`make test` runs these tests in .venv-shell")

from p4rt_client import PROGRAMS, SwitchProcess, Wire  # noqa: E402


@pytest.fixture
def shell(tmp_path):
    switch = SwitchProcess(tmp_path, device_id=1, cpu_port=255)
    try:
        sh.setup(device_id=1, grpc_addr=switch.address, election_id=(0, 1), verbose=False,
                 config=sh.FwdPipeConfig(str(PROGRAMS / "p4rt_basic.p4info.txtpb"),
                                         str(PROGRAMS / "p4rt_basic.json")))
        yield switch
    finally:
        if sh.client is not None:
            sh.teardown()
        assert switch.stop() == 0


def test_table_entries_and_counters_through_the_shell(shell):
    te = sh.TableEntry("MyIngress.fwd")(action="MyIngress.forward")
    te.match["hdr.ethernet.dstAddr"] = "00:00:00:00:00:01"
    te.action["port"] = "2"
    te.insert()
    acl = sh.TableEntry("MyIngress.acl")(action="MyIngress.drop")
    acl.match["hdr.ethernet.etherType"] = "0x0806&&&0xffff"
    acl.priority = 7
    acl.insert()

    (read,) = list(sh.TableEntry("MyIngress.fwd").read())
    assert read.match["hdr.ethernet.dstAddr"].exact.value == b"\x01"
    assert read.action["port"].value == b"\x02"
    (read_acl,) = list(sh.TableEntry("MyIngress.acl").read())
    assert read_acl.priority == 7

    read.action["port"] = "5"
    read.modify()
    (again,) = list(sh.TableEntry("MyIngress.fwd").read())
    assert again.action["port"].value == b"\x05"

    counter = sh.CounterEntry("MyIngress.port_counter")
    counter.index = 4
    counter.packet_count = 10
    counter.byte_count = 640
    counter.modify()
    cell = sh.CounterEntry("MyIngress.port_counter")
    cell.index = 4
    (value,) = list(cell.read())
    assert (value.packet_count, value.byte_count) == (10, 640)
    assert len(list(sh.CounterEntry("MyIngress.port_counter").read())) == 512

    direct = sh.DirectCounterEntry("MyIngress.fwd_counter")
    direct.table_entry.match["hdr.ethernet.dstAddr"] = "00:00:00:00:00:01"
    (direct_value,) = list(direct.read())
    assert direct_value.packet_count == 0

    again.delete()
    assert list(sh.TableEntry("MyIngress.fwd").read()) == []


def test_packet_out_and_packet_in_through_the_shell(shell):
    packet_in = sh.PacketIn()   # starts listening on the shell's stream
    wire = Wire(shell.socket)
    try:
        frame = bytes.fromhex("000000000002" "000000000001" "0800") + b"from the controller"
        sh.PacketOut(frame, egress_port="3", _pad="0").send()
        assert wire.recv() == (3, frame)

        te = sh.TableEntry("MyIngress.fwd")(action="MyIngress.send_to_cpu")
        te.match["hdr.ethernet.dstAddr"] = "00:00:00:00:00:09"
        te.insert()
        to_cpu = bytes.fromhex("000000000009" "000000000001" "0800") + b"to the controller"
        wire.send(6, to_cpu)
        deadline = time.monotonic() + 30   # a loaded machine can take seconds
        messages = []
        while not messages and time.monotonic() < deadline:
            messages = list(packet_in.sniff(timeout=1))
        (message,) = messages
        assert message.packet.payload == to_cpu
        assert {m.metadata_id: m.value for m in message.packet.metadata} == {1: b"\x06", 2: b"\x00"}
    finally:
        wire.close()
