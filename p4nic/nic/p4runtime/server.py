"""The P4Runtime service of the software NIC, and `start_server`, its one entry point.

The service owns the P4Runtime view of one `Device`: the committed (or saved) pipeline config,
the `Entities` that Write/Read go through, client arbitration, and the StreamChannel traffic
(packet-out/in, digest lists, idle-timeout notifications). Every touch of the device happens
under one lock shared with the port loop of `p4nic switch`, held in small pieces (an update, a
slice of a Read) so that packets keep flowing while P4Runtime works; a DATAPLANE_ATOMIC batch
holds it throughout. Requests are checked in the order the P4Runtime spec gives; any
bad request gets a gRPC status, never a server crash. The gRPC side (the serving thread, the
worker threads, StreamChannel calls) is `rpc.py`.
"""
import gc
import importlib.metadata
import itertools
import logging
import socket
import threading

import grpc
from google.rpc import code_pb2
from p4nic.proto import p4runtime_pb2

from p4nic import protowire
from p4nic.nic.device_lock import HELD, DeviceLock, Held
from p4nic.nic.p4runtime.arbitration import Arbitrator, Controller
from p4nic.nic.p4runtime.cpu_port import cpu_port_warnings
from p4nic.nic.p4runtime.entities import Entities
from p4nic.nic.p4runtime.errors import P4RuntimeError, invalid
from p4nic.nic.p4runtime.fronts import ServerTls
from p4nic.nic.p4runtime.pipeline_config import Pipeline, get_response, verify
from p4nic.nic.p4runtime.native_writes import NATIVE
from p4nic.nic.p4runtime.rpc import MAX_STREAMS, RpcServer, parse
from p4nic.nic.p4runtime.session import PacketInBacklog
from p4nic.nic.p4runtime.stream import DigestBuffers, PacketIO, stream_error

SetRequest = p4runtime_pb2.SetForwardingPipelineConfigRequest
WriteRequest = p4runtime_pb2.WriteRequest
# How often the timer thread flushes digest buffers and scans for idle entries (the spec's
# pseudo-code suggests a 10 ms scanning interval; 20 ms spares the shared CPU).
TICK_SECONDS = 0.02
# Largest request or response (PI proto/server/pi_server.cpp SetMaxReceiveMessageSize).
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
# Entities a Read builds per hold of the device and control locks.
LOCKED_SLICE = 128
# Entities per ReadResponse message (the spec lets the server split a Read freely).
READ_CHUNK = 1000
# Updates of a Write between two freezes of its objects out of the collector's passes
SETTLE_AFTER = 2_000
# Updates a Write applies per hold of the device lock (packets wait at most that long)
WRITE_SLICE = 64
# ReadResponse.entities, framing each serialized Entity
ENTITIES_TAG = protowire.tag(
    p4runtime_pb2.ReadResponse.DESCRIPTOR.fields_by_name["entities"].number)


def api_version() -> str:
    try:
        return importlib.metadata.version("p4runtime")
    except importlib.metadata.PackageNotFoundError:
        return "1.4.1"


def read_response(entities: list) -> bytes:
    """A serialized ReadResponse holding `entities` (serialized Entity messages)."""
    varint = protowire.varint
    return b"".join([ENTITIES_TAG + varint(len(entity)) + entity for entity in entities])


def error_details(errors) -> list:
    """One p4.v1.Error per update/request, OK ones left empty (spec "Error Reporting")."""
    return [p4runtime_pb2.Error(canonical_code=code_pb2.OK) if e is None else
            p4runtime_pb2.Error(canonical_code=e.rpc_code, message=e.message) for e in errors]


def attempt(log, work, *args) -> P4RuntimeError | None:
    """`work(*args)` for one update of a Write: None when it succeeds, else the error to report
    for the update (a bug is logged and reported as INTERNAL, and the server goes on)."""
    try:
        work(*args)
    except P4RuntimeError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - a bug must not take the server down
        log.exception("write failed")
        return P4RuntimeError(grpc.StatusCode.INTERNAL, f"internal error: {exc}")
    return None


class P4RuntimeService:
    """P4Runtime for one device id, one method per RPC; see module docstring.

    The unary methods take the parsed request and return the response, raising P4RuntimeError
    for a refused request; they run on `rpc.py`'s serving thread (`capabilities`, and small
    Writes when the control thread is idle) or its control and other threads.
    """

    def __init__(self, device, device_id: int, cpu_port, lock, inject, device_factory,
                 log: logging.Logger):
        self.device = device
        self.device_id = device_id
        self.cpu_port = cpu_port
        self.lock = lock
        # Serializes the RPCs that change or walk the P4Runtime state (Write, Read, pipeline
        # changes), so that they can take the device `lock` in small pieces and let packets
        # through in between.
        self.control = threading.RLock()
        self.inject = inject or self.process_unattached
        self.device_factory = device_factory
        self.log = log
        self.arbitrator = Arbitrator(device_id)
        self.pipeline: Pipeline | None = None     # what Read/Write refer to
        self.entities: Entities | None = None
        self.packet_io: PacketIO | None = None    # of the committed pipeline
        self.saved = None                         # (Pipeline, scratch Entities) awaiting COMMIT
        self.digests = DigestBuffers(self.send_digest)
        device.on_digest = self.on_digest

    # -- unary RPCs -----------------------------------------------------------------------------

    def capabilities(self, request) -> p4runtime_pb2.CapabilitiesResponse:
        return p4runtime_pb2.CapabilitiesResponse(p4runtime_api_version=api_version())

    def set_forwarding_pipeline_config(self, request):
        self.arbitrator.check_primary(request.device_id, request.role, request, self.known_roles())
        if request.role:
            raise P4RuntimeError(grpc.StatusCode.PERMISSION_DENIED,
                                 "only the default role may set the pipeline config")
        with self.control:
            self.set_pipeline(request)
        return p4runtime_pb2.SetForwardingPipelineConfigResponse()

    def set_pipeline(self, request):
        action = request.action
        if action == SetRequest.COMMIT:
            if request.HasField("config"):
                raise invalid("COMMIT takes no config: it commits the saved one")
            if self.saved is None:
                raise P4RuntimeError(grpc.StatusCode.NOT_FOUND, "no saved config to commit")
            pipeline, scratch = self.saved
            self.commit(pipeline, scratch.snapshot())
            return
        if action not in (SetRequest.VERIFY, SetRequest.VERIFY_AND_SAVE,
                          SetRequest.VERIFY_AND_COMMIT, SetRequest.RECONCILE_AND_COMMIT):
            raise invalid(f"unknown SetForwardingPipelineConfig action {action}")
        if not request.HasField("config"):
            raise invalid("no config given")
        pipeline = verify(request.config, self.device_factory)
        if action == SetRequest.VERIFY:
            return
        if action == SetRequest.VERIFY_AND_SAVE:
            # Read/Write now refer to the new config, but forwarding is untouched until COMMIT
            # (spec): a scratch device holds the writes, replayed into the real one at COMMIT.
            scratch_device = self.device_factory()
            scratch_device.load(pipeline.bmv2_json)
            scratch = Entities(scratch_device.state, pipeline.index)
            with self.lock:
                self.saved = (pipeline, scratch)
                self.pipeline, self.entities = pipeline, scratch
            return
        if action == SetRequest.RECONCILE_AND_COMMIT and self.entities is not None:
            state = self.entities.snapshot()
            self.commit(pipeline, state, restore=(self.pipeline, state))
        else:
            self.commit(pipeline, [])

    def commit(self, pipeline: Pipeline, state, restore=None):
        """Load `pipeline` into the device and replay `state` (a list of Updates) into it.

        When the state cannot be replayed (RECONCILE_AND_COMMIT with an incompatible program)
        and `restore` = (old pipeline, old state) is given, the old program and state come back
        and INVALID_ARGUMENT is returned.
        """
        with self.lock:
            self.device.load(pipeline.bmv2_json)
            entities = Entities(self.device.state, pipeline.index, self.digests)
            try:
                entities.replay(state)
            except P4RuntimeError as exc:
                if restore is None:
                    raise
                old_pipeline, old_state = restore
                self.device.load(old_pipeline.bmv2_json)
                self.entities = Entities(self.device.state, old_pipeline.index, self.digests)
                self.entities.replay(old_state)
                raise invalid(f"the forwarding state cannot be kept with the new config: "
                              f"{exc.message}") from None
            self.pipeline, self.entities, self.saved = pipeline, entities, None
            self.packet_io = PacketIO(pipeline.index.packet_out, pipeline.index.packet_in,
                                      pipeline.index.role_rules)
            self.digests.clear()
            entities.trace = getattr(self.device, "tracer", None)   # control-plane lines
            if entities.trace is not None:
                p4info = pipeline.index.p4info
                entities.trace.control(
                    f"P4Runtime: forwarding pipeline config committed on device "
                    f"{self.device_id}: {len(p4info.tables)} tables, {len(p4info.actions)} "
                    f"actions, {len(state)} entities kept")
        for controller in self.arbitrator.remove_roles(keep=pipeline.index.roles):
            controller.session.end(P4RuntimeError(
                grpc.StatusCode.NOT_FOUND, f"role '{controller.role}' is not in the new pipeline "
                "config"))
        for warning in cpu_port_warnings(pipeline.bmv2_json, pipeline.index.packet_in,
                                         pipeline.index.packet_out, self.cpu_port):
            self.log.warning(warning)
        # A new program leaves the old one's objects to collect and many new long-lived ones:
        # one full collection now, rather than in the middle of the Writes that follow.
        settle_heap(full=True)

    def get_forwarding_pipeline_config(self, request):
        if request.device_id != self.device_id:
            raise P4RuntimeError(grpc.StatusCode.NOT_FOUND, f"unknown device id {request.device_id}")
        # After VERIFY_AND_SAVE this is the saved config, the one Read/Write refer to.
        return get_response(self.pipeline, request.response_type)

    def write(self, request) -> p4runtime_pb2.WriteResponse:
        self.arbitrator.check_primary(request.device_id, request.role, request, self.known_roles())
        if self.entities is None:
            raise P4RuntimeError(grpc.StatusCode.FAILED_PRECONDITION,
                                 "no forwarding pipeline config set")
        if request.atomicity not in WriteRequest.Atomicity.values():
            raise invalid(f"unknown atomicity {request.atomicity}")
        with self.control:
            if request.atomicity == WriteRequest.DATAPLANE_ATOMIC:
                with self.lock:
                    errors = self.apply_batch(self.entities, request, HELD, self.log)
            else:
                errors = self.apply_batch(self.entities, request, self.lock, self.log)
        if any(errors):
            raise P4RuntimeError(grpc.StatusCode.UNKNOWN, "write failure", error_details(errors))
        return p4runtime_pb2.WriteResponse()

    def write_serialized(self, data: bytes) -> p4runtime_pb2.WriteResponse:
        """Write from the request's wire bytes: the native path (native_writes.py) when it is
        loaded and takes the request, else `write` of the parsed request. The checks come in
        the same order: a malformed request, arbitration, then the updates."""
        with self.control:
            native = self.native_writes()
            if native is None:
                return self.write(parse(WriteRequest, data))
            split = native.split(data)
            batch = native.prepare(data, split)
            if batch is None:
                return self.write(native.parse(data, split))
            if batch.undecoded:
                batch.parsed(native.parse(data, split))    # raises when malformed
            request = batch.request
            self.arbitrator.check_primary(request.device_id, request.role, request,
                                          self.known_roles())
            errors = self.apply_native(batch, request.role, self.lock, self.log)
        if any(errors):
            raise P4RuntimeError(grpc.StatusCode.UNKNOWN, "write failure", error_details(errors))
        return p4runtime_pb2.WriteResponse()

    def write_in_place(self, data: bytes) -> bool:
        """A Write of one update, served whole where it arrives (rpc.py's serving thread, inside
        the native front end's poll) when the native path decodes it and the default role's
        primary sent it: True when applied (the reply is an empty WriteResponse); False with
        nothing done, for `write_serialized` to serve it (and phrase any error)."""
        with self.control:
            native = self.native_writes()
            single = native.single(data) if native is not None else None
            if single is None:
                return False
            device_id, election_id, item = single
            if device_id != self.device_id or not self.arbitrator.sent_by_primary("", election_id):
                return False
            with self.lock:
                return native.write_single(item)

    def native_writes(self):
        """The native Write path of the config Writes refer to; None without one (no config, or
        the native module not loaded)."""
        return self.entities.native_writes() if self.entities is not None else None

    @staticmethod
    def apply_native(batch, role: str, lock: DeviceLock, log) -> list:
        """`apply_batch` of a CONTINUE_ON_ERROR batch the native path decoded: WRITE_SLICE
        updates per hold of `lock`, inserted natively while it can, each other one the Python
        way, in order; per-update errors, None for success."""
        errors = []
        i, count = 0, len(batch)
        while i < count:
            stop = min(count, i + WRITE_SLICE)
            with lock:
                i = batch.insert(i, stop, role, errors)
                while i < stop:
                    errors.append(attempt(log, batch.write_one, i, role))
                    i = batch.insert(i + 1, stop, role, errors)
            between_slices(lock, i)
        return errors

    @staticmethod
    def apply_batch(entities: Entities, request, lock: DeviceLock | Held, log) -> list:
        """Apply the updates in order, WRITE_SLICE at a time under `lock`; per-update errors,
        None for success.

        CONTINUE_ON_ERROR tries every update. ROLLBACK_ON_ERROR and DATAPLANE_ATOMIC stop at
        the first error and undo the applied updates, WRITE_SLICE undo steps at a time.
        Packets run between two slices, so they may see part of a batch, except with
        DATAPLANE_ATOMIC, whose caller holds the device lock around the whole batch (and
        passes HELD).
        """
        atomic = request.atomicity != WriteRequest.CONTINUE_ON_ERROR
        errors, undo = [], []
        updates, role = request.updates, request.role

        def write_undoably(update):
            inverse = entities.inverse(update) if atomic else ()
            entities.write(update, role)
            undo.extend(inverse)

        failed = False
        for first in range(0, len(updates), WRITE_SLICE):
            with lock:
                for update in updates[first:first + WRITE_SLICE]:
                    errors.append(error := attempt(log, write_undoably, update))
                    if atomic and error is not None:
                        failed = True
                        break
            if failed:
                break
            between_slices(lock, len(errors))
        if failed:
            steps = undo[::-1]
            for first in range(0, len(steps), WRITE_SLICE):
                with lock:
                    for step in steps[first:first + WRITE_SLICE]:
                        try:
                            entities.undo(step)
                        except P4RuntimeError:
                            log.exception("rollback of an update failed")
                lock.let_packets_through()
            aborted = P4RuntimeError(grpc.StatusCode.ABORTED,
                                     "not applied: another update of the batch failed")
            errors = [e or aborted for e in errors]
            errors += [aborted] * (len(request.updates) - len(errors))
        return errors

    def read(self, request):
        """Yield the Read's responses, serialized, at most READ_CHUNK entities each, as they are
        built; the error to end the RPC with is raised after what was found.

        The entities are built LOCKED_SLICE at a time under the control and device locks, so
        packets and other P4Runtime requests run between two slices (a Read is no snapshot),
        and a big Read holds at most a chunk in memory however many entities it returns.
        """
        if request.device_id != self.device_id:
            raise P4RuntimeError(grpc.StatusCode.NOT_FOUND, f"unknown device id {request.device_id}")
        entities = self.entities
        if entities is None:
            raise P4RuntimeError(grpc.StatusCode.FAILED_PRECONDITION,
                                 "no forwarding pipeline config set")
        errors, pending, sent = [], [], False
        for entity in request.entities:
            try:
                if request.role and request.role not in self.known_roles():
                    raise P4RuntimeError(grpc.StatusCode.NOT_FOUND,
                                         f"unknown role '{request.role}'")
                if entity.WhichOneof("entity") is None:
                    raise invalid("an empty entity cannot be read")
                found = entities.read(entity, role=request.role)
                while True:
                    with self.control, self.lock:
                        piece = list(itertools.islice(found, LOCKED_SLICE))
                    self.lock.let_packets_through()
                    if not piece:
                        break
                    pending += piece
                    while len(pending) >= READ_CHUNK:
                        yield read_response(pending[:READ_CHUNK])
                        del pending[:READ_CHUNK]
                        sent = True
                errors.append(None)
            except P4RuntimeError as exc:
                errors.append(exc)
            except Exception as exc:  # noqa: BLE001
                self.log.exception("read failed")
                errors.append(P4RuntimeError(grpc.StatusCode.INTERNAL, f"internal error: {exc}"))
        if pending or not sent:
            yield read_response(pending)
        if len(errors) == 1 and errors[0] is not None:
            raise errors[0]
        if any(errors):
            raise P4RuntimeError(grpc.StatusCode.UNKNOWN, "read failure", error_details(errors))

    def known_roles(self) -> set | None:
        """The roles of the pipeline Read/Write refer to; None before there is one."""
        return None if self.pipeline is None else self.pipeline.index.roles

    # -- StreamChannel --------------------------------------------------------------------------

    def stream_closed(self, controller: Controller):
        self.arbitrator.remove(controller)

    def on_stream_request(self, controller: Controller, request) -> list | None:
        """One StreamMessageRequest; arbitration errors raise (ending the stream).

        A packet-out is returned as the batch to `inject`, which the caller runs on its
        packet-out thread; other messages are handled here and return None.
        """
        kind = request.WhichOneof("update")
        if kind == "arbitration":
            self.arbitrator.update(controller, request.arbitration, self.known_roles())
            return None
        try:
            if controller.role is None:
                raise P4RuntimeError(grpc.StatusCode.FAILED_PRECONDITION,
                                     "send a MasterArbitrationUpdate first")
            if not self.arbitrator.is_primary(controller):
                raise P4RuntimeError(grpc.StatusCode.PERMISSION_DENIED, "not primary")
            if kind == "packet":
                return self.packet_out(controller.role, request.packet)
            if kind == "digest_ack":
                self.digests.ack(request.digest_ack)
            else:
                raise P4RuntimeError(grpc.StatusCode.UNIMPLEMENTED,
                                     f"stream message {kind or '(empty)'} is not supported")
        except P4RuntimeError as exc:
            if kind == "packet":
                self.log.info("packet-out from %s refused: %s", controller, exc.message)
            controller.send(stream_error(exc.code, exc.message, request))
        except Exception as exc:  # noqa: BLE001 - a bug must not end the session
            self.log.exception("stream message failed")
            controller.send(stream_error(grpc.StatusCode.INTERNAL, f"internal error: {exc}", request))
        return None

    def packet_out(self, role: str, message: p4runtime_pb2.PacketOut) -> list:
        """The batch a PacketOut becomes: its frame entering on the CPU port, if `role` may
        send it (roles.py)."""
        packet_io = self.packet_io
        if packet_io is None:
            raise P4RuntimeError(grpc.StatusCode.FAILED_PRECONDITION,
                                 "no forwarding pipeline config set")
        if self.cpu_port is None:
            raise P4RuntimeError(grpc.StatusCode.FAILED_PRECONDITION,
                                 "no CPU port configured (--cpu-port)")
        if not packet_io.rules.may_send(role):
            raise P4RuntimeError(grpc.StatusCode.PERMISSION_DENIED,
                                 f"role '{role}' may not send packet-outs")
        values = packet_io.packet_out_values(message)
        refusal = packet_io.rules.refusal(role, values, packet_io.packet_out_names)
        if refusal is not None:
            raise P4RuntimeError(grpc.StatusCode.PERMISSION_DENIED, refusal)
        return [(self.cpu_port, packet_io.frame(values, message.payload))]

    def process_unattached(self, batch):
        """`inject` when no port loop is attached: CPU-port output loops back as packet-in."""
        with self.lock.for_packets():
            out = self.device.process(batch)
        self.packet_in([data for port, data in out if port == self.cpu_port])

    def packet_in(self, frames):
        """Send frames the device emitted on the CPU port to the primary of every role that
        receives them (the default role: all; a named role: what roles.py allows it)."""
        packet_io = self.packet_io
        if not frames or packet_io is None:
            return
        primaries = self.arbitrator.primaries()
        if not primaries:
            return
        rules = packet_io.rules
        for frame in frames:
            values = packet_io.packet_in_values(frame)
            if values is None:
                self.log.warning("packet on the CPU port is shorter than the packet_in header")
                continue
            ready = []
            for role, controller in primaries.items():
                if not rules.receives(role, values):
                    continue
                if controller.session.has_room():
                    ready.append(controller.session)
                else:
                    controller.session.drop("packet")
            if not ready:
                continue          # no one to build the PacketIn for
            data = p4runtime_pb2.StreamMessageResponse(
                packet=packet_io.packet_in_message(frame, values)).SerializeToString()
            for session in ready:
                session.send_serialized("packet", data)

    # -- notifications --------------------------------------------------------------------------

    def notify(self, owner_role: str, response):
        """Send a notification to the default role's primary and the owner role's primary."""
        primaries = self.arbitrator.primaries()
        for role in {"", owner_role}:
            if role in primaries:
                primaries[role].send(response)

    def on_digest(self, learn_list_id: int, name: str, samples):
        pipeline = self.pipeline
        if pipeline is None:
            return
        digest = pipeline.index.digest_by_learn_list.get(learn_list_id)
        if digest is not None:
            self.digests.add(digest.id, samples)

    def send_digest(self, digest_list):
        role = self.pipeline.index.digests[digest_list.digest_id].role if self.pipeline else ""
        self.notify(role, p4runtime_pb2.StreamMessageResponse(digest=digest_list))

    def tick(self):
        """Timer work: flush digest buffers, send idle-timeout notifications."""
        self.digests.tick()
        entities = self.entities
        if entities is None:
            return
        with self.lock:
            notifications = entities.idle_notifications()
        for role, notification in notifications:
            self.notify(role, p4runtime_pb2.StreamMessageResponse(
                idle_timeout_notification=notification))


class ServerHandle:
    """What `start_server` returns: the bound port, packet-in delivery, and stop()."""

    def __init__(self, rpc: RpcServer, service: P4RuntimeService, port: int):
        self.rpc = rpc
        self.service = service
        self.port = port
        self.backlog = PacketInBacklog(rpc.call_soon, service.packet_in, service.log)
        self._stopping = threading.Event()
        self._timer = threading.Thread(target=self._run_timer, daemon=True, name="p4rt-timer")
        self._timer.start()

    def _run_timer(self):
        while not self._stopping.wait(TICK_SECONDS):
            try:
                self.service.tick()
            except Exception:  # noqa: BLE001 - keep serving
                self.service.log.exception("P4Runtime timer")

    def packet_in(self, frames):
        """Hand over the packets (list of bytes) the Device emitted on the CPU port; they are
        turned into PacketIns on the server's packet-in thread, so the caller does not wait."""
        self.backlog.put(frames)

    def stop(self, grace: float | None = 0.5):
        self._stopping.set()
        self._timer.join(timeout=1)
        self.rpc.stop(grace)


def between_slices(lock: DeviceLock | Held, done: int) -> None:
    """What a Write does between two slices, `done` updates in: hand the device to waiting
    packets, and every SETTLE_AFTER updates freeze what it made (settle_heap)."""
    lock.let_packets_through()
    if done % SETTLE_AFTER < WRITE_SLICE <= done:
        settle_heap(full=False)


def settle_heap(full: bool) -> None:
    """Keep the collector's full passes short: they walk every object it tracks, holding the
    interpreter, and a switch holding a program and many entries had packets wait 100-200 ms
    for each. The objects that live on (the program, the entries of a big Write) are frozen
    out of its passes; `full`, after a pipeline change, first thaws and collects everything,
    so the old program's cycles are freed. Without `full` only young objects are collected
    first: a cycle already old stays uncollected, which the P4Runtime state does not make."""
    if full:
        gc.unfreeze()
        gc.collect()
    else:
        gc.collect(1)
    gc.freeze()


def start_server(device, address: str = "0.0.0.0:9559", device_id: int = 0, cpu_port=None,
                 lock=None, inject=None, device_factory=None, logger=None,
                 max_streams: int = MAX_STREAMS, tls: ServerTls | None = None) -> ServerHandle:
    """Serve P4Runtime for `device` on `address`; returns a ServerHandle.

    `lock` (a DeviceLock) is held around every device access; share it with the port loop.
    `inject(batch)` runs packet-outs, [(cpu_port, frame)], through the device and routes the
    output (the port loop's own inject; CPU-port output must come back via handle.packet_in).
    Without it the server processes packet-outs itself and only loops CPU output back.
    `device_factory()` makes a scratch Device to verify configs (default: `type(device)()`).
    `logger` gets the server's log lines (default: the "p4nic.p4runtime" logger).
    `tls` (fronts.ServerTls): served over TLS; None: plaintext.
    Raises OSError when the address cannot be bound.
    """
    lock = lock if lock is not None else DeviceLock()
    log = logger or logging.getLogger("p4nic.p4runtime")
    NATIVE.start(log)       # the native Write path: loaded now if cached, else built meanwhile
    service = P4RuntimeService(device, device_id, cpu_port, lock, inject,
                               device_factory or type(device), log)
    # No SO_REUSEPORT (gRPC sets it by default): a second switch on the same port must fail to
    # start, not share the P4Runtime connections with the first.
    rpc = RpcServer(service, log, max_streams=max_streams, options=[
        ("grpc.so_reuseport", 0),
        # PI's server takes requests up to 256 MB (BMv2 JSON of big programs), not gRPC's 4 MB.
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)])
    try:
        port = rpc.start(address, tls)
    except RuntimeError:
        port = 0
    if port == 0:
        raise OSError(f"cannot bind the P4Runtime server to {address}: {why_unbindable(address)}")
    return ServerHandle(rpc, service, port)


def why_unbindable(address: str) -> str:
    """The operating system's reason `address` (HOST:PORT) cannot be bound, for the message
    (gRPC only says that binding failed)."""
    host, _, port = address.rpartition(":")
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            host.strip("[]"), int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.bind(sockaddr)
    except OSError as exc:
        return (exc.strerror or str(exc)).lower()
    except ValueError:
        return "not HOST:PORT"
    return "gRPC refused it"
