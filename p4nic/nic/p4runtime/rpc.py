"""The gRPC side of the P4Runtime server: gRPC's completion queue, served by one thread.

The serving thread ("p4rt-serve") waits on the server's completion queue and acts on each event
where it wakes: a new call, a message received, a message sent. An asyncio server hands every
event from gRPC's poller thread to its loop, and a thread-pool server from its serving thread to
a worker; those hand-overs were half of a single Write's round trip. So:

- a Write of one update is served inside the native front end's poll, answered from C, when
  the service takes it whole there (`write_in_place`; with grpcio's front end, first thing
  when it is served inline); a small Write (at most INLINE_BYTES) is served on the serving
  thread itself when no control work is waiting; otherwise Write, Read and
  SetForwardingPipelineConfig, which the service serializes anyway (its control lock), are
  parsed, served and serialized on one "control" thread, in arrival order;
- GetForwardingPipelineConfig (a big config to serialize) runs on a thread of its own, and
  Capabilities on the serving thread, so neither waits behind a long Read or Write;
- a StreamChannel is a call with one receive and at most one send outstanding, not a thread
  nor a coroutine, so idle streams cost a little memory and cannot starve the other RPCs;
- packet-outs go through the device on one thread of their own, in order per stream (a
  stream's next message is received once its packet-out is done);
- packet-ins are built on one thread of their own; each stream's responses go out through its
  `StreamSession`, started by whichever thread makes them.
At most `max_streams` StreamChannels are open at once; one more is refused with
RESOURCE_EXHAUSTED at once. The completion queue is the front end's (fronts.py): gRPC's C core
driven natively where that build is there, else grpcio's Cython layer.
"""
import functools
import threading
from concurrent import futures

import grpc
from p4nic.proto import p4runtime_pb2

from p4nic.nic.p4runtime import calls, fronts
from p4nic.nic.p4runtime.arbitration import Controller
from p4nic.nic.p4runtime.errors import MALFORMED, P4RuntimeError, invalid
from p4nic.nic.p4runtime.session import StreamSession

SERVICE = "p4.v1.P4Runtime"
# Open StreamChannels at most (simple_switch_grpc serves 256 idle ones; PI then limits live
# controllers to 16 per device, as arbitration.MAX_CONTROLLERS_PER_ROLE does per role).
MAX_STREAMS = 2048
# Calls asked of gRPC ahead, per source (any method; each method whose request the front end
# reads ahead): a call that takes a request asks for its replacement once answered (off its
# round trip) while another ask is still out, so a new call is always taken.
CALLS_AHEAD = 2
STREAM_CHANNEL = f"/{SERVICE}/StreamChannel".encode()
WRITE = f"/{SERVICE}/Write".encode()
WRITTEN = calls.reply(b"")    # a Write's answer: its (empty) WriteResponse, then OK
# Writes up to this size are served on the serving thread when the control thread has nothing
# waiting (about 50 table entries: well under a millisecond of work).
INLINE_BYTES = 4096
# method -> (request type, name of the P4RuntimeService method that serves it, thread: "control"
# for those that change or walk the P4Runtime state, "other" for the rest, "serve" for trivia)
UNARY = {
    "Capabilities": (p4runtime_pb2.CapabilitiesRequest, "capabilities", "serve"),
    "SetForwardingPipelineConfig": (p4runtime_pb2.SetForwardingPipelineConfigRequest,
                                    "set_forwarding_pipeline_config", "control"),
    "GetForwardingPipelineConfig": (p4runtime_pb2.GetForwardingPipelineConfigRequest,
                                    "get_forwarding_pipeline_config", "other"),
    # Write takes the wire bytes: the native path reads them without parsing (None: no parse)
    "Write": (None, "write_serialized", "control"),
}


def parse(message_type, data: bytes):
    """A request from its wire bytes; INVALID_ARGUMENT when they are not one."""
    try:
        return message_type.FromString(data)
    except MALFORMED as exc:
        raise invalid(f"malformed {message_type.DESCRIPTOR.name}: {exc}") from None


class Worker:
    """One thread that runs what it is given in order; `idle` when nothing is queued or
    running (asked on the serving thread, the only one that gives it work)."""

    def __init__(self, name: str, log):
        self.pool = futures.ThreadPoolExecutor(1, thread_name_prefix=name)
        self.log = log
        self.lock = threading.Lock()
        self.waiting = 0

    def idle(self) -> bool:
        return self.waiting == 0

    def submit(self, function, *args) -> None:
        with self.lock:
            self.waiting += 1
        try:
            self.pool.submit(self.run, function, args)
        except RuntimeError:          # shut down: the server is stopping
            with self.lock:
                self.waiting -= 1

    def run(self, function, args) -> None:
        try:
            function(*args)
        except Exception:  # noqa: BLE001 - a bug must not stop the thread
            self.log.exception("P4Runtime %s failed", getattr(function, "__name__", function))
        finally:
            with self.lock:
                self.waiting -= 1

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class Read:
    """A Read on its way out: the service's ReadResponses built one ahead on the control thread,
    so a small Read is one step, and a big one holds neither a thread nor more than two chunks
    of its result between two sends."""

    def __init__(self, call, responses):
        self.call = call
        self.responses = responses
        self.ahead = []
        self.error = None
        self.metadata_sent = False

    def step(self) -> tuple:
        """(the next serialized response or None, whether it is the last); an error the Read
        ends with waits in `error` until what came before it is sent."""
        response = self.ahead.pop() if self.ahead else next(self.responses, None)
        try:
            following = None if response is None else next(self.responses, None)
        except P4RuntimeError as exc:
            following = None
            self.error = exc
        if following is not None:
            self.ahead.append(following)
        return response, following is None


class Source:
    """Where calls come from: any method (`handle` None), or the one method the front end gave
    `handle` for when registering it (its calls come with their request). `asked`: calls asked
    of gRPC and not yet taken (serving thread)."""

    def __init__(self, rpc: "RpcServer", handle):
        self.handle = handle
        self.asked = 0
        self.took = functools.partial(rpc.on_call, self)      # the tag of its asks
        self.ask = functools.partial(rpc.request_call, self)


class RpcServer:
    """Serves a P4RuntimeService over gRPC; `start(address, tls)`, `stop(grace)`."""

    def __init__(self, service, log, max_streams: int = MAX_STREAMS, options=()):
        self.service = service
        self.log = log
        self.max_streams = max_streams
        self.options = list(options)
        self.workers = {name: Worker(f"p4rt-{name}", log)
                        for name in ("control", "other", "packet-out", "packet-in")}
        # method -> respond(call, request) of the methods that take one request (all but
        # StreamChannel)
        self.responders = {f"/{SERVICE}/{name}".encode(): self.unary(name, *how)
                           for name, how in UNARY.items()}
        self.responders[f"/{SERVICE}/Read".encode()] = self.read
        self.sessions: set[StreamSession] = set()
        self.server = None            # the front end, once started
        self.front_writes_in_place = False  # it offers Writes to write_in_place itself
        self.lock = threading.Lock()  # guards `due`, `stopping` and the server's end
        self.due = 0                  # batches started whose completion has not been served
        self.stopping = False
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.serve, name="p4rt-serve", daemon=True)

    # -- life cycle (any thread but the serving one) --------------------------------------------

    def start(self, address: str, tls: fronts.ServerTls | None = None) -> int:
        """Bind and serve; returns the bound port. Raises RuntimeError when it cannot bind."""
        # gRPC cancels calls that wait to be picked up beyond its pending-request limits (1000
        # and 3000); raised so that a burst of new streams reaches the max_streams check.
        options = self.options + [("grpc.server.max_pending_requests", 2 * self.max_streams),
                                  ("grpc.server.max_pending_requests_hard_limit",
                                   4 * self.max_streams)]
        server = fronts.front(options, self.log)
        port = server.add_port(address, tls)
        if port == 0:
            raise RuntimeError(f"cannot bind {address}")
        register = getattr(server, "register", None)    # the native front end's
        handles = {path: register(path) for path in self.responders} if register else {}
        sources = [Source(self, handle) for handle in [None, *handles.values()]]
        if WRITE in handles:
            server.answer_in_place(handles[WRITE], self.write_in_place)
            self.front_writes_in_place = True
        server.start()
        self.server = server
        for source in sources:
            for _ in range(CALLS_AHEAD):
                self.request_call(source)
        self.thread.start()
        return port

    def stop(self, grace: float | None) -> None:
        """End every stream, stop serving, and release the threads (once). Calls still running
        after `grace` seconds (None: at once) are cancelled."""
        with self.lock:
            if self.server is None or self.stopping:
                return
            self.stopping = True
            self.due += 1
            self.server.shutdown(ignore)   # no new calls; running ones end
        for session in list(self.sessions):
            session.end()
        if grace is None or not self.stopped.wait(grace):
            with self.lock:
                if not self.stopped.is_set():
                    self.server.cancel_all_calls()
        self.stopped.wait(30)
        for worker in self.workers.values():
            worker.shutdown()

    def call_soon(self, function, *args) -> None:
        """Run `function(*args)` on the packet-in thread (from any thread)."""
        self.workers["packet-in"].submit(function, *args)

    # -- the serving thread ---------------------------------------------------------------------

    def serve(self) -> None:
        """Act on each completion until the server has stopped and nothing is due."""
        while True:
            event = self.server.poll()
            if event is None:
                continue
            tag, success, value = event
            try:
                tag(success, value)
            except Exception:  # noqa: BLE001 - a bug must not stop the server
                self.log.exception("P4Runtime serving thread")
            event = tag = value = None  # a finished call's last reference goes before the wait
            with self.lock:
                self.due -= 1
                if self.stopping and self.due == 0:
                    self.server.destroy()
                    self.stopped.set()
                    return

    def start_batch(self, call, operations, tag) -> bool:
        """Start a batch of operations on `call` (any thread); `tag(success, received)` runs on
        the serving thread when it completes. False when gRPC refuses it."""
        with self.lock:
            self.due += 1
        if call.start_batch(operations, tag):
            return True
        with self.lock:
            self.due -= 1
        return False

    def request_call(self, source: Source) -> None:
        """Ask gRPC for one more call from `source` (none once the server is stopping)."""
        with self.lock:
            if self.stopping:
                return
            self.due += 1
            source.asked += 1
            self.server.request_call(source.took, source.handle)

    def on_call(self, source: Source, success: bool, call) -> None:
        source.asked -= 1
        if not success:
            return            # the server is shutting down
        respond = self.responders.get(call.method)
        # a call that waits for its client could hold the ask it owes forever: one is always out
        then = source.ask if respond is not None and source.asked > 0 else None
        if then is None:
            self.request_call(source)
        if respond is None:
            if call.method == STREAM_CHANNEL:
                self.stream_channel(call)
            else:
                self.start_batch(call, calls.end(P4RuntimeError(
                    grpc.StatusCode.UNIMPLEMENTED, "Method not found!")), ignore)
        elif source.handle is None:     # its request is still to come
            self.start_batch(call, calls.receive(), lambda success, data: self.received(
                call, respond, then, success, data))
        else:
            self.received(call, respond, then, True, call.request)

    def received(self, call, respond, then, success: bool, data: bytes | None) -> None:
        """The request of a call that takes one: `respond(call, request)`, then `then()` (the
        call's replacement asked for). None: the client sent none, and is answered
        INVALID_ARGUMENT (unless it is gone)."""
        if data is not None:
            respond(call, data)
        elif success:
            name = call.method.decode().rpartition("/")[2]
            self.start_batch(call, calls.end(invalid(f"no {name} request")), ignore)
        if then is not None:
            then()

    def guarded(self, name: str, work):
        """`work()`, with a bug turned into INTERNAL (logged) instead of a dead RPC."""
        try:
            return work()
        except P4RuntimeError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug must not take the server down
            self.log.exception("%s failed", name)
            raise P4RuntimeError(grpc.StatusCode.INTERNAL, f"internal error: {exc}") from None

    # -- unary RPCs -----------------------------------------------------------------------------

    def write_in_place(self, data: bytes) -> tuple | None:
        """A Write as the native front end receives it, inside its poll (grpc_front.c
        answer_in_place), or as grpcio's brings it to an inline Write: the batch answering it
        (WRITTEN) when the service served it whole in place, None to serve it as any call. Only
        while the control thread is idle, so that it does not overtake work queued there."""
        if not self.workers["control"].idle():
            return None
        try:
            return WRITTEN if self.service.write_in_place(data) else None
        except Exception:  # noqa: BLE001 - a bug must not stop the server: served as any call
            self.log.exception("P4Runtime Write in place")
            return None

    def unary(self, name: str, request_type, method_name: str, thread: str):
        method = getattr(self.service, method_name)
        worker = self.workers.get(thread)

        def respond(call, data: bytes) -> None:
            try:
                reply = self.guarded(name, lambda: method(
                    data if request_type is None else parse(request_type, data)
                ).SerializeToString())
            except P4RuntimeError as exc:
                self.start_batch(call, calls.end(exc), ignore)
                return
            self.start_batch(call, calls.reply(reply), ignore)

        def dispatch(call, data: bytes) -> None:
            if worker is None:
                respond(call, data)
            elif name == "Write" and worker.idle() and len(data) <= INLINE_BYTES:
                # in place first, unless the front end has offered it already
                answer = None if self.front_writes_in_place else self.write_in_place(data)
                if answer is None:
                    respond(call, data)
                else:
                    self.start_batch(call, answer, ignore)
            else:
                worker.submit(respond, call, data)
        return dispatch

    # -- Read -----------------------------------------------------------------------------------

    def read(self, call, data: bytes) -> None:
        def build():       # runs (parse included) only once stepped, on the control thread
            yield from self.service.read(parse(p4runtime_pb2.ReadRequest, data))
        self.workers["control"].submit(self.read_step, Read(call, build()))

    def read_step(self, read: Read) -> None:
        """Build and send the Read's next response (control thread); the next step waits until
        gRPC has taken this one."""
        try:
            chunk, last = self.guarded("Read", read.step)
        except P4RuntimeError as exc:
            chunk, last, read.error = None, True, exc
        operations = () if chunk is None else calls.answer(chunk, read.metadata_sent)
        read.metadata_sent |= chunk is not None
        if last:
            operations += calls.end(read.error, read.metadata_sent)
        self.start_batch(read.call, operations,
                         ignore if last else lambda success, _: self.read_sent(read, success))

    def read_sent(self, read: Read, success: bool) -> None:
        if success:           # else the client is gone
            self.workers["control"].submit(self.read_step, read)

    # -- StreamChannel --------------------------------------------------------------------------

    def stream_channel(self, call) -> None:
        if len(self.sessions) >= self.max_streams:
            self.start_batch(call, calls.end(P4RuntimeError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"too many open StreamChannels (at most {self.max_streams})")), ignore)
            return
        session = StreamSession(lambda operations, tag: self.start_batch(call, operations, tag),
                                call.peer().decode(errors="replace"), self.log)
        controller = Controller(session)
        self.sessions.add(session)
        self.start_batch(call, calls.closed(), lambda *_: self.stream_closed(controller))
        self.receive(call, controller)

    def receive(self, call, controller: Controller) -> None:
        """Wait for the stream's next message (any thread)."""
        self.start_batch(call, calls.receive(),
                         lambda success, data: self.stream_received(call, controller, data))

    def stream_received(self, call, controller: Controller, data: bytes | None) -> None:
        """A message from the client, or None once it has half-closed (or gone)."""
        session = controller.session
        if data is None:
            session.end()
            return
        try:
            request = parse(p4runtime_pb2.StreamMessageRequest, data)
            batch = self.guarded("StreamChannel", lambda: self.service.on_stream_request(
                controller, request))
        except P4RuntimeError as exc:
            session.end(exc)
            return
        if batch is None:
            self.receive(call, controller)
        else:
            self.workers["packet-out"].submit(self.packet_out, call, controller, batch)

    def packet_out(self, call, controller: Controller, batch) -> None:
        try:
            self.service.inject(batch)
        except Exception:  # noqa: BLE001 - a failing packet-out must not end the stream
            self.log.exception("packet-out failed")
        self.receive(call, controller)

    def stream_closed(self, controller: Controller) -> None:
        """The StreamChannel is over: its status went out, or its client is gone."""
        session = controller.session
        self.sessions.discard(session)
        self.service.stream_closed(controller)
        session.close()


def ignore(success: bool, value) -> None:
    """The completion of a call's last batch, or of the server's shutdown: nothing follows."""
