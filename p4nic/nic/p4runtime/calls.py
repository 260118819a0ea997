"""The batches of gRPC operations a P4Runtime call ends or answers with, for gRPC's completion-
queue API (grpc._cython.cygrpc, the layer grpcio's own servers are built on), and the status
details a refused request carries.
"""
from google.protobuf import any_pb2
from google.rpc import status_pb2
from grpc._cython import cygrpc

from p4nic import protowire
from p4nic.nic.p4runtime.errors import P4RuntimeError

FLAGS = 0                    # no write flags on any operation
STATUS_DETAILS = 3           # google.rpc.Status.details (repeated Any)


def reply(data: bytes) -> tuple:
    """Send `data` as the only message and end the call with OK."""
    return answer(data, False) + end(None, metadata_sent=True)


def answer(data: bytes, metadata_sent: bool) -> tuple:
    """Send `data` (with the initial metadata when they have not gone yet)."""
    message = cygrpc.SendMessageOperation(data, FLAGS)
    if metadata_sent:
        return (message,)
    return cygrpc.SendInitialMetadataOperation(None, FLAGS), message


def end(error: P4RuntimeError | None, metadata_sent: bool = False, watched: bool = False) -> tuple:
    """End the call with `error`'s status (its details, p4.v1.Error list, in
    grpc-status-details-bin, as PI sends them), or OK. `watched`: a `closed()` batch is already
    waiting for the call's end (a StreamChannel's), so this one does not."""
    operations = () if metadata_sent else (cygrpc.SendInitialMetadataOperation(None, FLAGS),)
    if not watched:
        operations += (cygrpc.ReceiveCloseOnServerOperation(FLAGS),)
    if error is None:
        status = cygrpc.SendStatusFromServerOperation(None, cygrpc.StatusCode.ok, b"", FLAGS)
    else:
        trailing = (("grpc-status-details-bin", status_bytes(error)),) if error.details else None
        status = cygrpc.SendStatusFromServerOperation(trailing, error.rpc_code,
                                                      error.message.encode(), FLAGS)
    return operations + (status,)


def receive() -> tuple:
    """Receive the client's next message (None once it has sent its last)."""
    return (cygrpc.ReceiveMessageOperation(FLAGS),)


def closed() -> tuple:
    """Learn when the call is over (the status sent, or the client gone)."""
    return (cygrpc.ReceiveCloseOnServerOperation(FLAGS),)


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
