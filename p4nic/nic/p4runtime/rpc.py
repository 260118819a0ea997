"""The gRPC side of the P4Runtime server: an asyncio gRPC server on an event loop of its own.

A StreamChannel lives as long as its controller and is mostly idle. As a coroutine it costs a
little memory, not a thread, so idle streams cannot starve the other RPCs (with a pool of
worker threads, each stream held one for its life, and 31 idle streams locked everyone out).
The loop only moves messages; whatever may block or take long runs on threads:

- Write, Read and SetForwardingPipelineConfig, which the service serializes anyway (its
  control lock), are parsed, served and serialized on one "control" thread, in arrival order;
- GetForwardingPipelineConfig (a big config to serialize) runs on a thread of its own, and
  Capabilities on the loop, so neither waits behind a long Read or Write;
- packet-outs go through the device on one thread of their own, in order per stream;
- packet-ins, digests and notifications reach each stream through its `StreamSession`.
At most `max_streams` StreamChannels are open at once; one more is refused with
RESOURCE_EXHAUSTED at once.
"""
import asyncio
import threading
from concurrent import futures

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError
from google.rpc import status_pb2
from p4nic.proto import p4runtime_pb2

from p4nic import protowire
from p4nic.nic.p4runtime.arbitration import Controller
from p4nic.nic.p4runtime.errors import P4RuntimeError, invalid
from p4nic.nic.p4runtime.session import StreamSession

SERVICE = "p4.v1.P4Runtime"
STATUS_DETAILS = 3           # google.rpc.Status.details (repeated Any)
# Open StreamChannels at most (simple_switch_grpc serves 256 idle ones; PI then limits live
# controllers to 16 per device, as arbitration.MAX_CONTROLLERS_PER_ROLE does per role).
MAX_STREAMS = 2048
# method -> (request type, name of the P4RuntimeService method that serves it, thread: "control"
# for those that change or walk the P4Runtime state, "other" for the rest, "loop" for trivia)
UNARY = {
    "Capabilities": (p4runtime_pb2.CapabilitiesRequest, "capabilities", "loop"),
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
    except (DecodeError, RecursionError) as exc:
        raise invalid(f"malformed {message_type.DESCRIPTOR.name}: {exc}") from None


async def abort(context, error: P4RuntimeError):
    """End the RPC with `error`; its details (p4.v1.Error list) go in grpc-status-details-bin."""
    metadata = ()
    if error.details:
        metadata = (("grpc-status-details-bin", status_bytes(error)),)
    await context.abort(error.code, error.message, metadata)


def status_bytes(error: P4RuntimeError) -> bytes:
    """The google.rpc.Status of `error`, serialized a detail at a time: a failed batch of
    100,000 updates has as many details, mostly alike (each packed once here), and one
    SerializeToString of them all held the interpreter for ~40 ms while packets waited."""
    head = status_pb2.Status(code=error.rpc_code, message=error.message).SerializeToString()
    packed_details = {}
    parts = [head]
    for detail in error.details:
        key = detail.SerializeToString()
        packed = packed_details.get(key)
        if packed is None:
            wrapper = any_pb2.Any()
            wrapper.Pack(detail)
            packed = packed_details[key] = protowire.length_delimited(
                STATUS_DETAILS, wrapper.SerializeToString())
        parts.append(packed)
    return b"".join(parts)


class RpcServer:
    """Serves a P4RuntimeService over gRPC; `start(address, credentials)`, `stop()`."""

    def __init__(self, service, log, max_streams: int = MAX_STREAMS, options=()):
        self.service = service
        self.log = log
        self.max_streams = max_streams
        self.options = list(options)
        self.threads = {"control": futures.ThreadPoolExecutor(1, thread_name_prefix="p4rt-control"),
                        "other": futures.ThreadPoolExecutor(1, thread_name_prefix="p4rt-other")}
        self.packet_outs = futures.ThreadPoolExecutor(1, thread_name_prefix="p4rt-packet-out")
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="p4rt-loop", daemon=True)
        self.sessions: set[StreamSession] = set()
        self.server = None

    # -- life cycle (any thread but the loop's) -------------------------------------------------

    def start(self, address: str, credentials=None) -> int:
        """Bind and serve; returns the bound port. Raises RuntimeError when it cannot bind."""
        self.thread.start()
        try:
            return asyncio.run_coroutine_threadsafe(self._start(address, credentials),
                                                    self.loop).result()
        except BaseException:
            self._release()
            raise

    async def _start(self, address: str, credentials) -> int:
        # gRPC cancels calls that wait to be picked up beyond its pending-request limits (1000
        # and 3000); raised so that a burst of new streams reaches the handler (and the
        # max_streams check) instead.
        options = self.options + [("grpc.server.max_pending_requests", 2 * self.max_streams),
                                  ("grpc.server.max_pending_requests_hard_limit",
                                   4 * self.max_streams)]
        server = grpc.aio.server(options=options)
        server.add_generic_rpc_handlers((self.handlers(),))
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
        if port == 0:
            raise RuntimeError(f"cannot bind {address}")
        await server.start()
        self.server = server
        return port

    def stop(self, grace: float | None) -> None:
        """End every stream, stop serving, and release the loop and the threads (once)."""
        if self.loop.is_closed():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._stop(grace), self.loop).result(timeout=30)
        finally:
            self._release()

    async def _stop(self, grace):
        for session in list(self.sessions):
            session.end()
        await self.server.stop(grace)

    def _release(self):
        """Stop the event loop and the worker threads."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        if not self.thread.is_alive():
            self.loop.close()
        for pool in self.threads.values():
            pool.shutdown(wait=False, cancel_futures=True)
        self.packet_outs.shutdown(wait=False, cancel_futures=True)

    def call_soon(self, function, *args) -> None:
        """Run `function(*args)` on the event loop (from any thread); dropped once stopped."""
        try:
            self.loop.call_soon_threadsafe(function, *args)
        except RuntimeError:
            pass

    # -- handlers -------------------------------------------------------------------------------

    def handlers(self) -> grpc.GenericRpcHandler:
        """Every method takes and returns wire bytes (no (de)serializer) except StreamChannel's
        requests, so big messages are parsed and serialized off the event loop."""
        methods = {name: grpc.unary_unary_rpc_method_handler(self.unary(name, *how))
                   for name, how in UNARY.items()}
        methods["Read"] = grpc.unary_stream_rpc_method_handler(self.read)
        methods["StreamChannel"] = grpc.stream_stream_rpc_method_handler(
            self.stream_channel, request_deserializer=p4runtime_pb2.StreamMessageRequest.FromString)
        return grpc.method_handlers_generic_handler(SERVICE, methods)

    def unary(self, name: str, request_type, method_name: str, thread: str):
        method = getattr(self.service, method_name)

        def serve(data: bytes) -> bytes:
            return self.guarded(name, lambda: method(
                data if request_type is None else parse(request_type, data)).SerializeToString())

        async def handle(data: bytes, context) -> bytes:
            try:
                if thread == "loop":
                    return serve(data)
                return await self.loop.run_in_executor(self.threads[thread], serve, data)
            except P4RuntimeError as exc:
                await abort(context, exc)
        return handle

    def guarded(self, name: str, work):
        """`work()`, with a bug turned into INTERNAL (logged) instead of a dead RPC."""
        try:
            return work()
        except P4RuntimeError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug must not take the server down
            self.log.exception("%s failed", name)
            raise P4RuntimeError(grpc.StatusCode.INTERNAL, f"internal error: {exc}") from None

    async def read(self, data: bytes, context):
        """The service's ReadResponses as it builds them, on the control thread, one ahead (so
        a small Read is a single hop): between two, a big Read holds neither a thread nor
        more than two chunks of its result."""
        def build():       # runs (parse included) only once stepped, on the control thread
            yield from self.service.read(parse(p4runtime_pb2.ReadRequest, data))

        responses, ahead, error = build(), [], []

        def step() -> tuple:
            """(the next serialized response or None, whether it is the last); an error the Read
            ends with waits in `error` until what came before it is sent."""
            response = ahead.pop() if ahead else next(responses, None)
            try:
                following = None if response is None else next(responses, None)
            except P4RuntimeError as exc:
                following = None
                error.append(exc)
            if following is not None:
                ahead.append(following)
            return response, following is None

        control = self.threads["control"]
        try:
            last = False
            while not last:
                chunk, last = await self.loop.run_in_executor(control, self.guarded, "Read", step)
                if chunk is not None:
                    yield chunk
        except P4RuntimeError as exc:
            error.append(exc)
        if error:
            await abort(context, error[0])

    async def stream_channel(self, requests, context):
        if len(self.sessions) >= self.max_streams:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                f"too many open StreamChannels (at most {self.max_streams})")
        session = StreamSession(self.loop, context.peer(), self.log)
        controller = Controller(session)
        self.sessions.add(session)
        reader = self.loop.create_task(self.read_stream(requests, controller))
        try:
            async for data in session.responses():
                await context.write(data)
            if session.error is not None:
                await context.abort(session.error.code, session.error.message)
        finally:
            reader.cancel()
            self.sessions.discard(session)
            self.service.stream_closed(controller)
            session.close()

    async def read_stream(self, requests, controller: Controller):
        """The client's side of a StreamChannel, until it half-closes or an arbitration error."""
        session = controller.session
        try:
            async for request in requests:
                batch = self.service.on_stream_request(controller, request)
                if batch is not None:
                    await self.loop.run_in_executor(self.packet_outs, self.packet_out, batch)
        except P4RuntimeError as exc:
            session.end(exc)
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the client went away mid-read
            pass
        session.end()

    def packet_out(self, batch):
        try:
            self.service.inject(batch)
        except Exception:  # noqa: BLE001 - a failing packet-out must not end the stream
            self.log.exception("packet-out failed")
