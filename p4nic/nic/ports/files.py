"""BMv2's `--use-files WAIT`: port X reads <iface>_in.pcap and writes <iface>_out.pcap.

After WAIT seconds every input file is read and their packets are fed to the switch merged
by timestamp, earliest first, as fast as the switch takes them (BMv2's PcapFilesReader with
real-time replay off, src/bm_sim/pcap_file.cpp). Output files are flushed after every batch, so
a reader sees packets while the switch runs (BMv2's PcapFilesWriter flushes every packet).
Packets sent to a port without a file are dropped, as BMv2's PcapFilesWriter does. The switch
keeps running afterwards, like BMv2.
"""
import os
import time

from p4nic.nic.ports import PortError
from p4nic.nic.ports.pcap import PcapError, PcapWriter, read_pcap, write_batch


class FilePorts:
    """Packet source over pcap files; `interfaces` maps port numbers to file name stems."""

    def __init__(self, interfaces: dict[int, str], wait_seconds: float, directory: str = "."):
        self.ports = set(interfaces)
        self._inputs = {port: os.path.join(directory, f"{name}_in.pcap")
                        for port, name in interfaces.items()}
        for path in self._inputs.values():
            if not os.path.exists(path):
                raise PortError(f"--use-files: input file '{path}' does not exist")
        self._outputs = {port: PcapWriter(os.path.join(directory, f"{name}_out.pcap"))
                         for port, name in interfaces.items()}
        self._start_at = time.monotonic() + max(wait_seconds, 0)
        self._pending: list[tuple[int, bytes]] | None = None  # read once the wait is over
        self._next = 0  # index of the first packet of _pending not yet handed out

    def fileno(self) -> None:
        return None  # polled: nothing to wait on but the clock

    def receive(self, limit: int) -> list[tuple[int, bytes]]:
        if self._pending is None:
            if time.monotonic() < self._start_at:
                return []
            self._pending = self._read_inputs()
        start = self._next
        self._next = min(start + limit, len(self._pending))
        return self._pending[start:self._next]

    def _read_inputs(self) -> list[tuple[int, bytes]]:
        """All input packets, by timestamp; ties keep port order, then file order (stable sort)."""
        stamped = []
        for port in sorted(self._inputs):
            try:
                stamped += [(ts, port, packet) for ts, packet in read_pcap(self._inputs[port])]
            except (OSError, PcapError) as e:
                raise PortError(f"--use-files: {e}") from None
        stamped.sort(key=lambda item: item[0])
        return [(port, packet) for _, port, packet in stamped]

    def transmit(self, batch: list[tuple[int, bytes]]) -> None:
        write_batch(self._outputs, batch)

    def close(self) -> None:
        for writer in self._outputs.values():
            writer.close()
