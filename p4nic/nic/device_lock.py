"""The lock around a Device, shared by the port loop (packets) and the P4Runtime server (writes,
reads, rollbacks), which hands the Device to waiting packets between two slices of control work.

Long control-plane work holds the lock a slice at a time. A plain lock does not make that fair
under CPython: the thread that releases it holds the interpreter lock and takes the device lock
straight back, while the packet thread, woken, still waits for the interpreter lock, so packets
waited for a whole 100,000-update batch. Here a batch of packets says it waits
(`for_packets`), and the control side calls `let_packets_through()` between slices, which
sleeps until every waiting batch has the Device. The switch also shortens the interpreter's
switch interval (SWITCH_INTERVAL) so that a packet thread woken by its socket waits at most
that long for the interpreter lock while control work runs Python code.
"""
import threading
import time

# Seconds a thread wanting the interpreter lock waits before the running one must yield it
# (CPython's default 5 ms would cost a packet 5 ms at every socket wait during a long Write).
SWITCH_INTERVAL = 0.0005
# Longest the control side waits for waiting packets to take the Device (seconds).
HANDOFF_LIMIT = 0.02
HANDOFF_SLEEP = 0.00005


class DeviceLock:
    """A re-entrant lock (`with lock:`) with a hand-over to packet batches."""

    def __init__(self):
        self._lock = threading.RLock()
        self._packets_waiting = []      # one item per packet batch waiting for the lock
        self._packet_hold = PacketHold(self)    # stateless: one serves every batch

    def __enter__(self):
        self._lock.acquire()
        return self

    def __exit__(self, *exc):
        self._lock.release()

    def for_packets(self) -> "PacketHold":
        """`with lock.for_packets():` around a batch of packets through the Device."""
        return self._packet_hold

    def let_packets_through(self) -> None:
        """Between two slices of control work, not holding the lock: return once every packet
        batch that waits for the lock has taken it (or after HANDOFF_LIMIT)."""
        if not self._packets_waiting:
            return
        deadline = time.monotonic() + HANDOFF_LIMIT
        while self._packets_waiting and time.monotonic() < deadline:
            time.sleep(HANDOFF_SLEEP)


class PacketHold:
    """The device lock held for a packet batch, marked as waiting until it is held."""
    __slots__ = ("device_lock",)

    def __init__(self, device_lock: DeviceLock):
        self.device_lock = device_lock

    def __enter__(self):
        waiting = self.device_lock._packets_waiting
        waiting.append(None)
        try:
            self.device_lock._lock.acquire()
        finally:
            waiting.pop()

    def __exit__(self, *exc):
        self.device_lock._lock.release()


class Held:
    """Stands for a DeviceLock the caller already holds (around a DATAPLANE_ATOMIC batch):
    nothing to take, no packets to let through."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def let_packets_through(self) -> None:
        pass


HELD = Held()
