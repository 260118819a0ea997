"""End-to-end packet figures for `p4nic bench`: p4nic next to BMv2's `simple_switch`.

Each figure runs a switch process the way users run it and times packets leaving it:

- `--use-files`: every frame is written to `p1_in.pcap` first; the figure is packets/s from the
  first output record to the last, read from the growing output files while the switch runs;
- nanomsg: the frames go in over the `--packet-in` PAIR socket, PTF's protocol, with at most a
  window of them in flight, and come back on the same socket;
- start-up: from launch to serving (p4nic: P4Runtime listening; BMv2: its Thrift port open),
  with the program alone (entries come later, over the control plane).

Both targets load the same BMv2 JSON with the same table entries written into it as const
entries (`entries`, which simple_switch reads without a control plane), so no Thrift or
P4Runtime client stands between them. Rounds alternate between the targets and the medians are
printed, with p4nic/BMv2 as the ratio. Workloads: the three-table IPv4 router
(examples/simple_router.p4, the shape of BMv2's benchmark router) and vnic.p4 receiving from
the uplink with filters, ACL, services flow entries and NUMA steering tables filled.
"""
from __future__ import annotations

import copy
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from p4nic.nic.ports.pcap import GLOBAL_HEADER, RECORD_HEADER, PcapWriter
from p4nic import processes

FRAME_SIZE = 64
STALL_SECONDS = 10.0  # no output for this long: the rest of the frames are counted as lost
NANOMSG_WINDOW = 512  # frames in flight over the packet socket, as a PTF run keeps a few


class BenchError(Exception):
    """A figure that could not be measured; the message says why."""


@dataclass
class Run:
    """One measurement: the figure, and how many frames never came out (BMv2 drops what its
    64-packet egress queues cannot hold; p4nic must lose none)."""

    value: float
    lost: int = 0


# ---- workloads ------------------------------------------------------------------------------

@dataclass
class Workload:
    """A program with its entries, the frames sent, and the ports as `--use-files` names them."""

    name: str
    program: dict
    frames: list  # [(ingress port, frame)]
    ports: dict = field(default_factory=dict)  # port -> file name stem
    bare_program: dict | None = None  # the program without its entries: what start-up loads


def hexbytes(value: int, bitwidth: int) -> str:
    """A BMv2 JSON hexstring of exactly the field's bytes (simple_switch checks key sizes)."""
    return "0x" + value.to_bytes((bitwidth + 7) // 8, "big").hex()


def _key_widths(program: dict, table: dict) -> list[int]:
    """Bit widths of `table`'s key fields, from the JSON's header types."""
    types = {t["name"]: {f[0]: f[1] for f in t["fields"]} for t in program["header_types"]}
    headers = {h["name"]: types[h["header_type"]] for h in program["headers"]}
    return [headers[k["target"][0]][k["target"][1]] for k in table["key"]]


def add_const_entries(program: dict, table_name: str, entries: list) -> None:
    """Write `entries` into `table_name` (the JSON name, or its last part) as const entries.

    Each entry is (match, action name, args, priority): match maps key field names (the JSON
    key's name or its last dotted parts, e.g. "meta.sport", "egress_port") to a value, (value, mask) for ternary or (value, prefix length)
    for lpm; ternary fields left out match anything. Smaller priorities win, as in BMv2 JSON."""
    table = next(t for p in program["pipelines"] for t in p["tables"]
                 if t["name"] == table_name or t["name"].endswith("." + table_name))
    actions = {a["name"]: a for a in program["actions"]}
    widths = _key_widths(program, table)
    rows = []
    for match, action_name, args, priority in entries:
        action = next(a for name, a in actions.items()
                      if name == action_name or name.endswith("." + action_name))
        key = []
        for k, width in zip(table["key"], widths):
            value = next((v for name, v in match.items()
                          if k["name"] == name or k["name"].endswith("." + name)), None)
            kind = k["match_type"]
            if kind == "exact":
                key.append({"match_type": kind, "key": hexbytes(value, width)})
            elif kind == "lpm":
                key.append({"match_type": kind, "key": hexbytes(value[0], width),
                            "prefix_length": value[1]})
            else:
                value, mask = (0, 0) if value is None else (
                    value if isinstance(value, tuple) else (value, (1 << width) - 1))
                key.append({"match_type": kind, "key": hexbytes(value, width),
                            "mask": hexbytes(mask, width)})
        data = [hexbytes(arg, p["bitwidth"]) for arg, p in zip(args, action["runtime_data"])]
        rows.append({"match_key": key, "priority": priority,
                     "action_entry": {"action_id": action["id"], "action_data": data}})
    table["entries"] = rows


def ipv4_frame(dst_mac: int, src: int, dst: int, proto: int, sport: int, dport: int,
               ident: int) -> bytes:
    """A FRAME_SIZE-byte Ethernet/IPv4 frame with a UDP or TCP header and a valid IP checksum."""
    l4 = (struct.pack("!HHHH", sport, dport, 8, 0) if proto == 17
          else struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 0x50, 0x10, 65535, 0, 0))
    ip = bytearray(struct.pack("!BBHHHBBHII", 0x45, 0, FRAME_SIZE - 14, ident & 0xFFFF, 0, 64,
                               proto, 0, src, dst))
    total = sum(struct.unpack("!10H", ip))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    ip[10:12] = struct.pack("!H", total ^ 0xFFFF)
    eth = dst_mac.to_bytes(6, "big") + bytes.fromhex("020000000001") + b"\x08\x00"
    return (eth + bytes(ip) + l4).ljust(FRAME_SIZE, b"\0")


def compile_example(name: str, include_p4src: bool = False) -> dict:
    from p4nic import pipelines
    from p4nic.compiler.driver import compile_file

    if include_p4src:
        return compile_file(str(pipelines.source(name)),
                            include_dirs=[str(pipelines.p4src_dir())]).bmv2_json
    return compile_file(str(pipelines.examples_dir() / name)).bmv2_json


ROUTER_ROUTES = 1000


def router_workload(count: int, program: dict | None = None) -> Workload:
    """`count` frames into port 1 over ROUTER_ROUTES /24 routes, all routed out of port 2.

    `program` may be any JSON with simple_router's tables and actions (p4c's JSON of BMv2's own
    simple_router, say); by default examples/simple_router.p4 compiled by p4nic."""
    program = program or compile_example("simple_router.p4")
    bare = copy.deepcopy(program)
    hops = [0x0A000001 + i for i in range(4)]
    add_const_entries(program, "ipv4_lpm", [
        ({"dstAddr": (0x0B000000 | i << 8, 24)}, "set_nhop", (hops[i % 4], 2), i)
        for i in range(ROUTER_ROUTES)])
    add_const_entries(program, "forward", [
        ({"nhop_ipv4": hop}, "set_dmac", (0x0200000000A0 + i,), i)
        for i, hop in enumerate(hops)])
    add_const_entries(program, "send_frame", [
        ({"egress_port": 2}, "rewrite_mac", (0x0200000000B2,), 0)])
    frames = [(1, ipv4_frame(0x0200000000F1, 0xC0A80001, 0x0B000007 | (i % ROUTER_ROUTES) << 8,
                             17, 1024, 80, i)) for i in range(count)]
    return Workload("simple_router", program, frames, {1: "p1", 2: "p2"}, bare)


GUEST_MAC = 0x02000000AA01
VNIC_FLOWS = 256
VNIC_QUEUES = 4


def vnic_workload(count: int) -> Workload:
    """`count` UDP frames from the uplink (port 0) to the guest over VNIC_FLOWS flows.

    Entries: 16 RX filters (half the flows' ports go to a fixed queue), 32 ACL denies
    for other sources, one services entry per flow (svc_allow, established) plus 1000 for other
    flows, 8 classify entries for other traffic, and NUMA steering: the 128 RSS buckets, vCPU to
    node, 64 flow affinities. The action selector numa_queues cannot hold const entries, so it is
    empty on both targets and RSS-steered packets take the fallback queue 1."""
    program = compile_example("vnic", include_p4src=True)
    bare = copy.deepcopy(program)
    client = lambda i: 0x0A010000 + i  # noqa: E731 - the flows' sources
    guest = 0x0A000005
    flow = lambda i: (client(i % VNIC_FLOWS), 5000 + i % VNIC_FLOWS)  # noqa: E731
    match5 = lambda src, dst, proto, sport, dport: {  # noqa: E731
        "meta.ip_ver": 4, "meta.src_addr": src, "meta.dst_addr": dst, "meta.proto": proto,
        "meta.sport": sport, "meta.dport": dport}
    add_const_entries(program, "filters", [
        ({"hdr.eth.dstAddr": GUEST_MAC, "meta.dport": 6000 + i}, "filter_to_queue",
         (1 + i % VNIC_QUEUES,), i) for i in range(16)])
    add_const_entries(program, "acl", [
        ({"meta.src_addr": (0xAC100000 + (i << 8), (1 << 128) - 256)}, "acl_deny", (), i)
        for i in range(32)])
    add_const_entries(program, "classify", [
        ({"meta.dst_addr": 0x0A090000 + i}, "set_profile", (1 + i % 3, 0), i) for i in range(8)])
    services = [(match5(*flow(i)[:1], guest, 17, flow(i)[1], 6000 + i % 32), "svc_allow", (2,), 0)
                for i in range(VNIC_FLOWS)]
    services += [(match5(0x0A020000 + i, guest, 6, 40000 + i, 443), "svc_allow", (2,), 0)
                 for i in range(1000)]
    add_const_entries(program, "flow_table", services)
    add_const_entries(program, "rss_indirection", [
        ({"meta.rss_bucket": b}, "set_vcpu", (b % 8,), 0) for b in range(128)])
    add_const_entries(program, "vcpu_node", [
        ({"meta.vcpu": v}, "set_node", (v // 4,), 0) for v in range(8)])
    add_const_entries(program, "flow_affinity", [
        (match5(0x0A030000 + i, guest, 6, 30000 + i, 22), "set_vcpu", (i % 8,), 0)
        for i in range(64)])
    frames = []
    for i in range(count):
        src, sport = flow(i)
        frames.append((0, ipv4_frame(GUEST_MAC, src, guest, 17, sport, 6000 + i % VNIC_FLOWS % 32, i)))
    ports = {0: "uplink", **{q: f"queue{q}" for q in range(1, VNIC_QUEUES + 1)}}
    return Workload("vnic.p4", program, frames, ports, bare)


# ---- targets --------------------------------------------------------------------------------

@dataclass
class Target:
    """How to start one switch: `command(program path, port options) -> argv`."""

    name: str
    binary: str | None  # simple_switch for BMv2; None for p4nic (this Python)

    def command(self, program: Path, options: list[str], workdir: Path) -> list[str]:
        if self.binary is None:
            return [sys.executable, "-m", "p4nic.cli", "switch", str(program), *options,
                    "--", "--grpc-server-addr", "127.0.0.1:0"]
        # its own Thrift port and notification socket: BMv2's defaults are machine-wide
        return [self.binary, "--thrift-port", str(processes.free_port()), "--notifications-addr",
                f"ipc://{workdir}/bmv2-notifications.ipc", *options, str(program)]


P4NIC = Target("p4nic", None)


def find_bmv2(directory: str | None) -> Target | None:
    """BMv2's simple_switch from `directory` (a bin/ or build directory), else from PATH."""
    if directory:
        for candidate in (Path(directory) / "simple_switch",
                          Path(directory) / "bin" / "simple_switch",
                          Path(directory) / "targets" / "simple_switch" / "simple_switch"):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return Target("BMv2", str(candidate))
        raise BenchError(f"--bmv2 {directory}: no executable simple_switch there")
    found = shutil.which("simple_switch")
    return Target("BMv2", found) if found else None


class Running:
    """A switch process whose output goes to a log file; stopped on exit."""

    def __init__(self, argv: list[str], workdir: Path):
        self.log_path = workdir / "switch.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, cwd=workdir, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise BenchError(f"the switch exited ({self.proc.returncode}): "
                             + self.log_path.read_text()[-300:].strip())

    def __enter__(self):
        return self

    def __exit__(self, *_):
        processes.stop(self.proc)
        self._log.close()


# ---- figures --------------------------------------------------------------------------------

def use_files_rate(target: Target, workload: Workload, program: Path, workdir: Path) -> Run:
    """Packets/s through `--use-files`, from the first output record to the last."""
    in_ports = {port for port, _ in workload.frames}
    writers = {port: PcapWriter(workdir / f"{name}_in.pcap") for port, name in workload.ports.items()}
    for port, writer in writers.items():
        if port in in_ports:
            writer.write_many([frame for p, frame in workload.frames if p == port], 1.0)
        writer.close()
    outputs = [workdir / f"{name}_out.pcap" for name in workload.ports.values()]
    # every frame of these workloads leaves once, with its length unchanged
    expected = sum(RECORD_HEADER.size + len(frame) for _, frame in workload.frames)
    options = [f"{port}@{name}" for port, name in workload.ports.items()]
    argv = target.command(program, [x for o in options for x in ("-i", o)] + ["--use-files", "0"],
                          workdir)
    with Running(argv, workdir) as switch:
        first = last = None
        seen = 0
        last_change = time.monotonic()
        while seen < expected:
            size = sum(max(p.stat().st_size - GLOBAL_HEADER.size, 0) if p.exists() else 0
                       for p in outputs)
            now = time.perf_counter()
            if size != seen:
                seen, last, last_change = size, now, time.monotonic()
                first = first or now
            elif time.monotonic() - last_change > STALL_SECONDS:
                switch.check_alive()
                break  # the rest is lost
            time.sleep(0.001)
    delivered = seen // (RECORD_HEADER.size + FRAME_SIZE)  # every frame is FRAME_SIZE bytes
    if first is None or last == first or delivered < 2:
        raise BenchError(f"{target.name}: {delivered} of {len(workload.frames)} frames came out "
                         "at once; use more frames")
    return Run((delivered - 1) / (last - first), len(workload.frames) - delivered)


def nanomsg_rate(target: Target, workload: Workload, program: Path, workdir: Path) -> Run:
    """Packets/s over the nanomsg packet socket with NANOMSG_WINDOW frames in flight.

    The client speaks the protocol on a plain socket in batches (nanomsg.dial), so that it,
    not the switch, is never what limits the figure; it is the same for both targets."""
    from p4nic.nic.ports import nanomsg

    address = f"ipc://{workdir}/packets.ipc"
    argv = target.command(program, ["--packet-in", address], workdir)
    messages = [nanomsg.HEADER.pack(nanomsg.MSG_PACKET_IN, port, len(frame)) + frame
                for port, frame in workload.frames]
    with Running(argv, workdir) as switch:
        deadline = time.monotonic() + 60
        while True:
            switch.check_alive()
            try:
                sock, ipc = nanomsg.dial(address)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchError(f"{target.name}: no packet socket after 60 s") from None
                time.sleep(0.01)
        try:
            adds = [nanomsg.HEADER.pack(nanomsg.MSG_PORT_ADD, port, 0) for port in workload.ports]
            sock.sendall(nanomsg.framed(adds, ipc))  # as PTF announces its ports
            return _exchange(sock, ipc, messages, target.name)
        finally:
            sock.close()


def _exchange(sock, ipc: bool, messages: list[bytes], name: str) -> Run:
    """Sends `messages` from a thread, at most NANOMSG_WINDOW unanswered, while this thread
    counts PACKET_OUT messages coming back; packets/s from the first send to the last answer.
    Frames lost hold their window slot, so losses end the run STALL_SECONDS later."""
    from p4nic.nic.ports import nanomsg

    credit = threading.Condition()
    in_flight = [0]
    stop = threading.Event()
    step = 64

    def send_all():
        for first in range(0, len(messages), step):
            chunk = messages[first:first + step]
            with credit:
                while in_flight[0] + len(chunk) > NANOMSG_WINDOW:
                    if stop.is_set() or not credit.wait(timeout=1):
                        if stop.is_set():
                            return
                in_flight[0] += len(chunk)
            try:
                sock.sendall(nanomsg.framed(chunk, ipc))
            except OSError:
                return

    prefix = 9 if ipc else 8
    inbox = bytearray()
    buffer = bytearray(1 << 16)
    received = 0
    sock.settimeout(STALL_SECONDS)
    sender = threading.Thread(target=send_all, daemon=True)
    start = last = time.perf_counter()
    sender.start()
    try:
        while received < len(messages):
            try:
                n = sock.recv_into(buffer)
            except socket.timeout:
                break  # the rest is lost
            if not n:
                raise BenchError(f"{name}: the switch closed the packet socket after "
                                 f"{received} of {len(messages)} frames")
            last = time.perf_counter()
            inbox += memoryview(buffer)[:n]
            spans, consumed = nanomsg.message_spans(inbox, prefix)
            outs = sum(1 for begin, _ in spans
                       if nanomsg.HEADER.unpack_from(inbox, begin)[0] == nanomsg.MSG_PACKET_OUT)
            del inbox[:consumed]
            received += outs
            with credit:
                in_flight[0] -= outs
                credit.notify()
    finally:
        stop.set()
        sender.join()
    if not received:
        raise BenchError(f"{name}: none of {len(messages)} frames came back")
    return Run(received / (last - start), len(messages) - received)


def startup_seconds(target: Target, workload: Workload, program: Path, workdir: Path) -> Run:
    """Seconds from launch to serving: p4nic's P4Runtime server, BMv2's Thrift server."""
    if target.binary is None:
        argv = target.command(program, [], workdir)
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=workdir, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            for line in proc.stdout:
                if "Server listening" in line:
                    return Run(time.perf_counter() - start)
            raise BenchError("p4nic switch exited before serving")
        finally:
            proc.terminate()
            proc.wait()
    port = processes.free_port()
    start = time.perf_counter()
    argv = target.command(program, [], workdir)
    argv[argv.index("--thrift-port") + 1] = str(port)
    proc = subprocess.Popen(argv, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise BenchError("simple_switch exited before serving")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return Run(time.perf_counter() - start)
            except OSError:
                time.sleep(0.002)
    finally:
        proc.terminate()
        proc.wait()


FIGURES = {
    "--use-files": (use_files_rate, "packets/s"),
    "nanomsg": (nanomsg_rate, "packets/s"),
    "start-up": (startup_seconds, "s"),
}


def measure(figure: str, workload: Workload, targets: list[Target], rounds: int) -> dict:
    """Per target: Run(median of `rounds` runs, most frames lost in one), rounds alternating
    between targets."""
    import json

    fn, _ = FIGURES[figure]
    runs: dict[str, list[Run]] = {t.name: [] for t in targets}
    with tempfile.TemporaryDirectory(prefix="p4nic-bench-") as tmp:
        program = Path(tmp) / "program.json"
        program.write_text(json.dumps(workload.program))
        for r in range(rounds):
            for target in targets:
                workdir = Path(tmp) / f"{target.name}-{r}"
                workdir.mkdir()
                runs[target.name].append(fn(target, workload, program, workdir))
    return {name: Run(statistics.median(r.value for r in done), max(r.lost for r in done))
            for name, done in runs.items()}


def report(figure: str, workload: Workload, medians: dict) -> str:
    """One line: p4nic's median, BMv2's and the ratio when BMv2 ran; frames lost, if any."""
    unit = FIGURES[figure][1]

    def show(run: Run) -> str:
        text = f"{run.value:,.0f} {unit}" if unit == "packets/s" else f"{run.value:.2f} {unit}"
        if run.lost:
            text += f" ({run.lost:,} of {len(workload.frames):,} frames lost)"
        return text

    line = f"  {workload.name}, {figure}: p4nic {show(medians['p4nic'])}"
    if "BMv2" in medians:
        ratio = medians["p4nic"].value / medians["BMv2"].value
        if unit == "s":
            ratio = 1 / ratio  # faster start-up: a ratio above 1, as for rates
        line += f" | BMv2 {show(medians['BMv2'])} | p4nic/BMv2 {ratio:.2f}x"
    return line


def bench_end_to_end(frames: int, rounds: int, bmv2: Target | None,
                     router_json: dict | None = None, nanomsg_frames: int | None = None) -> None:
    """Every end-to-end figure for both workloads, printed as it is measured."""
    targets = [P4NIC] + ([bmv2] if bmv2 else [])
    if bmv2 is None:
        print("  (BMv2's simple_switch not on PATH and no --bmv2 DIR: p4nic's figures alone)")
    else:
        print(f"  BMv2: {bmv2.binary}; {rounds} alternating rounds, medians")
    count = max(frames, nanomsg_frames or frames)
    for workload in (router_workload(count, router_json), vnic_workload(count)):
        for figure, n in (("--use-files", frames), ("nanomsg", nanomsg_frames or frames),
                          ("start-up", 1)):
            # start-up loads the program as users start it, entries coming over P4Runtime
            program = workload.bare_program if figure == "start-up" else workload.program
            load = Workload(workload.name, program, workload.frames[:n], workload.ports)
            print(report(figure, load, measure(figure, load, targets, rounds)), flush=True)
