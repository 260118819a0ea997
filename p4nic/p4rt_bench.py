"""`p4nic bench`'s P4Runtime part: the control plane of `p4nic switch`, and of BMv2's
`simple_switch_grpc` side by side when it is on PATH (or given with `--bmv2 DIR`).

Each figure is measured on the same program and the same requests on both targets, in rounds
that alternate between them, and the median is printed with the ratio p4nic / BMv2:

- INSERT: Write RPCs of 1,000 /32 LPM routes each (20 by default), entries/s;
- the round trip of a Write of one update (an INSERT), median of SINGLE_WRITES;
- a Read of every entry just written (one wildcard read of the table), seconds.

p4nic runs twice when its native Write path is built: as it is, and with P4NIC_NATIVE=0 (the
Python codecs, and grpcio's gRPC front end instead of the native one on the system's gRPC core),
so one run shows what the native code brings.

The program is examples/l3_router.p4 with its LPM table grown to hold every route. The client
sends requests serialized beforehand, so what is timed is the server (and gRPC).
"""
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from p4nic import processes

BATCH = 1000
BATCHES = 20
SINGLE_WRITES = 200
ROUNDS = 3
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
PYTHON_CODECS = "p4nic with P4NIC_NATIVE=0"     # the Python paths, beside the native ones


class TargetError(Exception):
    """A switch that did not start or a request that failed: the message says which."""


def find_bmv2(directory: str | None) -> str | None:
    """simple_switch_grpc in DIR (or DIR/bin), else on PATH; None when there is none (a DIR may
    hold a BMv2 built without PI: simple_switch alone, for the end-to-end figures)."""
    if directory:
        for candidate in (Path(directory) / "simple_switch_grpc",
                          Path(directory) / "bin" / "simple_switch_grpc"):
            if candidate.is_file():
                return str(candidate)
    return shutil.which("simple_switch_grpc")


class Target:
    """A switch process serving P4Runtime on loopback, no program loaded."""

    def __init__(self, name: str, argv: list, address: str, workdir: Path, env=None,
                 packets: str | None = None):
        self.name = name
        self.address = address
        self.packets = packets          # the nanomsg packet socket, when it was given one
        self.log = open(workdir / f"{name.replace(' ', '-')}.log", "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    @classmethod
    def p4nic(cls, workdir: Path, name: str = "p4nic", env=None,
              packets: str | None = None) -> "Target":
        address = f"127.0.0.1:{processes.free_port()}"
        return cls(name, [sys.executable, "-m", "p4nic.cli", "switch", "--no-p4",
                          *packet_options(packets), "--", "--grpc-server-addr", address],
                   address, workdir, env, packets)

    @classmethod
    def bmv2(cls, binary: str, workdir: Path, packets: str | None = None) -> "Target":
        address = f"127.0.0.1:{processes.free_port()}"
        return cls("BMv2", [binary, "--no-p4", "--device-id", "0", "--thrift-port",
                            str(processes.free_port()), *packet_options(packets), "--",
                            "--grpc-server-addr", address], address, workdir, packets=packets)

    def stop(self) -> None:
        processes.stop(self.proc)
        self.log.close()


def packet_options(address: str | None) -> list:
    """The switch options that give it a nanomsg packet socket at `address` (none: no ports)."""
    return [] if address is None else ["--packet-in", address]


def big_message_channel(address: str):
    """A gRPC channel to `address` that takes and sends messages up to MAX_MESSAGE_BYTES (a
    Read of a million entries, a Write of 100,000)."""
    import grpc

    return grpc.insecure_channel(address, options=[
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)])


def sized(program: dict, p4info, entries: int) -> tuple:
    """Copies of the router's (BMv2 JSON, P4Info), its ipv4_lpm table sized for `entries`."""
    import copy

    program, p4info = copy.deepcopy(program), copy.deepcopy(p4info)
    for pipeline in program["pipelines"]:
        for table in pipeline["tables"]:
            if table["name"].endswith("ipv4_lpm"):
                table["max_size"] = entries
    for table in p4info.tables:
        if table.preamble.name.endswith("ipv4_lpm"):
            table.size = entries
    return program, p4info


class Requests:
    """The serialized requests of one round: INSERT batches, single INSERTs, the Read."""

    def __init__(self, p4info, batches: int):
        from p4nic.proto import p4runtime_pb2
        from p4nic.runtime.entities import EntityBuilder

        builder = EntityBuilder(p4info)
        self.routes = batches * BATCH

        def route(i: int):
            address = 0x0A000000 + i
            return builder.table_entry("ipv4_lpm", {"hdr.ipv4.dstAddr": (address, 32)},
                                       "forward", {"port": 1 + i % 4, "dstAddr": 0x100 + i % 4})

        def write(first: int, count: int) -> bytes:
            request = p4runtime_pb2.WriteRequest(device_id=0)
            request.election_id.low = 1
            for i in range(first, first + count):
                request.updates.add(type=p4runtime_pb2.Update.INSERT).entity.table_entry.CopyFrom(
                    route(i))
            return request.SerializeToString()

        self.batches = [write(b * BATCH, BATCH) for b in range(batches)]
        self.singles = [write(self.routes + i, 1) for i in range(SINGLE_WRITES)]
        read = p4runtime_pb2.ReadRequest(device_id=0)
        read.entities.add().table_entry.table_id = route(0).table_id
        self.read = read.SerializeToString()


def measure(target: Target, program: dict, p4info, requests: Requests) -> dict:
    """One round on `target`: load the program (which empties the table), then the figures."""
    import json

    import grpc

    from p4nic.proto import p4runtime_pb2
    from p4nic.runtime.connection import Connection, P4RuntimeClientError

    try:
        conn = Connection(target.address, election_id=(0, 1), timeout=60)
    except P4RuntimeClientError as exc:
        raise TargetError(f"{target.name}: {exc}") from None
    channel = big_message_channel(target.address)
    try:
        conn.set_pipeline(p4info, json.dumps(program).encode())
        write = channel.unary_unary("/p4.v1.P4Runtime/Write")
        read = channel.unary_stream("/p4.v1.P4Runtime/Read")
        start = time.perf_counter()
        for request in requests.batches:
            write(request, timeout=600)
        inserts = requests.routes / (time.perf_counter() - start)
        start = time.perf_counter()
        found = sum(len(p4runtime_pb2.ReadResponse.FromString(response).entities)
                    for response in read(requests.read, timeout=600))
        read_seconds = time.perf_counter() - start
        if found != requests.routes:
            raise TargetError(f"{target.name}: the Read returned {found} of "
                              f"{requests.routes} entries")
        round_trips = []
        for request in requests.singles:
            start = time.perf_counter()
            write(request, timeout=60)
            round_trips.append(time.perf_counter() - start)
    except grpc.RpcError as exc:
        raise TargetError(f"{target.name}: {exc.code().name}: {exc.details()}") from None
    except P4RuntimeClientError as exc:
        raise TargetError(f"{target.name}: {exc}") from None
    finally:
        channel.close()
        conn.close()
    return {"inserts": inserts, "read": read_seconds, "single": statistics.median(round_trips)}


# key, what, unit and format, whether a larger value is better, BMv2's figure when BMv2 is not
# here (simple_switch_grpc -O3 with PI, this bench's `p4nic bench --bmv2` medians on this
# machine class: docs/performance.md, "P4Runtime")
FIGURES = (
    ("inserts", "INSERT, Writes of 1,000 /32 LPM routes", "{:,.0f} entries/s", True, 219_510),
    ("single", "Write of one INSERT, round trip", "{:.2f} ms", False, 0.34),
    ("read", "Read of the {routes:,} routes", "{:.3f} s", False, 0.066),
)


def report(results: dict, routes: int) -> None:
    """One line per figure: each target's median, the ratio p4nic / BMv2 as a speed (above 1:
    p4nic is faster), and each round's value."""
    for key, label, form, larger_better, reference in FIGURES:
        scale = 1000 if key == "single" else 1
        medians = {name: statistics.median(r[key] for r in rounds) * scale
                   for name, rounds in results.items()}
        cells = [f"{name} {form.format(value)}" for name, value in medians.items()]
        if "BMv2" not in medians and reference is not None:
            medians["BMv2"] = reference
            cells.append(f"BMv2 reference {form.format(reference)}")
        line = f"  {label.format(routes=routes)}: {', '.join(cells)}"
        if "BMv2" in medians:
            ratio = medians["p4nic"] / medians["BMv2"]
            line += f"; p4nic at {ratio if larger_better else 1 / ratio:.2f}x BMv2's speed"
        rounds = "; ".join(f"{name} " + ", ".join(form.split()[0].format(r[key] * scale)
                                                  for r in found)
                           for name, found in results.items())
        print(f"{line} (rounds: {rounds})", flush=True)


def run(router: tuple, bmv2_dir: str | None = None, rounds: int = ROUNDS,
        batches: int = BATCHES, workdir: Path | None = None) -> None:
    """Measure and print, on `router` = (BMv2 JSON, P4Info) of examples/l3_router.p4 (as
    bench.compile_router gives it); raises TargetError when a target fails."""
    import tempfile

    from p4nic.proto import RUNTIME

    from p4nic.native import NativeBuildError
    from p4nic.nic.p4runtime.fronts import FRONT
    from p4nic.nic.p4runtime.native_writes import NATIVE

    bmv2 = find_bmv2(bmv2_dir)
    routes = batches * BATCH
    program, p4info = sized(*router, routes + SINGLE_WRITES)
    requests = Requests(p4info, batches)
    try:
        NATIVE.require()        # built now, so that the switch loads it at start-up
        native = "native (C) table-entry writes"
    except NativeBuildError as exc:
        native = f"no native writes ({exc}): the Python codecs"
    try:
        front = f"gRPC front end on the system's gRPC core {FRONT.require().version()}"
    except NativeBuildError as exc:
        front = f"no native gRPC front end ({exc}): grpcio's"
    print(f"  protobuf runtime: {RUNTIME}; {native}; {front}; BMv2: " + (
        bmv2 or "no simple_switch_grpc on PATH (--bmv2 DIR): its reference figures"), flush=True)
    with tempfile.TemporaryDirectory(prefix="p4nic-p4rt-bench-") as tmp:
        where = workdir or Path(tmp)
        targets = [Target.p4nic(where)]
        if NATIVE.module is not None:      # the Python path beside it, for comparison
            targets.append(Target.p4nic(where, PYTHON_CODECS, {**os.environ, "P4NIC_NATIVE": "0"}))
        try:
            if bmv2:
                targets.append(Target.bmv2(bmv2, where))
            results = {target.name: [] for target in targets}
            for _ in range(rounds):
                for target in targets:
                    results[target.name].append(measure(target, program, p4info, requests))
        finally:
            for target in targets:
                target.stop()
    report(results, routes)
