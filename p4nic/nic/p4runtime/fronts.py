"""The gRPC server under rpc.py: one of two front ends with the same interface.

- The native front end (grpc_front.c) drives the system's gRPC C core (`pkg-config grpc`;
  Debian's libgrpc-dev) with one tuple per event. It is compiled at first use (p4nic.native)
  and taken once its build is cached: the first start on a machine builds it for the next.
- grpcio's Cython layer (grpc._cython.cygrpc, the one grpcio's own servers are built on) serves
  where there is no such build, and with P4NIC_NATIVE=0 or P4NIC_GRPC_FRONT=grpcio.
Both serve plaintext or TLS (`ServerTls`).

grpcio's layer makes several Python objects for each event and operation; on a one-update
Write that is ~25 us of the round trip (docs/performance.md).

The interface: `add_port(address, tls=None)` -> the bound port (0: cannot bind); `start()`;
`request_call(tag, handle=None)` (a call of any method); `poll()` -> (tag, success, value), or
None when it woke with nothing completed, value being the new call of a request, or the
message a batch received (else None); `shutdown(tag)`; `cancel_all_calls()`; `destroy()`. A
call has `method` (bytes), `peer()` and `start_batch(operations, tag)` -> False when gRPC
refuses it; operations as calls.py builds them.
The native front end also reads requests ahead: `register(method)` (before the start) -> a
handle, and `request_call(tag, handle)` asks for a call of that method, which comes with its
request in `call.request` (None when the client sent none).
"""
import os
from pathlib import Path
from typing import NamedTuple

from p4nic.native import NativeModule

# gRPC's EventEngine listener, grpcio's default since 1.6x, cost its server ~100 us of CPU per
# call against the older one, so `p4nic switch` chooses that before grpc is imported (a
# GRPC_EXPERIMENTS of the user's own is kept). The system's gRPC core does not know the name and
# says so on stderr, so the native front end starts without it.
GRPCIO_EXPERIMENTS = "-event_engine_listener"
FRONT = NativeModule("_p4nic_grpc_front", Path(__file__).with_name("grpc_front.c"),
                     "P4Runtime is served through grpcio", library="grpc")


class ServerTls(NamedTuple):
    """A server's TLS credentials, PEM bytes, as both front ends take them in add_port."""
    key: bytes
    certificate: bytes
    client_ca: bytes | None         # CA certificates clients are verified against
    client_auth: bool               # every client must present a certificate from client_ca


def front(options: list, log=None):
    """A front end for a server with these gRPC `options`: the native one when its build is
    cached, else grpcio's."""
    if os.environ.get("P4NIC_GRPC_FRONT") != "grpcio":
        FRONT.start(log)
        if FRONT.module is not None:
            if os.environ.get("GRPC_EXPERIMENTS") == GRPCIO_EXPERIMENTS:
                del os.environ["GRPC_EXPERIMENTS"]      # read when the core starts, below
            return FRONT.module.Server(tuple(options))
    return GrpcioFront(options)


class GrpcioFront:
    """The front-end interface (module docstring) on grpcio's Cython layer."""

    def __init__(self, options: list):
        from grpc._cython import cygrpc

        from p4nic.nic.p4runtime import calls

        self.cygrpc = cygrpc
        self.queue = cygrpc.CompletionQueue()
        self.server = cygrpc.Server(tuple(options), False)
        self.server.register_completion_queue(self.queue)
        self.convert = {
            calls.SEND_INITIAL: lambda: cygrpc.SendInitialMetadataOperation(None, 0),
            calls.SEND_MESSAGE: lambda data: cygrpc.SendMessageOperation(data, 0),
            calls.SEND_STATUS: lambda code, details, trailing:
                cygrpc.SendStatusFromServerOperation(trailing, code, details, 0),
            calls.RECEIVE: lambda: cygrpc.ReceiveMessageOperation(0),
            calls.CLOSE: lambda: cygrpc.ReceiveCloseOnServerOperation(0),
        }

    def add_port(self, address: str, tls: ServerTls | None = None) -> int:
        if tls is None:
            return self.server.add_http2_port(address.encode())
        import grpc
        credentials = grpc.ssl_server_credentials(
            [(tls.key, tls.certificate)], root_certificates=tls.client_ca,
            require_client_auth=tls.client_auth)
        return self.server.add_http2_port(address.encode(), credentials._credentials)

    def start(self) -> None:
        self.server.start()

    def request_call(self, tag, handle=None) -> None:
        """`handle` is always None here: grpcio's front end registers no method."""
        self.server.request_call(self.queue, self.queue, tag)

    def poll(self):
        cygrpc = self.cygrpc
        event = self.queue.poll()     # no deadline: one costs ~30 us of CPU a call
        if event.completion_type != cygrpc.CompletionType.operation_complete:
            return None
        kind = type(event)
        if kind is cygrpc.BatchOperationEvent:
            operations = event.batch_operations
            first = operations[0] if operations else None
            received = first.message() if type(first) is cygrpc.ReceiveMessageOperation else None
            return event.tag, event.success, received
        if kind is cygrpc.RequestCallEvent and event.success:
            return event.tag, True, GrpcioCall(self, event.call, event.call_details.method)
        return event.tag, event.success, None

    def shutdown(self, tag) -> None:
        self.server.shutdown(self.queue, tag)

    def cancel_all_calls(self) -> None:
        self.server.cancel_all_calls()

    def destroy(self) -> None:
        self.server.destroy()


class GrpcioCall:
    """A call taken by GrpcioFront."""

    __slots__ = ("front", "call", "method")

    def __init__(self, front: GrpcioFront, call, method: bytes):
        self.front = front
        self.call = call
        self.method = method

    def peer(self) -> bytes:
        return self.call.peer()

    def start_batch(self, operations: tuple, tag) -> bool:
        convert = self.front.convert
        batch = tuple(convert[operation[0]](*operation[1:]) for operation in operations)
        return self.call.start_server_batch(batch, tag) == self.front.cygrpc.CallError.ok
