"""The way out to the StreamChannels: a bounded queue of serialized responses per stream, and
the bounded hand-over of packet-ins from the port loop to the event loop.

Responses for a stream come from any thread (packet-ins from the port loop, digests and
idle-timeout notifications from the timer, arbitration answers from the event loop). `send`
never blocks: it hands the message to the event loop, which queues it for the RPC coroutine
that writes to the client. A client that stops reading costs at most `QUEUE_LIMIT` queued
messages; later ones are dropped, counted per kind and logged, and the queue's memory goes
with the stream.
"""
import asyncio
import collections
import threading

# Responses queued per stream before new ones are dropped. gRPC flow control holds at most a
# window's worth more inside the transport.
QUEUE_LIMIT = 1024
# CPU-port frames waiting for the event loop to turn them into PacketIns.
BACKLOG_LIMIT = 4096


class StreamSession:
    """Outgoing queue of one StreamChannel; `send` from any thread, `responses()` on the loop.

    Made on the event loop's thread (by the StreamChannel coroutine)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, name: str, log, limit: int = QUEUE_LIMIT):
        self.loop = loop
        self.loop_thread = threading.get_ident()
        self.name = name
        self.log = log
        self.limit = limit
        self.queue = collections.deque()
        self.wakeup = asyncio.Event()
        self.error = None            # P4RuntimeError that ends the stream
        self.finished = False
        self.dropped = collections.Counter()   # kind -> messages dropped over the stream's life
        self.overflowing = False

    # -- any thread -----------------------------------------------------------------------------

    def send(self, response) -> None:
        """Queue a StreamMessageResponse (serialized here, in the caller's thread)."""
        self.send_serialized(response.WhichOneof("update"), response.SerializeToString())

    def send_serialized(self, kind: str, data: bytes) -> None:
        self.call_on_loop(self.push, kind, data)

    def end(self, error=None) -> None:
        """End the stream after what is queued; with `error`, end it with that status."""
        self.call_on_loop(self._end, error)

    def call_on_loop(self, function, *args) -> None:
        if threading.get_ident() == self.loop_thread:
            function(*args)
            return
        try:
            self.loop.call_soon_threadsafe(function, *args)
        except RuntimeError:      # the loop is closed: the server is gone, so is the stream
            pass

    # -- event loop -----------------------------------------------------------------------------

    def has_room(self) -> bool:
        """Whether a response pushed now would be queued (so it is worth building)."""
        return not self.finished and len(self.queue) < self.limit

    def drop(self, kind: str) -> None:
        """Count a response that found the queue full (see `has_room`)."""
        self.dropped[kind] += 1
        if not self.overflowing:
            self.overflowing = True
            self.log.warning("StreamChannel %s: the client is not reading; %d responses are "
                             "queued, dropping new ones", self.name, self.limit)

    def push(self, kind: str, data: bytes) -> None:
        if self.finished:
            return
        if len(self.queue) >= self.limit:
            self.drop(kind)
            return
        if self.overflowing and len(self.queue) < self.limit // 2:
            self.overflowing = False
            self.log.warning("StreamChannel %s: the client reads again; dropped so far: %s",
                             self.name, self.drop_summary())
        self.queue.append(data)
        self.wakeup.set()

    def _end(self, error) -> None:
        if not self.finished:
            self.finished = True
            self.error = error
            self.wakeup.set()

    async def responses(self):
        """Serialized responses in order, until the stream is ended."""
        while True:
            while self.queue:
                yield self.queue.popleft()
            if self.finished:
                return
            self.wakeup.clear()
            await self.wakeup.wait()

    def close(self) -> None:
        """The RPC is over: free the queue, report what was dropped."""
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
    """CPU-port frames on their way from the port loop to the event loop.

    `put` (port loop) never blocks and schedules at most one `deliver(frames)` on the loop at
    a time, with whatever has gathered by then; when the loop falls `limit` frames behind, new
    frames are dropped, counted and logged, rather than piling up in memory.
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
