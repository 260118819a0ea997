"""The way out to the StreamChannels: a bounded queue of serialized responses per stream, and
the bounded hand-over of packet-ins from the port loop to the thread that builds PacketIns.

Responses for a stream come from any thread (packet-ins, digests and idle-timeout
notifications from theirs, arbitration answers from the serving thread). `send` never blocks:
when no message of the stream is on its way, the calling thread starts sending it; otherwise
it is queued, and each send's completion (on the serving thread) starts the next. A client
that stops reading costs at most `QUEUE_LIMIT` queued messages; later ones are dropped,
counted per kind and logged, and the queue's memory goes with the stream.
"""
import collections
import threading

from p4nic.nic.p4runtime import calls

# Responses queued per stream before new ones are dropped. gRPC flow control holds at most a
# window's worth more inside the transport.
QUEUE_LIMIT = 1024
# CPU-port frames waiting to be turned into PacketIns.
BACKLOG_LIMIT = 4096


class StreamSession:
    """Outgoing side of one StreamChannel; every method may be called from any thread.

    `start(operations, tag)` starts a batch of gRPC operations on the stream's call (False when
    gRPC refuses it); `tag(success, None)` runs on the serving thread when the batch completes."""

    def __init__(self, start, name: str, log, limit: int = QUEUE_LIMIT):
        self.start = start
        self.name = name
        self.log = log
        self.limit = limit
        self.lock = threading.Lock()
        self.queue = collections.deque()
        self.sending = False         # a batch of this stream is on its way (at most one is)
        self.metadata_sent = False
        self.status_sent = False
        self.error = None            # P4RuntimeError that ends the stream
        self.finished = False        # ended: what is queued goes out, then the status
        self.dropped = collections.Counter()   # kind -> messages dropped over the stream's life
        self.overflowing = False

    def send(self, response) -> None:
        """Queue a StreamMessageResponse (serialized here, in the caller's thread)."""
        self.send_serialized(response.WhichOneof("update"), response.SerializeToString())

    def send_serialized(self, kind: str, data: bytes) -> None:
        with self.lock:
            if self.finished:
                return
            if self.sending:
                if len(self.queue) >= self.limit:
                    self._drop(kind)
                    return
                if self.overflowing and len(self.queue) < self.limit // 2:
                    self.overflowing = False
                    self.log.warning("StreamChannel %s: the client reads again; dropped so far: "
                                     "%s", self.name, self.drop_summary())
                self.queue.append(data)
                return
            self.sending = True
        self._send(data)

    def end(self, error=None) -> None:
        """End the stream after what is queued; with `error`, end it with that status."""
        with self.lock:
            if self.finished:
                return
            self.finished = True
            self.error = error
            if self.sending:
                return               # the last send's completion sends the status
            self.sending = True
        self._send(None)

    def has_room(self) -> bool:
        """Whether a response sent now would be queued (so it is worth building)."""
        return not self.finished and len(self.queue) < self.limit

    def drop(self, kind: str) -> None:
        """Count a response that found the queue full (see `has_room`)."""
        with self.lock:
            self._drop(kind)

    def _drop(self, kind: str) -> None:
        self.dropped[kind] += 1
        if not self.overflowing:
            self.overflowing = True
            self.log.warning("StreamChannel %s: the client is not reading; %d responses are "
                             "queued, dropping new ones", self.name, self.limit)

    def _send(self, data: bytes | None) -> None:
        """Start sending `data`, or the status when None; the caller set `sending`."""
        if data is None:
            self.status_sent = True
            operations = calls.end(self.error, self.metadata_sent, watched=True)
        else:
            operations = calls.answer(data, self.metadata_sent)
        self.metadata_sent = True
        if not self.start(operations, self._sent):
            self.close()

    def _sent(self, success: bool, _received) -> None:
        """A send completed: start the next, or the status once the stream has ended."""
        with self.lock:
            if not success or self.status_sent:
                self.sending = False
                self.finished = True
                self.queue.clear()
                return
            if self.queue:
                data = self.queue.popleft()
            elif self.finished:
                data = None
            else:
                self.sending = False
                return
        self._send(data)

    def close(self) -> None:
        """The call is over: free the queue, report what was dropped."""
        with self.lock:
            self.finished = True
            self.queue.clear()
        if self.dropped:
            self.log.warning("StreamChannel %s closed; responses dropped because the client did "
                             "not read them: %s", self.name, self.drop_summary())

    def drop_summary(self) -> str:
        total = sum(self.dropped.values())
        kinds = ", ".join(f"{kind or 'other'}: {count}" for kind, count in sorted(self.dropped.items()))
        return f"{total} ({kinds})"


class PacketInBacklog:
    """CPU-port frames on their way from the port loop to the thread that delivers them.

    `put` (port loop) never blocks and schedules (`call_soon`) at most one `deliver(frames)`
    at a time, with whatever has gathered by then; when delivery falls `limit` frames behind,
    new frames are dropped, counted and logged, rather than piling up in memory.
    """

    def __init__(self, call_soon, deliver, log, limit: int = BACKLOG_LIMIT):
        self.call_soon = call_soon
        self.deliver = deliver
        self.log = log
        self.limit = limit
        self.lock = threading.Lock()
        self.frames: list = []
        self.scheduled = False
        self.dropped = 0

    def put(self, frames: list) -> None:
        with self.lock:
            room = self.limit - len(self.frames)
            if room < len(frames):
                if not self.dropped:
                    self.log.warning("packet-ins arrive faster than the P4Runtime server sends "
                                     "them; dropping what exceeds %d waiting", self.limit)
                self.dropped += len(frames) - max(room, 0)
                frames = frames[:max(room, 0)]
            self.frames += frames
            schedule = not self.scheduled and bool(self.frames)
            self.scheduled |= schedule
        if schedule:
            self.call_soon(self._drain)

    def _drain(self) -> None:
        with self.lock:
            frames, self.frames, self.scheduled = self.frames, [], False
            dropped, self.dropped = self.dropped, 0
        if dropped:
            self.log.warning("%d packet-ins dropped: the P4Runtime server was behind", dropped)
        self.deliver(frames)
