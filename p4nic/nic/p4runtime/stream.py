"""What flows on StreamChannel besides arbitration: packet I/O and digest lists.

- `PacketIO` turns a PacketOut into the bytes the device sees on its CPU port (the
  `@controller_header("packet_out")` header, then the payload) and a CPU-port packet into a
  PacketIn (the `@controller_header("packet_in")` header stripped into metadata), as PI does
  (proto/frontend/src/packet_io_mgr.cpp): fields packed most significant first, in P4Info order.
- `DigestBuffers` implements the spec's "DigestEntry" buffering: per-digest buffer flushed at
  `max_list_size` distinct samples or after `max_timeout_ns`, and a cache of sent-but-unacked
  samples that suppresses duplicates until acked or `ack_timeout_ns` passes.
- `stream_error` builds the StreamError reply to a bad stream message.
Idle-timeout notifications are built by `Entities.idle_notifications`.
"""
import threading
import time

import grpc
from p4.v1 import p4data_pb2, p4runtime_pb2

from p4nic.nic.p4runtime.errors import invalid
from p4nic.nic.p4runtime.translate import PacketMetadataInfo, decode_bytes, encode_int


class PacketIO:
    """Codec between PacketOut/PacketIn messages and CPU-port frames for one P4Info, with the
    roles' packet I/O rules (`roles.RoleRules`) of the same P4Info."""

    def __init__(self, packet_out: PacketMetadataInfo | None, packet_in: PacketMetadataInfo | None,
                 rules):
        self.packet_out = packet_out
        self.packet_in = packet_in
        self.rules = rules

    def packet_out_values(self, message: p4runtime_pb2.PacketOut) -> list[int]:
        """The packet_out header's field values, in header order; INVALID_ARGUMENT on bad
        metadata (missing, repeated, unknown or too wide)."""
        if self.packet_out is None:
            if message.metadata:
                raise invalid("the P4 program has no packet_out controller header")
            return []
        given = {}
        for meta in message.metadata:
            if meta.metadata_id in given:
                raise invalid(f"packet-out metadata id {meta.metadata_id} given twice")
            given[meta.metadata_id] = meta.value
        values = []
        for field_id, name, width in self.packet_out.fields:
            if field_id not in given:
                raise invalid(f"packet-out metadata '{name}' (id {field_id}) is missing")
            values.append(decode_bytes(given.pop(field_id), width, f"packet-out metadata '{name}'"))
        if given:
            raise invalid(f"unknown packet-out metadata id {sorted(given)[0]}")
        return values

    def frame(self, values: list[int], payload: bytes) -> bytes:
        """The bytes to inject on the CPU port: the packet_out header, then the payload."""
        if self.packet_out is None:
            return payload
        header = 0
        total = 0
        for (_, _, width), value in zip(self.packet_out.fields, values):
            header = (header << width) | value
            total += width
        pad = -total % 8
        return (header << pad).to_bytes((total + pad) // 8, "big") + payload

    def packet_in_values(self, frame: bytes) -> list[int] | None:
        """The packet_in header's field values of a CPU-port frame, in header order; None for
        a frame too short to hold the header."""
        if self.packet_in is None:
            return []
        size = self.packet_in.header_bytes
        if len(frame) < size:
            return None
        shift = 8 * size       # fields from the most significant bit; padding bits at the end
        header = int.from_bytes(frame[:size], "big")
        values = []
        for _, _, width in self.packet_in.fields:
            shift -= width
            values.append((header >> shift) & ((1 << width) - 1))
        return values

    def packet_in_message(self, frame: bytes, values: list[int]) -> p4runtime_pb2.PacketIn:
        """The PacketIn for a CPU-port frame whose header holds `values` (packet_in_values)."""
        message = p4runtime_pb2.PacketIn()
        if self.packet_in is None:
            message.payload = frame
            return message
        for (field_id, _, _), value in zip(self.packet_in.fields, values):
            message.metadata.add(metadata_id=field_id, value=encode_int(value))
        message.payload = frame[self.packet_in.header_bytes:]
        return message

    @property
    def packet_out_names(self) -> list[str]:
        return [name for _, name, _ in self.packet_out.fields] if self.packet_out else []


def encode_sample(type_spec, values) -> p4data_pb2.P4Data:
    """A learned sample (ints in learn-list order) as the P4Data of the digest's P4Info type."""
    data = p4data_pb2.P4Data()
    kind = type_spec.WhichOneof("type_spec")
    if kind in ("struct", "tuple"):
        members = getattr(data, kind).members
        for value in values:
            members.add(bitstring=encode_int(value))
    elif kind == "header":
        data.header.is_valid = True
        data.header.bitstrings.extend(encode_int(value) for value in values)
    else:
        data.bitstring = encode_int(values[0] if values else 0)
    return data


class DigestBuffers:
    """Buffers, cache and list ids of every enabled digest; `send(DigestList)` delivers a list."""

    def __init__(self, send):
        self.send = send
        self.lock = threading.Lock()
        self.configs: dict = {}      # digest id -> DigestEntry.Config
        self.type_specs: dict = {}   # digest id -> P4DataTypeSpec
        self.buffers: dict = {}      # digest id -> (first enqueue time, [sample tuples])
        self.cache: dict = {}        # (digest id, list id) -> (sent time, set of samples)
        self.next_list_id = 1

    def configure(self, digest_id: int, config, type_spec):
        with self.lock:
            self.configs[digest_id] = config
            self.type_specs[digest_id] = type_spec
            self.buffers.pop(digest_id, None)

    def disable(self, digest_id: int):
        with self.lock:
            self.configs.pop(digest_id, None)
            self.buffers.pop(digest_id, None)
            for key in [k for k in self.cache if k[0] == digest_id]:
                del self.cache[key]

    def clear(self):
        with self.lock:
            self.configs.clear()
            self.buffers.clear()
            self.cache.clear()

    def add(self, digest_id: int, samples):
        """Samples from the data plane (called from Device.on_digest, under the device lock)."""
        ready = []
        with self.lock:
            config = self.configs.get(digest_id)
            if config is None:
                return
            seen = set().union(*(s for (d, _), (_, s) in self.cache.items() if d == digest_id))
            for sample in map(tuple, samples):
                _, buffer = self.buffers.get(digest_id, (None, ()))
                if sample in seen or sample in buffer:
                    continue
                pending = self.buffers.setdefault(digest_id, (time.monotonic(), []))[1]
                pending.append(sample)
                full = config.max_list_size and len(pending) >= config.max_list_size
                if full or config.max_timeout_ns == 0:
                    ready.append(self._take(digest_id))
                    if config.ack_timeout_ns:
                        seen.update(self.cache[(digest_id, ready[-1].list_id)][1])
        for message in ready:
            self.send(message)

    def ack(self, ack: p4runtime_pb2.DigestListAck):
        with self.lock:
            if ack.digest_id not in self.configs:
                raise invalid(f"digest id {ack.digest_id} is not enabled")
            self.cache.pop((ack.digest_id, ack.list_id), None)

    def tick(self):
        """Flush buffers older than max_timeout_ns and expire cache entries (timer thread)."""
        now = time.monotonic()
        ready = []
        with self.lock:
            for digest_id, (started, buffer) in list(self.buffers.items()):
                if buffer and (now - started) * 1e9 >= self.configs[digest_id].max_timeout_ns:
                    ready.append(self._take(digest_id))
            for key, (sent, _) in list(self.cache.items()):
                if (now - sent) * 1e9 >= self.configs[key[0]].ack_timeout_ns:
                    del self.cache[key]
        for message in ready:
            self.send(message)

    def _take(self, digest_id: int) -> p4runtime_pb2.DigestList:
        _, buffer = self.buffers.pop(digest_id)
        list_id = self.next_list_id
        self.next_list_id += 1
        if self.configs[digest_id].ack_timeout_ns:
            self.cache[(digest_id, list_id)] = (time.monotonic(), set(buffer))
        message = p4runtime_pb2.DigestList(digest_id=digest_id, list_id=list_id,
                                           timestamp=time.time_ns())
        for sample in buffer:
            message.data.append(encode_sample(self.type_specs[digest_id], sample))
        return message


def stream_error(code: grpc.StatusCode, message: str, request) -> p4runtime_pb2.StreamMessageResponse:
    """A StreamError naming the request that caused it (spec "Stream Error Reporting")."""
    response = p4runtime_pb2.StreamMessageResponse()
    response.error.canonical_code = code.value[0]
    response.error.message = message
    kind = request.WhichOneof("update")
    if kind == "packet":
        response.error.packet_out.packet_out.CopyFrom(request.packet)
    elif kind == "digest_ack":
        response.error.digest_list_ack.digest_list_ack.CopyFrom(request.digest_ack)
    else:
        response.error.other.SetInParent()
    return response

