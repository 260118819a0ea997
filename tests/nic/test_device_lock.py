"""DeviceLock: a packet batch waiting for the Device gets it at the control side's next slice
boundary, however long the control work goes on (the port loop's side of packet latency while
P4Runtime writes, reads and rolls back; `make bench`'s latency part measures the time)."""
import threading
import time

from p4nic.nic.device_lock import DeviceLock


def control_work(lock: DeviceLock, stop: threading.Event, slices: list) -> None:
    """What a long Write does: a slice of work under the lock, then the hand-over."""
    while not stop.is_set():
        with lock:
            sum(range(20000))
            slices[0] += 1
        lock.let_packets_through()


def test_a_packet_batch_waits_for_at_most_the_slice_under_way():
    lock, stop, slices = DeviceLock(), threading.Event(), [0]
    worker = threading.Thread(target=control_work, args=(lock, stop, slices))
    worker.start()
    waited = []
    try:
        while slices[0] < 3:
            time.sleep(0.001)
        for _ in range(50):
            before = slices[0]
            with lock.for_packets():
                waited.append(slices[0] - before)
            time.sleep(0.001)
    finally:
        stop.set()
        worker.join()
    # the slice under way when the batch asked, and at most one begun as it asked
    assert max(waited) <= 2, waited


def test_the_lock_is_reentrant_and_released_after_an_error():
    lock = DeviceLock()
    with lock:
        with lock:
            pass
    try:
        with lock.for_packets():
            raise ValueError
    except ValueError:
        pass
    acquired = []

    def take():
        with lock:
            acquired.append(True)
    other = threading.Thread(target=take, daemon=True)
    other.start()
    other.join(timeout=10)
    assert acquired == [True]
    lock.let_packets_through()          # nobody waits: returns at once
