"""A small P4Runtime client for the server tests: real protos over a real gRPC channel.

Wraps the generated stub with the few conveniences the tests share (P4Info name lookups,
per-update error details, a StreamChannel session with a receive timeout). It is deliberately
independent of p4nic.runtime so the server is tested against the protocol alone.
"""
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pynng
from google.protobuf import text_format
from google.rpc import status_pb2
from p4nic.proto import p4info_pb2
from p4nic.proto import p4runtime_pb2 as pb
from p4nic.proto import p4runtime_pb2_grpc

from p4nic.nic.ports.nanomsg import HEADER, MSG_INFO_REP, MSG_INFO_REQ, MSG_PACKET_IN, MSG_PACKET_OUT

PROGRAMS = Path(__file__).parent / "programs_p4rt"
# How long to wait for something that should happen. Only a failing test waits this long, so it
# is generous: CI shares two cores with other jobs, and a loaded machine can stall a process
# for seconds.
WAIT = 60.0
SetRequest = pb.SetForwardingPipelineConfigRequest


# The gRPC front ends a test can ask a switch for (fronts.py): its environment's settings.
FRONTS = {"native": {}, "grpcio": {"P4NIC_GRPC_FRONT": "grpcio"}}


def environment(**settings) -> dict:
    """This environment without a gRPC front-end choice (`make test`'s second run makes one),
    plus `settings`: for switches whose front end a test decides."""
    return {**{key: value for key, value in os.environ.items() if key != "P4NIC_GRPC_FRONT"},
            **settings}


def maps(pid: int, path: Path) -> bool:
    """Whether process `pid` has `path` mapped (a loaded extension module)."""
    return str(path) in Path(f"/proc/{pid}/maps").read_text()


def wait_for(condition, what: str) -> None:
    """Until `condition()` holds (AssertionError naming `what` after WAIT s)."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT} s for {what}"
        time.sleep(0.05)


def load_config(name: str = "p4rt_basic", cookie: int | None = None) -> pb.ForwardingPipelineConfig:
    """The test program `name` (BMv2 JSON + P4Info text) as a ForwardingPipelineConfig."""
    config = pb.ForwardingPipelineConfig()
    text_format.Parse((PROGRAMS / f"{name}.p4info.txtpb").read_text(), config.p4info)
    config.p4_device_config = (PROGRAMS / f"{name}.json").read_bytes()
    if cookie is not None:
        config.cookie.cookie = cookie
    return config


class Names:
    """P4Info name -> id, e.g. names.table("MyIngress.fwd")."""

    def __init__(self, p4info: p4info_pb2.P4Info):
        self.ids = {}
        for kind in ("tables", "actions", "action_profiles", "counters", "direct_counters",
                     "meters", "direct_meters", "registers", "value_sets", "digests"):
            for obj in getattr(p4info, kind):
                self.ids[(kind, obj.preamble.name)] = obj.preamble.id

    def __getattr__(self, kind):
        return lambda name: self.ids[(kind + "s", name)]


def details(error: grpc.RpcError) -> list:
    """The per-update (code, message) pairs of a failed Write/Read (google.rpc.Status details)."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            out = []
            for detail in status.details:
                item = pb.Error()
                detail.Unpack(item)
                out.append((grpc.StatusCode(next(c for c in grpc.StatusCode
                                                 if c.value[0] == item.canonical_code)),
                            item.message))
            return out
    return []


class Client:
    """One controller: a channel, a device id and (optionally) an election id and role."""

    def __init__(self, address: str, device_id: int = 1, election_id=None, role: str = ""):
        self.channel = grpc.insecure_channel(address)
        self.stub = p4runtime_pb2_grpc.P4RuntimeStub(self.channel)
        self.device_id = device_id
        self.election_id = election_id
        self.role = role

    def close(self):
        self.channel.close()

    def _identify(self, request):
        request.device_id = self.device_id
        request.role = self.role
        if self.election_id is not None:
            request.election_id.high, request.election_id.low = self.election_id

    def set_config(self, config=None, action=SetRequest.VERIFY_AND_COMMIT):
        request = SetRequest(action=action)
        self._identify(request)
        if config is not None:
            request.config.CopyFrom(config)
        return self.stub.SetForwardingPipelineConfig(request, timeout=WAIT)

    def get_config(self, response_type=pb.GetForwardingPipelineConfigRequest.ALL):
        return self.stub.GetForwardingPipelineConfig(pb.GetForwardingPipelineConfigRequest(
            device_id=self.device_id, response_type=response_type), timeout=WAIT)

    def write(self, *updates, atomicity=pb.WriteRequest.CONTINUE_ON_ERROR):
        request = pb.WriteRequest(updates=updates, atomicity=atomicity)
        self._identify(request)
        return self.stub.Write(request, timeout=WAIT)

    def insert(self, *entities):
        return self.write(*[pb.Update(type=pb.Update.INSERT, entity=e) for e in entities])

    def modify(self, *entities):
        return self.write(*[pb.Update(type=pb.Update.MODIFY, entity=e) for e in entities])

    def delete(self, *entities):
        return self.write(*[pb.Update(type=pb.Update.DELETE, entity=e) for e in entities])

    def read(self, *entities, role: str = "") -> list:
        request = pb.ReadRequest(device_id=self.device_id, entities=entities, role=role)
        return [e for response in self.stub.Read(request, timeout=WAIT) for e in response.entities]

    def stream(self) -> "Stream":
        return Stream(self)


class Stream:
    """A StreamChannel session; `recv` returns the next StreamMessageResponse or raises."""

    def __init__(self, client: Client):
        self.client = client
        self.outgoing = queue.Queue()
        self.incoming = queue.Queue()
        self.call = client.stub.StreamChannel(iter(self.outgoing.get, None))
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self):
        try:
            for response in self.call:
                self.incoming.put(response)
            self.incoming.put(EOFError("the server ended the stream"))
        except grpc.RpcError as error:
            self.incoming.put(error)

    def send(self, request: pb.StreamMessageRequest):
        self.outgoing.put(request)

    def arbitrate(self, election_id=None, role: str = "", device_id=None) -> pb.StreamMessageResponse:
        """Send a MasterArbitrationUpdate and return the server's answer to it."""
        request = pb.StreamMessageRequest()
        update = request.arbitration
        update.device_id = self.client.device_id if device_id is None else device_id
        if role:
            update.role.name = role
        if election_id is not None:
            update.election_id.high, update.election_id.low = election_id
        self.send(request)
        return self.recv()

    def recv(self, timeout: float = WAIT, kind: str | None = None):
        """The next response (of `kind`, skipping others); raises the stream's RpcError, or
        EOFError when the server closed it."""
        while True:
            item = self.incoming.get(timeout=timeout)
            if isinstance(item, Exception):
                raise item
            if kind is None or item.WhichOneof("update") == kind:
                return item

    def pending(self, wait: float = 0.2) -> list:
        """Everything that arrives within `wait` seconds."""
        out = []
        try:
            while True:
                out.append(self.incoming.get(timeout=wait))
        except queue.Empty:
            return out

    def close(self):
        self.outgoing.put(None)
        self.call.cancel()
        self.thread.join(timeout=WAIT)


class SwitchProcess:
    """`p4nic switch --no-p4` as a child process: P4Runtime on a free port, ports on nanomsg;
    `options` go before `--`, `env` is its environment (None: this one). Its stdout and stderr
    are in `log_path`."""

    def __init__(self, workdir: Path, device_id: int = 1, cpu_port: int | None = 255,
                 options=(), env=None):
        self.socket = f"ipc://{workdir}/p4rt-switch.ipc"
        self.log_path = workdir / "p4rt-switch.log"
        self.log = open(self.log_path, "w")
        cpu = [] if cpu_port is None else ["--cpu-port", str(cpu_port)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "p4nic.cli", "switch", "--no-p4", "--packet-in", self.socket,
             "--device-id", str(device_id), *options, "--", "--grpc-server-addr", "127.0.0.1:0",
             *cpu],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + WAIT * 2
        while True:
            found = re.search(r"Server listening on [^:]+:(\d+)", self.log_path.read_text())
            if found and os.path.exists(self.socket[len("ipc://"):]):
                self.address = f"127.0.0.1:{found.group(1)}"
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("p4nic switch did not start:\n" + self.log_path.read_text())
            time.sleep(0.05)

    def stop(self) -> int | None:
        """SIGTERM, then the exit code (None if it had to be killed)."""
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None
        finally:
            self.log.close()

    def wait_for_log(self, text: str, count: int = 1) -> str:
        """The switch's output once it contains `text` `count` times (AssertionError after
        WAIT s)."""
        deadline = time.monotonic() + WAIT
        while (output := self.log_path.read_text()).count(text) < count:
            assert time.monotonic() < deadline, f"{text!r} not in the switch's output:\n{output}"
            time.sleep(0.05)
        return output


class Wire:
    """The PTF side of BMv2's nanomsg packet protocol: send to / receive from switch ports."""

    def __init__(self, address: str):
        self.sock = pynng.Pair0(recv_timeout=int(WAIT * 1000), send_timeout=int(WAIT * 1000))
        self.sock.dial(address, block=True)
        self._handshake()

    def _handshake(self):
        """An INFO_REQ round trip. The dial returns before the switch has attached our pipe, and
        a packet the switch sends meanwhile (say, a packet-out that came over gRPC) is dropped;
        once it has answered on this pipe it sends everything here."""
        deadline = time.monotonic() + WAIT
        self.sock.recv_timeout = 200
        try:
            while True:
                self.sock.send(HEADER.pack(MSG_INFO_REQ, 0, 0))
                try:
                    while HEADER.unpack_from(self.sock.recv())[0] != MSG_INFO_REP:
                        pass
                    return
                except pynng.Timeout:
                    if time.monotonic() > deadline:
                        raise
        finally:
            self.sock.recv_timeout = int(WAIT * 1000)

    def send(self, port: int, packet: bytes):
        self.sock.send(HEADER.pack(MSG_PACKET_IN, port, len(packet)) + packet)

    def recv(self) -> tuple:
        """(port, packet) of the next packet the switch sends; pynng.Timeout after WAIT s."""
        while True:
            msg = self.sock.recv()
            kind, port, length = HEADER.unpack_from(msg)
            if kind == MSG_PACKET_OUT:
                return port, msg[HEADER.size:HEADER.size + length]

    def close(self):
        self.sock.close()
