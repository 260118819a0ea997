"""The batches of gRPC operations a P4Runtime call ends or answers with, and the status details
a refused request carries.

A batch is a tuple of operations, each a tuple whose first item says which (the kinds below),
as both gRPC front ends take them (fronts.py; grpc_front.c has the same numbers).
"""
from google.protobuf import any_pb2
from google.rpc import status_pb2

from p4nic import protowire
from p4nic.nic.p4runtime.errors import P4RuntimeError

SEND_INITIAL = 0             # (SEND_INITIAL,): the (empty) initial metadata
SEND_MESSAGE = 1             # (SEND_MESSAGE, data)
SEND_STATUS = 2              # (SEND_STATUS, code, details, trailing pairs or None)
RECEIVE = 3                  # (RECEIVE,): the client's next message
CLOSE = 4                    # (CLOSE,): completes when the call is over
STATUS_DETAILS = 3           # google.rpc.Status.details (repeated Any)
OK = (SEND_STATUS, 0, b"", None)


def reply(data: bytes) -> tuple:
    """Send `data` as the only message and end the call with OK."""
    return answer(data, False) + end(None, metadata_sent=True)


def answer(data: bytes, metadata_sent: bool) -> tuple:
    """Send `data` (with the initial metadata when they have not gone yet)."""
    if metadata_sent:
        return ((SEND_MESSAGE, data),)
    return (SEND_INITIAL,), (SEND_MESSAGE, data)


def end(error: P4RuntimeError | None, metadata_sent: bool = False, watched: bool = False) -> tuple:
    """End the call with `error`'s status (its details, p4.v1.Error list, in
    grpc-status-details-bin, as PI sends them), or OK. `watched`: a `closed()` batch is already
    waiting for the call's end (a StreamChannel's), so this one does not."""
    operations = () if metadata_sent else ((SEND_INITIAL,),)
    if not watched:
        operations += ((CLOSE,),)
    if error is None:
        return operations + (OK,)
    trailing = (("grpc-status-details-bin", status_bytes(error)),) if error.details else None
    return operations + ((SEND_STATUS, error.rpc_code, error.message.encode(), trailing),)


def receive() -> tuple:
    """Receive the client's next message (None once it has sent its last)."""
    return ((RECEIVE,),)


def closed() -> tuple:
    """Learn when the call is over (the status sent, or the client gone)."""
    return ((CLOSE,),)


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
