"""A P4Runtime client connection: arbitration, pipeline config, Write/Read, packet I/O, digests.

One `Connection` is one controller: a gRPC channel and one StreamChannel, read by a background
thread that sorts what arrives (arbitration replies, packet-ins, digest lists, idle-timeout
notifications, stream errors) into queues the caller reads with a timeout. It speaks plain
P4Runtime v1, so it drives simple_switch_grpc and `p4nic switch` alike.

    with Connection("127.0.0.1:9559", device_id=0, election_id=(0, 1)) as conn:
        conn.set_pipeline(p4info, open("vnic.json", "rb").read())
        conn.insert(builder.table_entry(...))
"""
from __future__ import annotations

import queue
import threading

import grpc
from google.rpc import code_pb2, status_pb2
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc

from p4nic.runtime import protowire
from p4nic.runtime.entities import as_entity
from p4nic.runtime.p4info import load_p4info


# Write/ReadRequest fields framed by hand in write_serialized / read_serialized.
WRITE_UPDATES, UPDATE_TYPE, UPDATE_ENTITY, READ_RESPONSE_ENTITIES = 4, 1, 2, 1
# Deadline of a serialized Write: the usual timeout, plus this much per update.
SECONDS_PER_UPDATE = 0.005
# Deadline of a serialized Read, which may stream a large table.
LONG_READ_TIMEOUT = 600.0

# A failed Write carries one p4.v1.Error per update in its trailing metadata (spec "Error
# Reporting"): ~90 bytes each, so a batch of thousands of updates far exceeds gRPC's default
# 16 KiB metadata limit, and the client would see "Stream removed" instead of the errors.
CHANNEL_OPTIONS = [("grpc.max_metadata_size", 64 << 20),
                   ("grpc.absolute_max_metadata_size", 64 << 20)]


class P4RuntimeClientError(Exception):
    """The server refused a request, or the stream ended; `code` is the gRPC status code."""

    def __init__(self, message: str, code: grpc.StatusCode | None = None):
        super().__init__(message)
        self.code = code


class WriteError(P4RuntimeClientError):
    """A Write that failed; `errors` holds (update index, canonical code name, message) per
    failed update, from the p4.v1.Error details of the status (P4Runtime spec "Error Reporting")."""

    def __init__(self, message: str, code, errors: list):
        super().__init__(message, code)
        self.errors = errors


def _write_error(exc: grpc.RpcError) -> WriteError:
    errors = []
    for key, value in exc.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for index, detail in enumerate(status.details):
            error = p4runtime_pb2.Error()
            if detail.Unpack(error) and error.canonical_code != code_pb2.OK:
                errors.append((index, code_pb2.Code.Name(error.canonical_code), error.message))
    summary = "; ".join(f"update {i}: {code} {msg}" for i, code, msg in errors) or exc.details()
    return WriteError(f"Write failed ({exc.code().name}): {summary}", exc.code(), errors)


class Connection:
    """One P4Runtime controller session with a device."""

    def __init__(self, address: str, device_id: int = 0, election_id=(0, 1), role: str = "",
                 timeout: float = 10.0, arbitrate: bool = True):
        self.address = address
        self.device_id = device_id
        self.election_id = tuple(election_id)
        self.role = role
        self.timeout = timeout
        self.is_primary = False
        self._channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            self._channel.close()
            raise P4RuntimeClientError(f"{address}: no P4Runtime server answered within "
                                       f"{timeout}s", grpc.StatusCode.UNAVAILABLE) from None
        self._stub = p4runtime_pb2_grpc.P4RuntimeStub(self._channel)
        # The same RPCs taking and returning bytes (no (de)serializer): see write_serialized.
        self._write_bytes = self._channel.unary_unary("/p4.v1.P4Runtime/Write")
        self._read_bytes = self._channel.unary_stream("/p4.v1.P4Runtime/Read")
        self._requests: queue.Queue = queue.Queue()
        self._arbitration: queue.Queue = queue.Queue()
        self._packets: queue.Queue = queue.Queue()
        self._digests: queue.Queue = queue.Queue()
        self._idle_timeouts: queue.Queue = queue.Queue()
        self.stream_error: str | None = None
        self._closed = False
        self._stream = self._stub.StreamChannel(iter(self._requests.get, None))
        self._reader = threading.Thread(target=self._read_stream, name=f"p4rt-{address}",
                                        daemon=True)
        self._reader.start()
        if arbitrate:
            try:
                self.arbitrate()
            except Exception:
                self.close()
                raise

    # -- stream -------------------------------------------------------------------------------

    def _read_stream(self):
        try:
            for message in self._stream:
                kind = message.WhichOneof("update")
                if kind == "arbitration":
                    self._arbitration.put(message.arbitration)
                elif kind == "packet":
                    self._packets.put(message.packet)
                elif kind == "digest":
                    self._digests.put(message.digest)
                elif kind == "idle_timeout_notification":
                    self._idle_timeouts.put(message.idle_timeout_notification)
                elif kind == "error":
                    self.stream_error = message.error.message
        except grpc.RpcError as exc:
            if not self._closed:
                self.stream_error = f"{exc.code().name}: {exc.details()}"
        finally:
            self._arbitration.put(None)

    def arbitrate(self) -> bool:
        """Send MasterArbitrationUpdate and wait for the answer; True if this is the primary."""
        update = p4runtime_pb2.MasterArbitrationUpdate(device_id=self.device_id)
        update.election_id.high, update.election_id.low = self.election_id
        if self.role:
            update.role.name = self.role
        self._requests.put(p4runtime_pb2.StreamMessageRequest(arbitration=update))
        try:
            reply = self._arbitration.get(timeout=self.timeout)
        except queue.Empty:
            raise P4RuntimeClientError(f"{self.address}: no arbitration reply in {self.timeout}s",
                                       grpc.StatusCode.DEADLINE_EXCEEDED) from None
        if reply is None:
            raise P4RuntimeClientError(f"{self.address}: stream closed during arbitration "
                                       f"({self.stream_error})", grpc.StatusCode.UNAVAILABLE)
        self.is_primary = reply.status.code == code_pb2.OK
        return self.is_primary

    def send_packet_out(self, packet_out: p4runtime_pb2.PacketOut):
        self._requests.put(p4runtime_pb2.StreamMessageRequest(packet=packet_out))

    def packet_in(self, timeout: float = 1.0) -> p4runtime_pb2.PacketIn | None:
        """The next packet-in, or None if none arrives within `timeout` seconds."""
        return self._get(self._packets, timeout)

    def digest(self, timeout: float = 1.0) -> p4runtime_pb2.DigestList | None:
        return self._get(self._digests, timeout)

    def ack_digest(self, digest_list: p4runtime_pb2.DigestList):
        ack = p4runtime_pb2.DigestListAck(digest_id=digest_list.digest_id,
                                          list_id=digest_list.list_id)
        self._requests.put(p4runtime_pb2.StreamMessageRequest(digest_ack=ack))

    def idle_timeout(self, timeout: float = 1.0):
        return self._get(self._idle_timeouts, timeout)

    def drain_packet_ins(self) -> list:
        """Every packet-in received so far, emptying the queue."""
        drained = []
        while (message := self._get(self._packets, 0)) is not None:
            drained.append(message)
        return drained

    @staticmethod
    def _get(source: queue.Queue, timeout: float):
        try:
            return source.get(timeout=timeout) if timeout else source.get_nowait()
        except queue.Empty:
            return None

    # -- unary RPCs ---------------------------------------------------------------------------

    def set_pipeline(self, p4info, device_config: bytes,
                     action=p4runtime_pb2.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT):
        """Push a P4Info and the target's device config (BMv2 JSON bytes for BMv2)."""
        request = p4runtime_pb2.SetForwardingPipelineConfigRequest(
            device_id=self.device_id, action=action)
        request.election_id.high, request.election_id.low = self.election_id
        if self.role:
            request.role = self.role
        request.config.p4info.CopyFrom(load_p4info(p4info))
        request.config.p4_device_config = bytes(device_config)
        self._call("SetForwardingPipelineConfig", request)

    def get_p4info(self):
        """The P4Info of the pipeline the device runs."""
        request = p4runtime_pb2.GetForwardingPipelineConfigRequest(
            device_id=self.device_id,
            response_type=p4runtime_pb2.GetForwardingPipelineConfigRequest.P4INFO_AND_COOKIE)
        return self._call("GetForwardingPipelineConfig", request).config.p4info

    def write(self, updates, atomicity=p4runtime_pb2.WriteRequest.CONTINUE_ON_ERROR):
        """Send Updates in one WriteRequest; raises WriteError naming each failed update."""
        request = p4runtime_pb2.WriteRequest(device_id=self.device_id, atomicity=atomicity)
        request.election_id.high, request.election_id.low = self.election_id
        if self.role:
            request.role = self.role
        request.updates.extend(updates)
        try:
            self._stub.Write(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise _write_error(exc) from None

    def write_serialized(self, updates, atomicity=p4runtime_pb2.WriteRequest.CONTINUE_ON_ERROR):
        """write() for updates given as (Update.Type, serialized Entity) pairs.

        The WriteRequest is framed around the given bytes (see protowire), so no message object
        is built per update; the deadline grows with the batch.
        """
        request = p4runtime_pb2.WriteRequest(device_id=self.device_id, atomicity=atomicity)
        request.election_id.high, request.election_id.low = self.election_id
        if self.role:
            request.role = self.role
        body = [request.SerializeToString()]
        for update_type, entity in updates:
            update = (protowire.varint(UPDATE_TYPE << 3) + protowire.varint(update_type)
                      + protowire.length_delimited(UPDATE_ENTITY, entity))
            body.append(protowire.length_delimited(WRITE_UPDATES, update))
        timeout = self.timeout + SECONDS_PER_UPDATE * len(body)
        try:
            self._write_bytes(b"".join(body), timeout=timeout)
        except grpc.RpcError as exc:
            raise _write_error(exc) from None

    def insert(self, *entities):
        self.write(self._updates(p4runtime_pb2.Update.INSERT, entities))

    def modify(self, *entities):
        self.write(self._updates(p4runtime_pb2.Update.MODIFY, entities))

    def delete(self, *entities):
        self.write(self._updates(p4runtime_pb2.Update.DELETE, entities))

    @staticmethod
    def _updates(kind, entities) -> list:
        return [p4runtime_pb2.Update(type=kind, entity=as_entity(e)) for e in entities]

    def read(self, *entities) -> list:
        """Every Entity the server returns for the given (wildcard) read entities."""
        request = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        if self.role:
            request.role = self.role
        request.entities.extend(as_entity(e) for e in entities)
        found = []
        try:
            for response in self._stub.Read(request, timeout=self.timeout):
                found.extend(response.entities)
        except grpc.RpcError as exc:
            raise P4RuntimeClientError(f"Read failed ({exc.code().name}): {exc.details()}",
                                       exc.code()) from None
        return found

    def read_serialized(self, *entities) -> list:
        """read(), returning each Entity serialized (bytes): for large tables, parsing only what
        the caller needs is far cheaper than building every message."""
        request = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        if self.role:
            request.role = self.role
        request.entities.extend(as_entity(e) for e in entities)
        found = []
        try:
            for response in self._read_bytes(request.SerializeToString(),
                                             timeout=max(self.timeout, LONG_READ_TIMEOUT)):
                found += protowire.repeated_messages(response, READ_RESPONSE_ENTITIES)
        except grpc.RpcError as exc:
            raise P4RuntimeClientError(f"Read failed ({exc.code().name}): {exc.details()}",
                                       exc.code()) from None
        return found

    def _call(self, method: str, request):
        try:
            return getattr(self._stub, method)(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise P4RuntimeClientError(f"{method} failed ({exc.code().name}): {exc.details()}",
                                       exc.code()) from None

    # -- lifetime -----------------------------------------------------------------------------

    def close(self):
        """Half-close the stream, let the server end it, then close the channel, waiting at
        most `timeout` for each. (gRPC's channel close can wait forever for a call that a
        KeyboardInterrupt cut off inside gRPC; such a channel is left to the process's end.)"""
        if self._closed:
            return
        self._closed = True
        self._requests.put(None)
        self._reader.join(timeout=self.timeout)
        closer = threading.Thread(target=self._channel.close, name="p4rt-close", daemon=True)
        closer.start()
        closer.join(timeout=self.timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
