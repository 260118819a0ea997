"""`p4nic bench`'s latency part: how long a packet takes through the switch while the control
plane works, because a NIC whose packets wait for a big table write stalls its tenants.

A process of its own sends a single 64-byte frame over the switch's nanomsg packet socket (PTF's
protocol), waits for it to come back, and sends the next, for as long as each phase runs:

- idle: nothing else happens (the baseline);
- a Write of WRITE_ENTRIES /32 LPM INSERTs in one WriteRequest;
- a wildcard Read of every entry the table then holds (READ_ENTRIES, written beforehand in
  Writes of 10,000 while nothing is measured);
- a ROLLBACK_ON_ERROR batch of WRITE_ENTRIES INSERTs whose last update fails, so that every
  one of them is undone.

Each phase prints packets probed and the round trip's p50, p99 and max, with the same for
BMv2's simple_switch_grpc beside it when it is on PATH (or given with --bmv2 DIR). The program
is examples/l3_router.p4 with its LPM table sized for the entries; the probe hits a /16 route
written first. Requests are built as wire bytes beforehand (a template with the address patched
in), so what is timed is the switch.
"""
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from p4nic import p4rt_bench, processes
from p4nic.protowire import length_delimited, varint

WRITE_ENTRIES = 100_000
READ_ENTRIES = 1_000_000
FILL_BATCH = 10_000
PROBE_DST = 0xC0A80101       # 192.168.1.1, routed by 192.168.0.0/16 to port 1
PORTS = (0, 1, 2, 3, 4)
UPDATES, ATOMICITY = 4, 5    # WriteRequest's field numbers (updates: messages; atomicity: enum)


class Requests:
    """Serialized P4Runtime requests on the sized router: routes i -> 10.x.y.z/32 patched into
    one serialized Update (the address is always 4 bytes: its first byte is 10)."""

    def __init__(self, p4info):
        from p4nic.proto import p4runtime_pb2
        from p4nic.runtime.entities import EntityBuilder

        self.pb = p4runtime_pb2
        builder = EntityBuilder(p4info)
        marker = 0x0A5A5A5A

        def route(address: int, length: int):
            return builder.table_entry("ipv4_lpm", {"hdr.ipv4.dstAddr": (address, length)},
                                       "forward", {"port": 1, "dstAddr": 0x100})

        update = p4runtime_pb2.Update(type=p4runtime_pb2.Update.INSERT)
        update.entity.table_entry.CopyFrom(route(marker, 32))
        wire = update.SerializeToString()
        at = wire.index(marker.to_bytes(4, "big"))
        self._prefix, self._suffix = wire[:at], wire[at + 4:]
        head = p4runtime_pb2.WriteRequest(device_id=0)
        head.election_id.low = 1
        self._head = head.SerializeToString()
        probe = p4runtime_pb2.WriteRequest(device_id=0)
        probe.CopyFrom(head)
        probe.updates.add(type=p4runtime_pb2.Update.INSERT).entity.table_entry.CopyFrom(
            route(PROBE_DST & 0xFFFF0000, 16))
        self.probe_route = probe.SerializeToString()
        read = p4runtime_pb2.ReadRequest(device_id=0)
        read.entities.add().table_entry.table_id = route(marker, 32).table_id
        self.read = read.SerializeToString()

    def write(self, first: int, count: int, rollback: bool = False) -> bytes:
        """INSERTs of routes first .. first+count-1; with `rollback`, ROLLBACK_ON_ERROR and a
        last INSERT of route 0 again, which fails."""
        prefix, suffix = self._prefix, self._suffix
        parts = [self._head]
        indexes = list(range(first, first + count)) + ([0] if rollback else [])
        for i in indexes:
            update = prefix + (0x0A000000 + i).to_bytes(4, "big") + suffix
            parts.append(length_delimited(UPDATES, update))
        if rollback:
            parts.append(varint(ATOMICITY << 3) + varint(self.pb.WriteRequest.ROLLBACK_ON_ERROR))
        return b"".join(parts)


def probe_frame() -> bytes:
    """A 64-byte IPv4 frame to PROBE_DST."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 50, 0, 0, 64, 17, 0, bytes(4),
                     PROBE_DST.to_bytes(4, "big"))
    return bytes.fromhex("000000000001" "000000000002" "0800") + ip + bytes(64 - 14 - 20)


class Prober:
    """Round trips of one frame at a time through the switch's packet socket, in a process of
    its own (so that the client's own work, such as taking a big error, does not count as the
    switch's), recorded while `during` runs."""

    def __init__(self, address: str):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "p4nic.latency_bench", "probe", address],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise p4rt_bench.TargetError("the latency probe could not reach the packet socket")

    def command(self, line: str) -> str:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline()

    def during(self, work) -> tuple[list[float], int, float]:
        """Round trips (seconds) while `work()` runs, packets lost, and how long it ran."""
        self.command("record")
        start = time.perf_counter()
        try:
            work()
        finally:
            seen = json.loads(self.command("report") or "{}")
        return seen.get("times", []), seen.get("lost", 0), time.perf_counter() - start

    def close(self):
        processes.stop(self.process)


def probe(address: str) -> None:
    """The prober's process: round trips without end; on stdin, `record` starts a recording
    and `report` ends it, printing {"times": [...], "lost": n} as one JSON line."""
    import pynng

    from p4nic.nic.ports import nanomsg

    socket = pynng.Pair0(recv_timeout=1000, send_timeout=30000)
    socket.dial(address, block=True)
    for port in PORTS:
        socket.send(nanomsg.HEADER.pack(nanomsg.MSG_PORT_ADD, port, 0))
    frame = probe_frame()
    message = nanomsg.HEADER.pack(nanomsg.MSG_PACKET_IN, 0, len(frame)) + frame
    recording = {"times": None, "lost": 0}
    lock = threading.Lock()

    def commands():
        for line in sys.stdin:
            with lock:
                if line.strip() == "record":
                    recording.update(times=[], lost=0)
                    print("ok", flush=True)
                else:
                    times, recording["times"] = recording["times"] or [], None
                    print(json.dumps({"times": times, "lost": recording["lost"]}), flush=True)
        os._exit(0)
    threading.Thread(target=commands, daemon=True).start()
    print("ready", flush=True)
    while True:
        start = time.perf_counter()
        socket.send(message)
        try:
            socket.recv()
        except pynng.Timeout:
            with lock:
                recording["lost"] += recording["times"] is not None
            continue
        elapsed = time.perf_counter() - start
        with lock:
            if recording["times"] is not None:
                recording["times"].append(elapsed)


def summary(times: list[float], lost: int) -> str:
    if not times:
        return "no packet came back"
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, len(ordered) * 99 // 100)]
    text = (f"{len(ordered)} packets, p50 {statistics.median(ordered) * 1e3:.2f} ms, "
            f"p99 {p99 * 1e3:.2f} ms, max {ordered[-1] * 1e3:.1f} ms")
    return text + (f", {lost} lost" if lost else "")


def phases(target, program, p4info, requests: Requests, write_entries: int,
           read_entries: int) -> list[tuple[str, str]]:
    """(phase, what the prober saw) on one target, its program freshly loaded."""
    import grpc

    from p4nic.runtime.connection import Connection

    conn = Connection(target.address, election_id=(0, 1), timeout=60)
    channel = p4rt_bench.big_message_channel(target.address)
    write = channel.unary_unary("/p4.v1.P4Runtime/Write")
    read = channel.unary_stream("/p4.v1.P4Runtime/Read")
    prober = None
    results = []
    try:
        conn.set_pipeline(p4info, json.dumps(program).encode())
        write(requests.probe_route, timeout=60)
        prober = Prober(target.packets)
        big_write = requests.write(0, write_entries)
        results.append(("idle (1 s)", prober.during(lambda: time.sleep(1))))
        results.append((f"Write of {write_entries:,} entries",
                        prober.during(lambda: write(big_write, timeout=600))))
        for first in range(write_entries, read_entries, FILL_BATCH):
            write(requests.write(first, min(FILL_BATCH, read_entries - first)), timeout=600)
        total = max(read_entries, write_entries)

        def read_all():
            received = sum(len(response) for response in read(requests.read, timeout=600))
            if not received:
                raise p4rt_bench.TargetError(f"{target.name}: the Read returned nothing")
        results.append((f"Read of {total:,} entries", prober.during(read_all)))
        batch = requests.write(total, write_entries, rollback=True)

        def rolled_back():
            try:
                write(batch, timeout=600)
            except grpc.RpcError as exc:
                if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                    raise NotImplementedError from None
                return
            raise p4rt_bench.TargetError(f"{target.name}: the failing batch was taken")
        try:
            results.append((f"rolled-back batch of {write_entries:,} INSERTs",
                            prober.during(rolled_back)))
        except NotImplementedError:
            results.append((f"rolled-back batch of {write_entries:,} INSERTs", None))
        return [(name, "ROLLBACK_ON_ERROR not implemented" if seen is None else
                 f"{summary(seen[0], seen[1])} (in {seen[2]:.2f} s)")
                for name, seen in results]
    except grpc.RpcError as exc:
        raise p4rt_bench.TargetError(f"{target.name}: {exc.code().name}: {exc.details()}") from None
    finally:
        if prober is not None:
            prober.close()
        channel.close()
        conn.close()


def run(router: tuple, bmv2_dir: str | None = None, write_entries: int = WRITE_ENTRIES,
        read_entries: int = READ_ENTRIES) -> None:
    """Measure and print on `router` = (BMv2 JSON, P4Info) of examples/l3_router.p4; raises
    p4rt_bench.TargetError when a target fails."""
    bmv2 = p4rt_bench.find_bmv2(bmv2_dir)
    capacity = max(write_entries, read_entries) + write_entries + 1
    program, p4info = p4rt_bench.sized(*router, capacity)
    requests = Requests(p4info)
    with tempfile.TemporaryDirectory(prefix="p4nic-latency-bench-") as tmp:
        where = Path(tmp)
        kinds = [("p4nic", p4rt_bench.Target.p4nic)]
        if bmv2:
            kinds.append(("BMv2", lambda w, **kw: p4rt_bench.Target.bmv2(bmv2, w, **kw)))
        for name, make in kinds:
            packets = f"ipc://{where}/{name}-packets.ipc"
            target = make(where, packets=packets)
            try:
                for phase, seen in phases(target, program, p4info, requests, write_entries,
                                          read_entries):
                    print(f"  {name:6} {phase}: {seen}", flush=True)
            finally:
                target.stop()
        if not bmv2:
            print("  (no simple_switch_grpc on PATH, --bmv2 DIR: p4nic alone)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["probe"]:
        probe(sys.argv[2])
