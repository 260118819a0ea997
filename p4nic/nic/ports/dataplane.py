"""The port loop: gathers whatever packets wait on the ports into a batch, runs the batch
through the Device, and hands each output packet to the source that owns its port.

The loop waits only when a turn found nothing: while packets keep coming it goes straight on to
the next batch, so polled sources (the `--use-files` reader) run as fast as the Device does
rather than one batch per poll interval.

One thread runs the loop; `inject` lets another thread (P4Runtime packet-out) push a batch
through the same Device. Both hold `lock` while the Device runs, and so should anything else
that changes the Device's state while packets flow.
"""
import logging
import select
import threading

from p4nic.nic.device_lock import DeviceLock

POLL_INTERVAL = 0.05  # seconds an idle loop waits before it looks at polled sources again
BATCH_LIMIT = 256  # packets taken from one source per turn, so no port starves the others


class Dataplane:
    """Wires packet sources to a Device.

    `device` needs only `process(batch) -> batch`. Outputs to `cpu_port` go to `on_cpu_packets`
    (the P4Runtime packet-in path, as simple_switch_grpc's transmit_fn does); outputs to a port
    no source owns are dropped, as BMv2's BMI ports do.
    """

    def __init__(self, device, sources: list, *, cpu_port: int | None = None, capture=None,
                 logger: logging.Logger | None = None, dump_packet_data: int = 0):
        self.device = device
        self.sources = list(sources)
        self.cpu_port = cpu_port
        self.on_cpu_packets = None  # callable(list[bytes]), set by the P4Runtime server
        self.capture = capture
        self.log = logger or logging.getLogger("p4nic.switch")
        self.dump_packet_data = dump_packet_data
        self.lock = DeviceLock()
        # (source, the ports it owns); a source that carries every port (nanomsg) takes what
        # no other source owns
        owned = set()
        self._routes = []
        default_owner = None
        for source in self.sources:
            if source.ports is None:
                default_owner = source
            else:
                ports = frozenset(source.ports) - owned
                owned |= ports
                self._routes.append((source, ports))
        if default_owner is not None:
            self._routes.append((default_owner, None))
        self._owned = frozenset(owned)
        self._stop = threading.Event()
        self._thread = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="p4nic-dataplane", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for source in self.sources:
            source.close()
        if self.capture is not None:
            self.capture.close()

    def _run(self) -> None:
        waited = {source.fileno(): source for source in self.sources if source.fileno() is not None}
        polled = {id(source): source for source in self.sources if source.fileno() is None}
        idle = True  # the last turn found nothing: this one may wait
        while not self._stop.is_set():
            timeout = POLL_INTERVAL if idle else 0
            if waited:
                ready, _, _ = select.select(list(waited), [], [], timeout)
            else:
                ready = []
                if idle:
                    self._stop.wait(timeout)
            batch = []
            for fd in ready:
                batch += self._receive(waited, fd)
            for key in list(polled):
                batch += self._receive(polled, key)
            idle = not batch
            if batch:
                self.inject(batch)

    def _receive(self, sources: dict, key) -> list:
        """What sources[key] has waiting; a source that fails (a broken input file) is dropped
        from `sources` and logged, and the other ports keep working."""
        try:
            return sources[key].receive(BATCH_LIMIT)
        except Exception as e:
            self.log.error("port source stopped: %s", e)
            del sources[key]
            return []

    def inject(self, batch: list[tuple[int, bytes]]) -> None:
        """Runs `batch` of (ingress port, packet) through the Device and sends the results.

        Everything but the packet-in hand-off happens under `lock`, so captures and port writes
        from the loop and from P4Runtime packet-outs never interleave; the control plane hands
        the lock to a waiting batch between two slices of its work (device_lock.py)."""
        with self.lock.for_packets():
            if self.capture is not None:
                self.capture.received(batch)
            if self.dump_packet_data:  # wording as BMv2's switch.cpp / dev_mgr.cpp
                for port, packet in batch:
                    self.log.info("Received packet of length %d on port %d: %s", len(packet), port,
                                  packet[:self.dump_packet_data].hex())
            try:
                out = self.device.process(batch)
            except Exception:  # a pipeline bug must not take the switch down
                self.log.exception("packet processing failed; batch of %d dropped", len(batch))
                return
            to_cpu = self._dispatch(out)
        if to_cpu and self.on_cpu_packets is not None:
            self.on_cpu_packets(to_cpu)

    def _dispatch(self, out: list[tuple[int, bytes]]) -> list[bytes]:
        """Sends `out` to the sources owning each port; returns the packets for the CPU port.

        Whole-batch filters rather than a loop per packet: most switches have one source."""
        if not out:
            return []
        if self.capture is not None:
            self.capture.sent(out)
        if self.dump_packet_data:
            for port, packet in out:
                self.log.info("Sending packet of length %d on port %d: %s", len(packet), port,
                              packet[:self.dump_packet_data].hex())
        to_cpu = []
        cpu = self.cpu_port
        if cpu is not None:
            to_cpu = [packet for port, packet in out if port == cpu]
            if to_cpu:
                out = [item for item in out if item[0] != cpu]
        for source, ports in self._routes:
            if ports is None:
                owned = self._owned
                mine = [item for item in out if item[0] not in owned] if owned else out
            else:
                mine = [item for item in out if item[0] in ports]
            if mine:
                source.transmit(mine)
        return to_cpu
