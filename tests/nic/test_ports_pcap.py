"""pcap capture files and BMv2's --use-files mode, checked against scapy's independent pcap code."""
import time

import pytest
from scapy.packet import Raw
from scapy.utils import PcapWriter as ScapyPcapWriter
from scapy.utils import rdpcap

from p4nic.nic.ports import PortError
from p4nic.nic.ports.files import FilePorts
from p4nic.nic.ports.pcap import PcapCapture, PcapError, PcapWriter, read_pcap


def test_written_file_reads_back_in_scapy_and_here(tmp_path):
    path = tmp_path / "cap.pcap"
    writer = PcapWriter(path)
    writer.write(b"\xaa" * 60, timestamp=1700000000.25)
    writer.write(b"\xbb" * 1514, timestamp=1700000001.5)
    writer.close()
    assert [bytes(p) for p in rdpcap(str(path))] == [b"\xaa" * 60, b"\xbb" * 1514]
    assert read_pcap(path) == [(1700000000.25, b"\xaa" * 60), (1700000001.5, b"\xbb" * 1514)]


@pytest.mark.parametrize("nano", [False, True])
def test_reads_files_other_tools_write(tmp_path, nano):
    path = tmp_path / "other.pcap"
    packet = Raw(b"\x01\x02\x03")
    packet.time = 10.5
    writer = ScapyPcapWriter(str(path), linktype=1, nano=nano, sync=True)
    writer.write(packet)
    writer.close()
    assert read_pcap(path) == [(10.5, b"\x01\x02\x03")]


def test_bad_files_are_clear_errors(tmp_path):
    (tmp_path / "junk.pcap").write_bytes(b"not a capture file at all")
    with pytest.raises(PcapError, match="not a pcap file"):
        read_pcap(tmp_path / "junk.pcap")
    good = tmp_path / "cut.pcap"
    writer = PcapWriter(good)
    writer.write(b"x" * 100)
    writer.close()
    good.write_bytes(good.read_bytes()[:-10])
    with pytest.raises(PcapError, match="truncated packet"):
        read_pcap(good)


def test_capture_writes_one_file_per_interface_and_direction(tmp_path):
    capture = PcapCapture(str(tmp_path), {1: "veth1", 2: "veth2"})
    capture.received([(1, b"in1"), (9, b"no-such-port")])
    capture.sent([(2, b"out2a"), (2, b"out2b")])
    assert [p for _, p in read_pcap(tmp_path / "veth1_in.pcap")] == [b"in1"]
    assert [p for _, p in read_pcap(tmp_path / "veth2_out.pcap")] == [b"out2a", b"out2b"]
    capture.close()
    assert read_pcap(tmp_path / "veth2_in.pcap") == read_pcap(tmp_path / "veth1_out.pcap") == []


def write_input(path, packets):
    writer = PcapWriter(path)
    for ts, packet in packets:
        writer.write(packet, timestamp=ts)
    writer.close()


def test_use_files_merges_inputs_by_time_after_the_wait(tmp_path):
    write_input(tmp_path / "p1_in.pcap", [(1.0, b"a"), (3.0, b"c")])
    write_input(tmp_path / "p2_in.pcap", [(2.0, b"b"), (3.0, b"d")])
    ports = FilePorts({1: "p1", 2: "p2"}, wait_seconds=1.0, directory=str(tmp_path))
    assert ports.fileno() is None and ports.ports == {1, 2}
    assert ports.receive(10) == []  # still waiting
    deadline = time.monotonic() + 30
    while not (first := ports.receive(3)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert first == [(1, b"a"), (2, b"b"), (1, b"c")]
    assert ports.receive(3) == [(2, b"d")]
    assert ports.receive(3) == []
    ports.transmit([(2, b"x"), (1, b"y"), (5, b"to a port without a file"), (2, b"z")])
    ports.close()
    assert [p for _, p in read_pcap(tmp_path / "p2_out.pcap")] == [b"x", b"z"]
    assert [p for _, p in read_pcap(tmp_path / "p1_out.pcap")] == [b"y"]


def test_use_files_errors(tmp_path):
    with pytest.raises(PortError, match="p9_in.pcap' does not exist"):
        FilePorts({9: "p9"}, 0, directory=str(tmp_path))
    (tmp_path / "bad_in.pcap").write_bytes(b"\x00" * 30)
    ports = FilePorts({1: "bad"}, 0, directory=str(tmp_path))
    with pytest.raises(PortError, match="not a pcap file"):
        ports.receive(1)
    ports.close()
