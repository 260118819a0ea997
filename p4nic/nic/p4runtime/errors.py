"""The one exception the P4Runtime server raises for a bad request, carrying the spec's gRPC code.

Every check in the server raises `P4RuntimeError(code, message)`; the RPC layer turns it into the
gRPC status (or, inside a Write batch, into that update's `p4.v1.Error`), so a bad request never
becomes a traceback.
"""
import grpc
from google.protobuf.message import DecodeError

# What protobuf raises on bytes that are not the message: DecodeError; RecursionError for
# nesting too deep; UnicodeDecodeError for a string field that is not UTF-8, under the
# pure-Python runtime (upb raises DecodeError).
MALFORMED = (DecodeError, RecursionError, UnicodeDecodeError)


class P4RuntimeError(Exception):
    """A request the server refuses, with the status code the P4Runtime spec prescribes."""

    def __init__(self, code: grpc.StatusCode, message: str, details=()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = list(details)   # p4.v1.Error per update, for grpc-status-details-bin

    @property
    def rpc_code(self) -> int:
        """The numeric google.rpc.Code of this error."""
        return self.code.value[0]


def invalid(message: str) -> P4RuntimeError:
    return P4RuntimeError(grpc.StatusCode.INVALID_ARGUMENT, message)
