"""`p4nic bench`: the numbers that matter, on this machine.

- compile time of the shipped VNIC and PNIC pipelines;
- packets/s of an IPv4 LPM router (64-byte packets, 1000 routes) in-process, with
  Device.process on batches;
- the same router as a `p4nic switch` process, its routes written over P4Runtime: packets/s
  through its nanomsg port, sent the way PTF sends them, and the round trip of single packets
  with the control plane idle and with 8 P4Runtime clients busy;
- packets/s of the guest service engine on established TCP connections, untranslated and
  translated, 64- and 1500-byte frames;
- the pipeline DSL on a file of 10,000 rules: check + entities time, and apply entries/s to a
  `p4nic switch` process (p4nic/dsl/bench.py);
- the offload method under load: concurrent flows through a whole host, moved guest -> VNIC
  -> PNIC and back; flows moved per second, packets lost, time from first packet to the PNIC;
- end to end, as switch processes (bench_dataplane): packets/s through `--use-files` and the
  nanomsg packet socket and start-up time, on simple_router and vnic.p4, next to BMv2's
  simple_switch when it is on PATH or given with --bmv2 DIR (medians of alternating rounds).
- the control plane against BMv2's simple_switch_grpc (p4rt_bench.py): INSERT rate, a single
  Write's round trip, a Read of 20,000 entries, side by side when BMv2 is there;
- packet latency while the control plane works (latency_bench.py): p50/p99 of single packets
  during a big Write, a Read of a million entries and a rolled-back batch, beside BMv2.

A part whose component is missing or broken prints one `skipped:` line and the rest still runs;
the exit status is then 1, so a benchmark that measured nothing never passes for one that ran.
Programs come from p4nic.pipelines, so it runs from any directory after a plain install.
"""
import argparse
import itertools
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from p4nic import latency_bench
from p4nic import p4rt_bench
from p4nic import processes

ROUTES = 1000
INSERT_BATCH = 1000
INSERT_BATCHES = 4  # the router's table holds 4096 entries
PACKET_SIZE = 64

# The router every packets/s and inserts/s figure is measured on, in the shipped examples.
ROUTER_P4 = "l3_router.p4"


class Skip(Exception):
    """A benchmark part that cannot run here; the message says why."""


def route(i: int) -> tuple[int, int]:
    """Route i: 10.x.y.0/24 -> port 1 + i % 4."""
    return 0x0A000000 | (i << 8), 1 + i % 4


def router_packets(count: int) -> list[bytes]:
    """64-byte IPv4 frames spread over the routes."""
    frames = []
    for i in range(count):
        dst = route(i % ROUTES)[0] | 7
        ip = struct.pack("!BBHHHBBH4sI", 0x45, 0, PACKET_SIZE - 14, i & 0xFFFF, 0, 64, 17, 0,
                         bytes([192, 168, 0, 1]), dst)
        frames.append((b"\x00\x00\x00\x00\x00\xaa\x00\x00\x00\x00\x00\xbb\x08\x00" + ip)
                      .ljust(PACKET_SIZE, b"\0"))
    return frames


def compile_router():
    """(bmv2_json, p4info) of examples/l3_router.p4, from our compiler."""
    from p4nic import pipelines
    try:
        from p4nic.compiler.driver import compile_file
        result = compile_file(str(pipelines.examples_dir() / ROUTER_P4))
    except Exception as e:  # compiler absent or failing: report, do not abort the benchmark
        raise Skip(f"the compiler cannot build the router: {type(e).__name__}: {e}".splitlines()[0]) from None
    return result.bmv2_json, result.p4info


def bench_compile() -> None:
    from p4nic import pipelines
    from p4nic.compiler.driver import compile_file
    try:
        include = pipelines.p4src_dir()
    except pipelines.PipelineNotFound as e:
        raise Skip(str(e)) from None
    failed = []
    for name in pipelines.PIPELINES:
        program = pipelines.source(name)
        start = time.perf_counter()
        try:
            compile_file(str(program), include_dirs=[str(include)])
        except Exception as e:
            print(f"  {program.name}: skipped: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            failed.append(program.name)
            continue
        print(f"  {program.name}: {time.perf_counter() - start:.2f} s")
    if failed:
        raise Skip(f"{', '.join(failed)} did not compile")


def bench_in_process(program: dict, packets: int) -> None:
    from p4nic.nic.device import Device

    device = Device(device_id=0)
    device.load(program)
    table = next(t for name, t in device.state.tables.items() if name.endswith("ipv4_lpm"))
    forward = next(a.id for a in table.actions.values() if a.name.endswith("forward"))
    for i in range(ROUTES):
        prefix, port = route(i)
        table.add([(prefix, 24)], forward, (port, 0x000000000100 + port))
    frames = [(0, frame) for frame in router_packets(packets)]
    device.process(frames[:256])  # warm up
    start = time.perf_counter()
    out = 0
    for i in range(0, len(frames), 256):
        out += len(device.process(frames[i:i + 256]))
    elapsed = time.perf_counter() - start
    if out != len(frames):
        raise Skip(f"router forwarded {out} of {len(frames)} packets; numbers would be meaningless")
    print(f"  {len(frames) / elapsed:,.0f} packets/s ({len(frames)} packets in {elapsed:.2f} s)")


SERVICE_FLOWS = 256


def tcp_segment(src: int, dst: int, sport: int, dport: int, flags: int, seq: int, ack: int,
                size: int) -> bytes:
    """An IPv4 TCP frame of `size` bytes (checksums left 0: the engine does not check them)."""
    data = max(0, size - 54)
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 40 + data, 0, 0, 64, 6, 0, src, dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 65535, 0, 0)
    return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + tcp + b"\0" * data


def bench_services(packets: int) -> None:
    """GuestServices.process on established TCP connections, as it serves punted packets."""
    import ipaddress

    from p4nic.runtime.services import Direction, GuestServices, Verdict
    from p4nic.runtime.services.policy import DestinationNat, FlowMatch, ServicePolicy

    client, vip = 0x0A000001, 0x0A000002
    dnat = DestinationNat(FlowMatch(dst=ipaddress.ip_network("10.0.0.2/32")),
                          ipaddress.ip_address("192.168.1.2"), 8080)
    for label, policy in (("passed as is", ServicePolicy()),
                          ("translated (DNAT)", ServicePolicy(dnat=(dnat,)))):
        for size in (64, 1500):
            services = GuestServices(policy)
            frames = []
            for n in range(SERVICE_FLOWS):
                sport = 10000 + n
                opened = services.process(tcp_segment(client, vip, sport, 80, 0x02, 1000, 0, 54),
                                          Direction.RX)
                reply = opened.connection.reply_key
                services.process(tcp_segment(reply.src, reply.dst, reply.sport, reply.dport,
                                             0x12, 5000, 1001, 54), Direction.TX)
                frames.append(tcp_segment(client, vip, sport, 80, 0x18, 1001, 5001, size))
            batch = (frames * (packets // len(frames) + 1))[:packets]
            process, rx = services.process, Direction.RX
            start = time.perf_counter()
            passed = sum(process(frame, rx).verdict is Verdict.FORWARD for frame in batch)
            elapsed = time.perf_counter() - start
            if passed != len(batch):
                raise Skip(f"the engine passed {passed} of {len(batch)} packets")
            print(f"  {label}, {size}-byte frames: {len(batch) / elapsed:,.0f} packets/s")


def bench_dsl(rules: int) -> None:
    """The DSL's figures (p4nic/dsl/bench.py): check + entities of a big file, apply entries/s."""
    from p4nic.dsl.bench import part
    part(rules)


class SwitchProcess:
    """A `p4nic switch --no-p4` process on loopback with a nanomsg packet socket."""

    def __init__(self, workdir: Path):
        self.grpc_port = processes.free_port()
        self.packet_addr = f"ipc://{workdir}/bench.ipc"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "p4nic.cli", "switch", "--no-p4", "--packet-in", self.packet_addr,
             "--", "--grpc-server-addr", f"127.0.0.1:{self.grpc_port}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        if "Server listening" not in line:
            rest = line + self.proc.stdout.read() if self.proc.poll() is not None else line
            self.stop()
            raise Skip(f"p4nic switch did not start: {rest.strip()[-300:]}")

    def cpu_seconds(self) -> float:
        """User + system CPU time the switch process has used so far (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        processes.stop(self.proc)


def p4runtime_setup(address: str, program: dict, p4info):
    """Primary-controller connection with the router loaded: (channel, stub, stream requests,
    stream responses); the stream stays open, and we primary, while the responses are held."""
    import queue

    import grpc
    from p4nic.proto import p4runtime_pb2, p4runtime_pb2_grpc

    channel = grpc.insecure_channel(address)
    grpc.channel_ready_future(channel).result(timeout=15)
    stub = p4runtime_pb2_grpc.P4RuntimeStub(channel)
    requests = queue.Queue()
    arbitration = p4runtime_pb2.StreamMessageRequest()
    arbitration.arbitration.device_id = 0
    arbitration.arbitration.election_id.low = 1
    requests.put(arbitration)
    responses = stub.StreamChannel(iter(requests.get, None))
    next(responses)  # arbitration answer: we are primary
    config = p4runtime_pb2.SetForwardingPipelineConfigRequest(
        device_id=0, action=p4runtime_pb2.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT)
    config.election_id.low = 1
    config.config.p4info.CopyFrom(p4info)
    config.config.p4_device_config = json.dumps(program).encode()
    stub.SetForwardingPipelineConfig(config)
    return channel, stub, requests, responses


def route_entry(p4info, i: int, into) -> None:
    """Fill the TableEntry `into` with route i of the router's ipv4_lpm table."""
    table = next(t for t in p4info.tables if t.preamble.name.endswith("ipv4_lpm"))
    action = next(a for a in p4info.actions if a.preamble.name.endswith("forward"))
    prefix, port = route(i)
    into.table_id = table.preamble.id
    match = into.match.add(field_id=table.match_fields[0].id)
    match.lpm.value = prefix.to_bytes(4, "big")
    match.lpm.prefix_len = 24
    into.action.action.action_id = action.preamble.id
    into.action.action.params.add(param_id=action.params[0].id, value=port.to_bytes(2, "big"))
    into.action.action.params.add(param_id=action.params[1].id,
                                  value=(0x100 + port).to_bytes(6, "big"))


def route_writes(p4info, count: int):
    """Write requests inserting `count` routes, INSERT_BATCH updates each."""
    from p4nic.proto import p4runtime_pb2

    requests = []
    for first in range(0, count, INSERT_BATCH):
        request = p4runtime_pb2.WriteRequest(device_id=0)
        request.election_id.low = 1
        for i in range(first, min(first + INSERT_BATCH, count)):
            route_entry(p4info, i, request.updates.add(type=p4runtime_pb2.Update.INSERT)
                        .entity.table_entry)
        requests.append(request)
    return requests


def control_client(address: str, p4info_path: str, first_route: str) -> None:
    """A P4Runtime client that inserts, reads back and deletes one route after another as fast
    as it can, until the server goes or it is killed (a process of its own, see bench_latency)."""
    import grpc
    from p4nic.proto import p4info_pb2
    from p4nic.proto import p4runtime_pb2, p4runtime_pb2_grpc

    p4info = p4info_pb2.P4Info.FromString(Path(p4info_path).read_bytes())
    with grpc.insecure_channel(address) as channel:
        stub = p4runtime_pb2_grpc.P4RuntimeStub(channel)
        for i in itertools.count():
            write = p4runtime_pb2.WriteRequest(device_id=0)
            write.election_id.low = 1
            route_entry(p4info, int(first_route) + i % 4096,
                        write.updates.add(type=p4runtime_pb2.Update.INSERT).entity.table_entry)
            read = p4runtime_pb2.ReadRequest(device_id=0, entities=[write.updates[0].entity])
            try:
                stub.Write(write, timeout=30)
                list(stub.Read(read, timeout=30))
                write.updates[0].type = p4runtime_pb2.Update.DELETE
                stub.Write(write, timeout=30)
            except grpc.RpcError:
                return


def bench_latency(switch: "SwitchProcess", p4info, samples: int, workdir: Path,
                  clients: int = 8) -> None:
    """Round trip of single packets through the nanomsg port, with the control plane idle and
    with `clients` processes writing and reading over P4Runtime meanwhile."""
    import pynng

    header = struct.Struct("<iii")
    message = header.pack(3, 0, PACKET_SIZE) + router_packets(1)[0]
    wire = pynng.Pair0(recv_timeout=30000, send_timeout=30000)
    wire.dial(switch.packet_addr, block=True)

    def round_trips() -> str:
        times = []
        for _ in range(samples):
            start = time.perf_counter()
            wire.send(message)
            try:
                wire.recv()
            except pynng.Timeout:
                raise Skip("a packet did not come back") from None
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        return f"p50 {times[len(times) // 2]:.2f} ms, p90 {times[len(times) * 9 // 10]:.2f} ms"

    p4info_path = workdir / "router.p4info.bin"
    p4info_path.write_bytes(p4info.SerializeToString())
    code = "import sys; from p4nic.bench import control_client; control_client(*sys.argv[1:])"
    workers = []
    try:
        wire.send(header.pack(0, 0, 0))  # PORT_ADD 0
        print(f"  control plane idle: {round_trips()}")
        workers = [subprocess.Popen([sys.executable, "-c", code, f"127.0.0.1:{switch.grpc_port}",
                                     str(p4info_path), str(4096 * (k + 1))])
                   for k in range(clients)]
        time.sleep(2)                    # the clients connect and get going
        print(f"  {clients} P4Runtime clients writing and reading: {round_trips()}")
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
        wire.close()


def bench_switch(program: dict, p4info, packets: int, workdir: Path) -> None:
    import grpc

    switch = SwitchProcess(workdir)
    try:
        try:
            channel, stub, stream, _responses = p4runtime_setup(
                f"127.0.0.1:{switch.grpc_port}", program, p4info)
        except grpc.RpcError as e:
            raise Skip(f"P4Runtime set-up failed: {e.code().name}: {e.details()}") from None
        try:
            try:
                for request in route_writes(p4info, INSERT_BATCH * INSERT_BATCHES):
                    stub.Write(request)
            except grpc.RpcError as e:
                raise Skip(f"P4Runtime Write failed: {e.code().name}: {e.details()}") from None
            cpu_before = switch.cpu_seconds()
            received = bench_nanomsg(switch.packet_addr, packets)
            cpu = switch.cpu_seconds() - cpu_before
            if cpu > 0:
                print(f"  switch process CPU: {cpu * 1e6 / received:.1f} us/packet "
                      f"(about {received / cpu:,.0f} packets/s if the client kept up)")
            else:
                print("  switch process CPU: below one clock tick; use more --packets")
            print("== packet latency through the nanomsg port (p4nic switch process), control "
                  "plane idle and busy ==")
            bench_latency(switch, p4info, min(packets, 500), workdir)
        finally:
            stream.put(None)
            channel.close()
    finally:
        switch.stop()


def bench_nanomsg(address: str, packets: int, window: int = 512) -> int:
    """Speaks PTF's nn protocol: one thread sends, keeping at most `window` packets in flight,
    while this one receives, so the client's own waits do not count against the switch."""
    import threading

    import pynng

    header = struct.Struct("<iii")
    messages = [header.pack(3, 0, len(frame)) + frame for frame in router_packets(packets)]
    # Timeouts only end a run that failed; a loaded machine can stall the switch for seconds.
    client = pynng.Pair0(recv_timeout=30000, send_timeout=30000, recv_buffer_size=4096,
                         send_buffer_size=4096)
    client.dial(address, block=True)
    in_flight = threading.BoundedSemaphore(window)
    stop = threading.Event()

    def send_all():
        for message in messages:
            while not in_flight.acquire(timeout=0.1):
                if stop.is_set():
                    return
            client.send(message)

    sender = threading.Thread(target=send_all, daemon=True)
    received = 0
    try:
        client.send(header.pack(0, 0, 0))  # PORT_ADD 0
        start = time.perf_counter()
        sender.start()
        while received < len(messages):
            try:
                client.recv()
            except pynng.Timeout:
                raise Skip(f"only {received} of {len(messages)} packets came back") from None
            received += 1
            in_flight.release()
        elapsed = time.perf_counter() - start
    finally:
        stop.set()
        if sender.is_alive():
            sender.join()
        client.close()
    print(f"  {received / elapsed:,.0f} packets/s ({received} packets in {elapsed:.2f} s)")
    return received


def add_end_to_end_options(parser) -> None:
    parser.add_argument("--bmv2", metavar="DIR",
                        help="directory holding BMv2's simple_switch and simple_switch_grpc to "
                             "compare with (DIR or DIR/bin; default: those on PATH, if any)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds per target of the end-to-end and P4Runtime figures, "
                             "alternating; medians (default 3)")
    parser.add_argument("--frames", type=int, default=200000,
                        help="frames per end-to-end --use-files run (default 200000)")
    parser.add_argument("--socket-frames", type=int, default=50000,
                        help="frames per end-to-end nanomsg run (default 50000)")
    parser.add_argument("--router-json", metavar="FILE",
                        help="BMv2 JSON of a router with simple_router's tables to run instead "
                             "of examples/simple_router.p4 (e.g. p4c's JSON of BMv2's own)")


def end_to_end(args) -> None:
    """The switch-process figures of bench_dataplane, with BMv2 when it is found."""
    from p4nic import bench_dataplane

    try:
        bmv2 = bench_dataplane.find_bmv2(args.bmv2)
        router_json = None
        if args.router_json:
            router_json = json.loads(Path(args.router_json).read_text())
        bench_dataplane.bench_end_to_end(args.frames, args.rounds, bmv2, router_json,
                                         args.socket_frames)
    except (bench_dataplane.BenchError, OSError, ValueError) as e:
        raise Skip(str(e)) from None


def bench_offload_part(flows: int) -> None:
    from p4nic.pipelines import PipelineNotFound
    from p4nic.runtime.host import HostError
    from p4nic.runtime.offload_bench import bench_offload
    try:
        figures = bench_offload(flows)
    except (PipelineNotFound, HostError) as e:
        raise Skip(str(e)) from None
    if figures["packets_lost"] or figures["answers_wrong"]:
        raise Skip(f"{figures['packets_lost']} packets lost, {figures['answers_wrong']} wrong "
                   "answers: the offload is broken")


def bench_p4runtime(router: tuple, bmv2_dir, rounds: int) -> None:
    try:
        p4rt_bench.run(router, bmv2_dir, rounds)
    except p4rt_bench.TargetError as e:
        raise Skip(str(e)) from None


def bench_latency_under_control(router: tuple, bmv2_dir, write_entries: int,
                                read_entries: int) -> None:
    try:
        latency_bench.run(router, bmv2_dir, write_entries, read_entries)
    except p4rt_bench.TargetError as e:
        raise Skip(str(e)) from None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="p4nic bench", description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=20000,
                        help="packets per throughput run (default 20000)")
    parser.add_argument("--dsl-rules", type=int, default=10_000,
                        help="rules in the pipeline DSL's file (default 10000)")
    parser.add_argument("--flows", type=int, default=1000,
                        help="concurrent flows in the offload run (default 1000)")
    parser.add_argument("--latency-write", type=int, default=latency_bench.WRITE_ENTRIES,
                        help="entries of the Write and of the rolled-back batch the latency "
                             f"part runs (default {latency_bench.WRITE_ENTRIES})")
    parser.add_argument("--latency-read", type=int, default=latency_bench.READ_ENTRIES,
                        help="entries of the latency part's Read "
                             f"(default {latency_bench.READ_ENTRIES})")
    add_end_to_end_options(parser)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="p4nic-bench-") as tmp:
        workdir = Path(tmp)
        compiled = []

        def router():
            if not compiled:
                compiled.append(compile_router())
            return compiled[0]

        parts = [
            ("compile time (p4nic.compiler)", bench_compile),
            (f"packets/s in-process (Device.process, batches of 256, {PACKET_SIZE}-byte packets, "
             f"{ROUTES} LPM routes)", lambda: bench_in_process(router()[0], args.packets)),
            (f"packets/s through the nanomsg port (p4nic switch process, {PACKET_SIZE}-byte "
             "packets)", lambda: bench_switch(*router(), args.packets, workdir)),
            (f"guest service engine packets/s (GuestServices.process, {SERVICE_FLOWS} "
             "established TCP connections)", lambda: bench_services(args.packets)),
            (f"pipeline DSL: check, entities and apply of a {args.dsl_rules:,}-rule file "
             "(p4nic.dsl.bench)", lambda: bench_dsl(args.dsl_rules)),
            (f"stateful offload: {args.flows} concurrent flows through a host (p4nic up's "
             "offload manager)", lambda: bench_offload_part(args.flows)),
            ("P4Runtime control plane, p4nic switch against BMv2 simple_switch_grpc (medians of "
             f"{args.rounds} alternating rounds)",
             lambda: bench_p4runtime(router(), args.bmv2, args.rounds)),
            ("packet latency through the nanomsg port while the control plane works, p4nic "
             "switch and BMv2 simple_switch_grpc",
             lambda: bench_latency_under_control(router(), args.bmv2, args.latency_write,
                                                 args.latency_read)),
            (f"end to end: switch processes, {PACKET_SIZE}-byte frames, p4nic and BMv2 "
             "simple_switch side by side", lambda: end_to_end(args)),
        ]
        skipped = 0
        for title, part in parts:
            print(f"== {title} ==", flush=True)
            try:
                part()
            except Skip as e:
                print(f"  skipped: {e}")
                skipped += 1
            except ImportError as e:
                print(f"  skipped: {e.name or e} is not available yet")
                skipped += 1
            sys.stdout.flush()
    if skipped:
        print(f"p4nic bench: {skipped} of {len(parts)} parts could not run", file=sys.stderr)
        return 1
    return 0
