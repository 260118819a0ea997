"""P4Runtime server under load and abuse: idle StreamChannels by the thousand, clients that do
not read, big messages. Every check goes through a `p4nic switch` process."""
import asyncio
import queue
import re
import threading
import time

import grpc
import pytest
from google.protobuf import text_format
from google.rpc import code_pb2
from p4nic.proto import p4runtime_pb2 as pb
from p4nic.proto import p4runtime_pb2_grpc

from p4nic.nic.p4runtime.rpc import MAX_STREAMS
from p4nic.runtime.local_switch import LocalSwitch
from p4rt_client import PROGRAMS, WAIT, Client, Names, SwitchProcess, Wire, load_config

# P4Runtime server/client behaviour: `make test` runs it under both protobuf runtimes
pytestmark = pytest.mark.p4runtime

NAMES = Names(load_config().p4info)
IDLE_STREAMS = 1000


@pytest.fixture
def switch(tmp_path):
    process = SwitchProcess(tmp_path)
    yield process
    assert process.stop() == 0


class IdleStreams:
    """StreamChannels that never arbitrate, held open by an asyncio client on one thread (a
    coroutine per stream, not a thread)."""

    def __init__(self, address: str, channels: int = 8):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.calls = []
        self.channels = self.run(self._channels(address, channels))

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=WAIT)

    async def _channels(self, address, count):
        return [grpc.aio.insecure_channel(address) for _ in range(count)]

    def open(self, count: int) -> list:
        """Open `count` more streams that never arbitrate; returns, for each, None once the
        server serves it or the status code it was refused with.

        Each stream sends one packet-out, which the server refuses (no arbitration yet) on a
        stream it serves; so the answer proves the stream is open on the server.
        """
        return self.run(self._open(count))

    async def _open(self, count):
        calls = [p4runtime_pb2_grpc.P4RuntimeStub(self.channels[i % len(self.channels)])
                 .StreamChannel() for i in range(count)]
        self.calls += calls
        early = pb.StreamMessageRequest()
        early.packet.payload = b"before arbitration"

        async def served(call):
            try:
                await call.write(early)
                answer = await call.read()
            except grpc.RpcError:
                return await call.code()
            if answer is grpc.aio.EOF:
                return await call.code()
            assert answer.error.canonical_code == code_pb2.FAILED_PRECONDITION
            return None
        return await asyncio.gather(*(served(call) for call in calls))

    def refused(self, count: int) -> list:
        """Open `count` more streams that say nothing; the status each is ended with (one the
        server does not end keeps this waiting until the deadline)."""
        return self.run(self._refused(count))

    async def _refused(self, count):
        calls = [p4runtime_pb2_grpc.P4RuntimeStub(self.channels[i % len(self.channels)])
                 .StreamChannel() for i in range(count)]
        self.calls += calls

        async def ended(call):
            try:
                assert await call.read() is grpc.aio.EOF
            except grpc.RpcError:
                pass
            return await call.code()
        return await asyncio.gather(*(ended(call) for call in calls))

    def close(self):
        async def close_all():
            for call in self.calls:
                call.cancel()
            for channel in self.channels:
                await channel.close()
        self.run(close_all())
        # Stopped, not closed: gRPC's poller may still hand it the channels' last events.
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=WAIT)


@pytest.fixture
def idle(switch):
    streams = IdleStreams(switch.address)
    yield streams
    streams.close()


def test_a_thousand_idle_streams_lock_nobody_out(switch, idle):
    assert idle.open(IDLE_STREAMS) == [None] * IDLE_STREAMS

    client = Client(switch.address, election_id=(0, 5))
    assert client.stub.Capabilities(pb.CapabilitiesRequest(), timeout=WAIT).p4runtime_api_version
    stream = client.stream()
    try:
        assert stream.arbitrate((0, 5)).arbitration.status.code == code_pb2.OK
        client.set_config(load_config())
        entry = pb.Entity()
        entry.table_entry.table_id = NAMES.table("MyIngress.fwd")
        entry.table_entry.match.add(field_id=1).exact.value = b"\x00\x00\x00\x00\x00\x09"
        entry.table_entry.action.action.action_id = NAMES.action("MyIngress.send_to_cpu")
        client.insert(entry)
        assert len(client.read(pb.Entity(table_entry=pb.TableEntry()))) == 1
        wire = Wire(switch.socket)                 # the data plane keeps flowing too
        try:
            punted = bytes.fromhex("000000000009" "000000000001" "0800") + b"to the controller"
            wire.send(4, punted)
            assert stream.recv(kind="packet").packet.payload == punted
        finally:
            wire.close()
    finally:
        stream.close()
        client.close()


def test_streams_beyond_the_limit_are_refused_not_hung(switch, idle):
    assert idle.open(MAX_STREAMS) == [None] * MAX_STREAMS
    assert idle.refused(3) == [grpc.StatusCode.RESOURCE_EXHAUSTED] * 3
    client = Client(switch.address)
    assert client.stub.Capabilities(pb.CapabilitiesRequest(), timeout=WAIT).p4runtime_api_version
    client.close()


def rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def punt_and_mark(wire: Wire, count: int):
    """Send `count` frames the program punts to the CPU, then one it forwards to port 3, and
    wait for that one: every punted frame has then been through the switch."""
    punted = bytes.fromhex("000000000009" "000000000001" "0800") + bytes(1000)
    for _ in range(count):
        wire.send(4, punted)
    marker = bytes.fromhex("000000000003" "000000000001" "0800") + b"marker"
    wire.send(4, marker)
    while wire.recv() != (3, marker):
        pass


def forward_entry(mac: bytes, action: str, *params) -> pb.Entity:
    entry = pb.Entity()
    entry.table_entry.table_id = NAMES.table("MyIngress.fwd")
    entry.table_entry.match.add(field_id=1).exact.value = mac
    entry.table_entry.action.action.action_id = NAMES.action(action)
    for i, value in enumerate(params, start=1):
        entry.table_entry.action.action.params.add(param_id=i, value=value)
    return entry


def test_a_stream_that_does_not_read_costs_bounded_memory(switch):
    """20,000 packet-ins for a primary that never reads them: the switch queues a bounded
    number, drops and counts the rest, and frees them when the stream goes. The client keeps
    gRPC's flow-control window at its initial 64 KiB (no BDP probing), so that the transport
    takes a few dozen of them, not thousands, whichever socket layer gRPC runs on."""
    client = Client(switch.address)               # no stream, no election id: allowed while
    client.set_config(load_config())               # no controller is connected
    client.insert(forward_entry(b"\x00\x00\x00\x00\x00\x09", "MyIngress.send_to_cpu"),
                  forward_entry(b"\x00\x00\x00\x00\x00\x03", "MyIngress.forward", b"\x03"))
    wire = Wire(switch.socket)
    narrow = grpc.insecure_channel(switch.address, options=[("grpc.http2.bdp_probe", 0)])
    try:
        punt_and_mark(wire, 2000)            # warm up the packet path with no controller
        before = rss_kib(switch.proc.pid)
        for round_ in range(2):
            requests = queue.Queue()
            slow = p4runtime_pb2_grpc.P4RuntimeStub(narrow).StreamChannel(
                iter(requests.get, None))
            arbitration = pb.StreamMessageRequest()
            arbitration.arbitration.device_id = client.device_id
            arbitration.arbitration.election_id.low = 7
            requests.put(arbitration)
            assert next(slow).arbitration.status.code == code_pb2.OK     # then reads no more
            punt_and_mark(wire, 20000)
            grown = rss_kib(switch.proc.pid) - before
            assert grown < 24 * 1024, f"round {round_}: {grown} KiB more than before"
            slow.cancel()
            requests.put(None)
            closed = switch.wait_for_log("closed; responses dropped because the client did not "
                                         "read them", count=round_ + 1)
            assert "the client is not reading" in closed
            dropped = re.findall(r"did not read them: (\d+) \(packet: (\d+)\)", closed)
            assert len(dropped) == round_ + 1
            assert int(dropped[-1][1]) > 10000
    finally:
        narrow.close()
        wire.close()
        client.close()


def test_a_pipeline_config_over_4_mib_is_taken_and_given_back(switch):
    """gRPC's default 4 MiB limit would refuse it (RESOURCE_EXHAUSTED); BMv2 takes such
    programs."""
    config = load_config()
    config.p4_device_config += b" " * (5 << 20)        # still the same BMv2 JSON document
    client = Client(switch.address)
    client.set_config(config)
    options = [("grpc.max_receive_message_length", 64 << 20)]
    with grpc.insecure_channel(switch.address, options=options) as channel:
        stub = p4runtime_pb2_grpc.P4RuntimeStub(channel)
        got = stub.GetForwardingPipelineConfig(pb.GetForwardingPipelineConfigRequest(
            device_id=client.device_id), timeout=WAIT)
    assert got.config.p4_device_config == config.p4_device_config
    client.close()


def batch_between(first: pb.Entity, last: pb.Entity, fillers: int, atomicity) -> pb.WriteRequest:
    """INSERT first, `fillers` register writes, INSERT last: a batch long enough to watch."""
    request = pb.WriteRequest(device_id=1, atomicity=atomicity)
    request.updates.add(type=pb.Update.INSERT, entity=first)
    register = pb.Entity()
    register.register_entry.register_id = NAMES.register("MyIngress.reg")
    for i in range(fillers):
        register.register_entry.index.index = i % 16
        register.register_entry.data.bitstring = i.to_bytes(4, "big")
        request.updates.add(type=pb.Update.MODIFY, entity=register)
    request.updates.add(type=pb.Update.INSERT, entity=last)
    return request


def ports_reached(wire: Wire, frame: bytes) -> set:
    """Send `frame` (to port 4), then a marker the switch forwards to port 3; the ports `frame`
    came out on before the marker: the switch handles one port's packets in order."""
    marker = bytes.fromhex("000000000003" "000000000001" "0800") + b"marker"
    wire.send(4, frame)
    wire.send(4, marker)
    ports = set()
    while (packet := wire.recv()) != (3, marker):
        if packet[1] == frame:
            ports.add(packet[0])
    return ports


def forwarded(wire: Wire, frame: bytes) -> bool:
    """Whether `frame` came out on port 2 (see ports_reached)."""
    return 2 in ports_reached(wire, frame)


def until_forwarded(wire: Wire, frame: bytes) -> None:
    deadline = time.monotonic() + 600
    while not forwarded(wire, frame):
        assert time.monotonic() < deadline


def long_write_routes(switch) -> tuple:
    """A client that pushed the config and the marker's route; the first and last entries of a
    long Write (to port 2), and a frame each matches: (client, first, last, to_first, to_last)."""
    client = Client(switch.address)
    client.set_config(load_config())
    client.insert(forward_entry(b"\x00\x00\x00\x00\x00\x03", "MyIngress.forward", b"\x03"))
    first, last = (forward_entry(bytes([0, 0, 0, 0, 0, mac]), "MyIngress.forward", b"\x02")
                   for mac in (0x0a, 0x0b))
    to_first, to_last = (bytes.fromhex(f"0000000000{mac}" "000000000001" "0800") + bytes(46)
                         for mac in ("0a", "0b"))
    return client, first, last, to_first, to_last


@pytest.mark.parametrize("atomicity, packets_see_part", [
    (pb.WriteRequest.CONTINUE_ON_ERROR, True), (pb.WriteRequest.DATAPLANE_ATOMIC, False)])
def test_packets_flow_during_a_long_write_unless_it_is_dataplane_atomic(switch, atomicity,
                                                                          packets_see_part):
    client, first, last, to_first, to_last = long_write_routes(switch)
    request = batch_between(first, last, 30000, atomicity)
    result = []
    writer = threading.Thread(target=lambda: result.append(client.stub.Write(request, timeout=600)))
    wire = Wire(switch.socket)
    try:
        writer.start()
        until_forwarded(wire, to_first)     # the batch's first update is in
        assert forwarded(wire, to_last) is not packets_see_part
        writer.join(timeout=600)
        assert result and forwarded(wire, to_last)
    finally:
        wire.close()
        client.close()


@pytest.fixture(scope="module")
def big_state(tmp_path_factory):
    """A switch running p4rt_big_state.p4 (a 16,384-cell register), its config pushed: (switch,
    client, register id)."""
    switch = LocalSwitch.from_p4(PROGRAMS / "p4rt_big_state.p4",
                                 tmp_path_factory.mktemp("big-state"), device_id=1)
    config = pb.ForwardingPipelineConfig(p4_device_config=switch.json_path.read_bytes())
    text_format.Parse(switch.p4info_path.read_text(), config.p4info)
    client = Client(switch.grpc_addr)
    client.set_config(config)
    yield switch, client, config.p4info.registers[0].preamble.id
    client.close()
    switch.stop()


def peak_rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_a_wildcard_read_of_every_register_cell_streams_in_bounded_memory(big_state):
    switch, client, register_id = big_state
    everything = pb.Entity(register_entry=pb.RegisterEntry(register_id=register_id))
    one = pb.Entity(register_entry=pb.RegisterEntry(register_id=register_id,
                                                    index=pb.Index(index=3)))
    assert len(client.read(one)) == 1                   # warm the read path up
    before = peak_rss_kib(switch.process.pid)
    cells = client.read(everything)
    assert [c.register_entry.index.index for c in cells] == list(range(16384))
    grown = peak_rss_kib(switch.process.pid) - before
    assert grown < 20 * 1024, f"the switch's peak memory grew by {grown} KiB during the read"


def test_rolling_back_an_index_less_register_write_keeps_only_the_old_values(big_state):
    switch, client, register_id = big_state
    cell_3 = pb.Entity(register_entry=pb.RegisterEntry(register_id=register_id,
                                                       index=pb.Index(index=3)))
    cell_3.register_entry.data.bitstring = b"\x2a"
    client.modify(cell_3)
    every_cell = pb.Entity(register_entry=pb.RegisterEntry(register_id=register_id))
    every_cell.register_entry.data.bitstring = b"\x07"
    bad = pb.Entity(register_entry=pb.RegisterEntry(register_id=register_id,
                                                    index=pb.Index(index=1 << 20)))
    bad.register_entry.data.bitstring = b"\x01"
    failing_batch = [pb.Update(type=pb.Update.MODIFY, entity=every_cell),
                     pb.Update(type=pb.Update.MODIFY, entity=bad)]
    with pytest.raises(grpc.RpcError):                  # warm the rollback path up
        client.write(failing_batch[1], atomicity=pb.WriteRequest.ROLLBACK_ON_ERROR)
    before = peak_rss_kib(switch.process.pid)
    with pytest.raises(grpc.RpcError):
        client.write(*failing_batch, atomicity=pb.WriteRequest.ROLLBACK_ON_ERROR)
    grown = peak_rss_kib(switch.process.pid) - before
    assert grown < 20 * 1024, f"the switch's peak memory grew by {grown} KiB for the undo log"
    values = [c.register_entry.data.bitstring for c in client.read(
        pb.Entity(register_entry=pb.RegisterEntry(register_id=register_id)))]
    assert values[3] == b"\x2a" and values.count(b"\x00") == 16383


def test_a_small_write_behind_a_long_one_waits_for_it_and_nothing_else_does(switch):
    """Writes are served in the order they arrive, a small one too (served at once when nothing
    is ahead of it): it waits for the long Write ahead, while other RPCs are answered."""
    client, first, last, to_first, to_last = long_write_routes(switch)
    long_write = client.stub.Write.future(
        batch_between(first, last, 100000, pb.WriteRequest.CONTINUE_ON_ERROR), timeout=600)
    wire = Wire(switch.socket)
    try:
        until_forwarded(wire, to_first)     # the long Write has begun
        small = pb.WriteRequest(device_id=client.device_id)
        small.updates.add(type=pb.Update.MODIFY, entity=forward_entry(
            b"\x00\x00\x00\x00\x00\x0b", "MyIngress.forward", b"\x01"))
        small_write = client.stub.Write.future(small, timeout=600)
        client.stub.Capabilities(pb.CapabilitiesRequest(), timeout=WAIT)
        not_in_table = bytes.fromhex("00000000000c" "000000000001" "0800") + bytes(46)
        # answered while the long Write had not yet inserted its last entry
        assert ports_reached(wire, to_last) == ports_reached(wire, not_in_table)
        small_write.result()          # MODIFY of the entry the long Write inserts last
        long_write.result()
        assert ports_reached(wire, to_last) == {1}
    finally:
        wire.close()
        client.close()
