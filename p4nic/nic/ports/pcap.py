"""The classic libpcap file format: writing captures and reading packet files.

Written here rather than through scapy so the dataplane needs no heavy import. Files are
microsecond-resolution, Ethernet link type, as BMv2 writes them (src/bm_sim/pcap_file.cpp);
the reader also takes big-endian and nanosecond files, as written by other tools.
"""
import os
import struct
import time

MAGIC_USEC = 0xA1B2C3D4
MAGIC_NSEC = 0xA1B23C4D
LINKTYPE_ETHERNET = 1
SNAPLEN = 65535

GLOBAL_HEADER = struct.Struct("<IHHiIII")  # magic, major, minor, thiszone, sigfigs, snaplen, linktype
RECORD_HEADER = struct.Struct("<IIII")  # ts_sec, ts_frac, caplen, len


class PcapError(Exception):
    """A file that is not a readable pcap capture."""


class PcapWriter:
    """Appends packets to a new pcap file; `flush` makes them visible to readers."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self._file = open(self.path, "wb")
        self._file.write(GLOBAL_HEADER.pack(MAGIC_USEC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))
        self._file.flush()

    def write(self, packet: bytes, timestamp: float | None = None) -> None:
        self.write_many((packet,), timestamp)

    def write_many(self, packets, timestamp: float | None = None) -> None:
        """Appends `packets`, all stamped with one time (a batch leaves at once): one write."""
        sec, usec = _stamp(time.time() if timestamp is None else timestamp)
        pack = RECORD_HEADER.pack
        self._file.write(b"".join([piece for packet in packets
                                   for piece in (pack(sec, usec, len(packet), len(packet)), packet)]))

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _stamp(ts: float) -> tuple[int, int]:
    """A time in seconds as pcap's (seconds, microseconds)."""
    sec = int(ts)
    return sec, min(int(round((ts - sec) * 1_000_000)), 999_999)


def read_pcap(path: str | os.PathLike) -> list[tuple[float, bytes]]:
    """Every record of a pcap file as (timestamp in seconds, packet bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < GLOBAL_HEADER.size:
        raise PcapError(f"{os.fspath(path)}: too short for a pcap file header")
    for endian in ("<", ">"):
        magic = struct.unpack_from(endian + "I", data)[0]
        if magic in (MAGIC_USEC, MAGIC_NSEC):
            break
    else:
        raise PcapError(f"{os.fspath(path)}: not a pcap file (magic 0x{data[:4].hex()})")
    divisor = 1e9 if magic == MAGIC_NSEC else 1e6
    record = struct.Struct(endian + "IIII")
    packets = []
    offset = GLOBAL_HEADER.size
    while offset < len(data):
        if offset + record.size > len(data):
            raise PcapError(f"{os.fspath(path)}: truncated record header at byte {offset}")
        sec, frac, caplen, _ = record.unpack_from(data, offset)
        offset += record.size
        if offset + caplen > len(data):
            raise PcapError(f"{os.fspath(path)}: truncated packet at byte {offset}")
        packets.append((sec + frac / divisor, data[offset:offset + caplen]))
        offset += caplen
    return packets


def write_batch(writers: dict[int, PcapWriter], batch: list[tuple[int, bytes]]) -> None:
    """Writes each (port, packet) to its port's file, skipping ports without one, and flushes
    each file once, so readers see the batch as soon as it has left."""
    per_port: dict[int, list[bytes]] = {}
    for port, packet in batch:
        if port in writers:
            per_port.setdefault(port, []).append(packet)
    if not per_port:
        return
    now = time.time()
    for port, packets in per_port.items():
        writers[port].write_many(packets, now)
        writers[port].flush()


class PcapCapture:
    """`--pcap DIR`: every packet a port receives or sends, in DIR/<name>_in.pcap and _out.pcap.

    Names follow BMv2 (src/bm_sim/switch.cpp): one file per direction, named after the
    interface given with `-i PORT@IFACE`. Ports without an interface name (every port of a
    `--packet-in` nanomsg socket) are named `port<N>`, their files opened on the port's first
    packet; BMv2 writes no capture in that mode.
    """

    def __init__(self, directory: str, interfaces: dict[int, str] | None = None):
        self._directory = directory
        self._names = dict(interfaces or {})
        self._in = {port: self._open(port, "in") for port in self._names}
        self._out = {port: self._open(port, "out") for port in self._names}
        self._any_port = interfaces is None

    def _open(self, port: int, direction: str) -> PcapWriter:
        name = self._names.get(port, f"port{port}")
        return PcapWriter(os.path.join(self._directory, f"{name}_{direction}.pcap"))

    def _write(self, writers: dict, direction: str, batch: list[tuple[int, bytes]]) -> None:
        if self._any_port:
            for port, _ in batch:
                if port not in writers:
                    writers[port] = self._open(port, direction)
        write_batch(writers, batch)

    def received(self, batch: list[tuple[int, bytes]]) -> None:
        self._write(self._in, "in", batch)

    def sent(self, batch: list[tuple[int, bytes]]) -> None:
        self._write(self._out, "out", batch)

    def close(self) -> None:
        for writer in (*self._in.values(), *self._out.values()):
            writer.close()
