"""BMv2's nanomsg packet protocol: every port of a device over one PAIR socket.

The switch binds a PAIR socket at the `--packet-in` address; a peer (PTF's `nn` platform) dials
it. Each message starts with three little-endian 32-bit ints `(type, port, more)`; `more` is the
payload length for packets, the status for PORT_SET_STATUS and the info type for INFO_REQ.
Source of truth: behavioral-model src/bm_sim/dev_mgr_packet_in.cpp (PacketInDevMgrImp) and
PTF's ptf/dataplane.py (DataPlanePacketSourceNN).

As BMv2 does without `enforce_ports`, packets are accepted on and sent to every port; the
PORT_ADD / PORT_REMOVE / PORT_SET_STATUS messages only keep the port table that `ports_info`
reports.

The switch side speaks the scalability protocols' PAIR v0 on plain sockets itself (the SP
mappings of nanomsg and nng: an 8-byte protocol header each way, then messages framed by a
64-bit length, over IPC with a one-byte message type before it), rather than through a
message-at-a-time library: a whole batch is one `recv_into` and one `sendall`, the difference
between a few microseconds of I/O per packet and a fraction of one. Clients (PTF, PacketWire)
still use nng. As nng's pair0 does, a second peer is accepted, shaken hands with and closed.
"""
import collections
import errno
import logging
import os
import select
import socket
import struct
import threading

from p4nic.nic.ports import PortError

HEADER = struct.Struct("<iii")

MSG_PORT_ADD = 0
MSG_PORT_REMOVE = 1
MSG_PORT_SET_STATUS = 2
MSG_PACKET_IN = 3
MSG_PACKET_OUT = 4
MSG_INFO_REQ = 5
MSG_INFO_REP = 6

# BMv2's MsgPortStatus values (dev_mgr_packet_in.cpp). PTF's own constants are the other way
# round, which is harmless because BMv2 (and so we) only record the status.
PORT_STATUS_DOWN = 0
PORT_STATUS_UP = 1

INFO_STATUS_NOT_SUPPORTED = 1

PORT_LIMIT = 512  # v1model ports are bit<9>

# Messages the sender may hold for a peer that does not keep up; a slow peer loses packets
# past this, like a full NIC ring.
QUEUE_DEPTH = 4096

SP_PAIR_V0 = 0x10  # NN_PAIR / nng pair0: protocol 1, version 0; the peer must be one too
SP_HEADER = bytes([0, ord("S"), ord("P"), 0, 0, SP_PAIR_V0, 0, 0])
IPC_MESSAGE = 1  # the IPC mapping's message type byte before the length
MAX_MESSAGE = 1 << 20  # nng's default receive limit: a larger length means a broken stream
READ_CHUNK = 1 << 16  # bytes read per receive call: a batch of a few hundred small packets
LENGTH = struct.Struct(">Q")


def listen_address(address: str) -> str:
    """nanomsg's `tcp://*:PORT` wildcard, spelled as an address to bind."""
    if address.startswith("tcp://*:"):
        return "tcp://0.0.0.0:" + address[len("tcp://*:"):]
    return address


def _listen(address: str) -> tuple[socket.socket, bool]:
    """A listening stream socket for `ipc://PATH` or `tcp://HOST:PORT`, and whether it is IPC."""
    scheme, sep, rest = listen_address(address).partition("://")
    try:
        if sep and scheme == "ipc" and rest:
            if os.path.exists(rest):
                _remove_stale_socket(rest)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target, ipc = rest, True
        elif sep and scheme == "tcp" and ":" in rest:
            host, _, port = rest.rpartition(":")
            info = socket.getaddrinfo(host.strip("[]") or None, int(port), type=socket.SOCK_STREAM,
                                      flags=socket.AI_PASSIVE)[0]
            sock = socket.socket(info[0], socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            target, ipc = info[4], False
        else:
            raise OSError("not an ipc:// or tcp://HOST:PORT address")
    except (OSError, ValueError) as e:
        raise PortError(f"cannot listen on packet-in address '{address}': {e}") from None
    try:
        sock.bind(target)
        sock.listen(8)
    except OSError as e:
        sock.close()
        raise PortError(f"cannot listen on packet-in address '{address}': "
                        f"{e.strerror or e}") from None
    return sock, ipc


def _remove_stale_socket(path: str) -> None:
    """An IPC socket file nobody listens on (a switch that died) is removed, as nng does."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        os.unlink(path)
    except OSError:
        pass
    else:
        raise OSError(errno.EADDRINUSE, "address in use by another listener")
    finally:
        probe.close()


def framed(messages: list[bytes], ipc: bool) -> bytes:
    """`messages` as one run of SP frames (IPC: type byte, then the length)."""
    pack = LENGTH.pack
    if ipc:
        return b"".join([piece for m in messages for piece in (b"\x01" + pack(len(m)), m)])
    return b"".join([piece for m in messages for piece in (pack(len(m)), m)])


def message_spans(buffer, prefix: int) -> tuple[list[tuple[int, int]], int]:
    """(start, end) of each whole message in `buffer` and where the unfinished rest begins;
    ValueError when a length is past MAX_MESSAGE (the stream is broken)."""
    spans = []
    offset, end = 0, len(buffer)
    unpack_length = LENGTH.unpack_from
    while end - offset >= prefix:
        size = unpack_length(buffer, offset + prefix - 8)[0]
        if size > MAX_MESSAGE:
            raise ValueError(f"a message of {size} bytes")
        start = offset + prefix
        if end - start < size:
            break
        offset = start + size
        spans.append((start, offset))
    return spans, offset


def dial(address: str, timeout: float = 10.0) -> tuple[socket.socket, bool]:
    """The dialling side on a plain socket, for clients that move batches (`p4nic bench`):
    (connected socket past the SP handshake, whether it is IPC); OSError if it fails."""
    scheme, _, rest = address.partition("://")
    if scheme == "ipc":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target = rest
    elif scheme == "tcp":
        host, _, port = rest.rpartition(":")
        info = socket.getaddrinfo(host.strip("[]"), int(port), type=socket.SOCK_STREAM)[0]
        sock = socket.socket(info[0], socket.SOCK_STREAM)
        target = info[4]
    else:
        raise OSError(f"cannot dial '{address}': not an ipc:// or tcp:// address")
    try:
        sock.settimeout(timeout)
        sock.connect(target)
        sock.sendall(SP_HEADER)
        got = b""
        while len(got) < len(SP_HEADER):
            more = sock.recv(len(SP_HEADER) - len(got))
            if not more:
                raise OSError(f"'{address}' closed the connection (busy?)")
            got += more
        if got[:6] != SP_HEADER[:6]:
            raise OSError(f"'{address}' is not a PAIR v0 socket")
        sock.settimeout(None)
    except BaseException:
        sock.close()
        raise
    return sock, scheme == "ipc"


class NanomsgPorts:
    """The switch side of the protocol: binds `address`, carries packets for any port number."""

    ports = None  # every port goes through this one socket

    def __init__(self, address: str, logger: logging.Logger | None = None):
        self.address = address
        self.log = logger or logging.getLogger("p4nic.switch")
        self.ports_info: dict[int, bool] = {}  # port -> is up, as announced by the peer
        self.dropped = 0  # packets that could not be sent (no peer, peer too slow)
        self._listener, ipc = _listen(address)
        self._ipc_path = listen_address(address)[len("ipc://"):] if ipc else None
        self._prefix = 9 if ipc else 8  # bytes before each message's body
        self._peer: socket.socket | None = None
        self._inbox = bytearray()  # bytes read from the peer, not yet a whole message
        self._chunk = bytearray(READ_CHUNK)
        # one descriptor for select, whoever the peer is: readable when the peer's socket is
        self._poll = select.epoll()
        self._outbox = collections.deque()  # (framed batch, message count) for the sender thread
        self._queued = 0  # messages in _outbox
        self._sending = False  # the sender thread is writing chunks it took from _outbox
        self._send_lock = threading.Lock()  # over _outbox, _queued and _sending
        self._wake = threading.Event()
        self._closing = False
        self._acceptor = threading.Thread(target=self._accept_loop, name="p4nic-nanomsg-accept",
                                          daemon=True)
        self._sender = threading.Thread(target=self._send_loop, name="p4nic-nanomsg-tx", daemon=True)
        self._acceptor.start()
        self._sender.start()

    # ---- peers ---------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closing:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            if not self._handshake(conn):
                conn.close()
            elif self._peer is not None:
                conn.close()  # pair0: one peer at a time
            else:
                self._inbox.clear()
                self._peer = conn
                self._poll.register(conn.fileno(), select.EPOLLIN)

    def _handshake(self, conn: socket.socket) -> bool:
        """Both sides send the SP header; the peer's must be PAIR v0."""
        try:
            conn.settimeout(10)
            conn.sendall(SP_HEADER)
            got = b""
            while len(got) < len(SP_HEADER):
                more = conn.recv(len(SP_HEADER) - len(got))
                if not more:
                    return False
                got += more
            conn.settimeout(None)
        except OSError:
            return False
        if got[:4] != SP_HEADER[:4] or got[4:6] != SP_HEADER[4:6]:
            self.log.error("nanomsg: a peer that is not a PAIR v0 socket was refused")
            return False
        return True

    def _drop_peer(self, peer: socket.socket) -> None:
        if self._peer is peer:
            self._peer = None
        try:
            self._poll.unregister(peer.fileno())
        except (OSError, ValueError):
            pass  # never registered, or already dropped
        try:
            peer.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        peer.close()

    def fileno(self) -> int:
        return self._poll.fileno()

    # ---- receiving -----------------------------------------------------------------------

    def receive(self, limit: int) -> list[tuple[int, bytes]]:
        """The packets of every whole message read so far (one read per call, so possibly more
        than `limit`: a short read's worth); control messages are applied."""
        peer = self._peer
        if peer is None:
            return []
        try:
            n = peer.recv_into(self._chunk, READ_CHUNK, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return []
        except OSError:
            n = 0
        if n == 0:  # the peer went away
            self._drop_peer(peer)
            self._inbox.clear()
            return []
        inbox = self._inbox
        inbox += memoryview(self._chunk)[:n]
        try:
            spans, consumed = message_spans(inbox, self._prefix)
        except ValueError as e:
            self.log.error("nanomsg: %s: the stream is broken, peer dropped", e)
            self._drop_peer(peer)
            inbox.clear()
            return []
        batch = []
        unpack_header = HEADER.unpack_from
        for start, end in spans:
            if end - start >= HEADER.size:
                kind, port, more = unpack_header(inbox, start)
                if kind == MSG_PACKET_IN and 0 <= port < PORT_LIMIT and more == end - start - HEADER.size:
                    batch.append((port, bytes(inbox[start + HEADER.size:end])))
                    continue
            packet = self._handle(bytes(inbox[start:end]))
            if packet is not None:
                batch.append(packet)
        del inbox[:consumed]
        return batch

    def _handle(self, msg: bytes) -> tuple[int, bytes] | None:
        """Applies a control message; returns (port, payload) for a packet."""
        if len(msg) < HEADER.size:
            self.log.error("nanomsg: message of %d bytes is shorter than the header", len(msg))
            return None
        kind, port, more = HEADER.unpack_from(msg)
        if kind == MSG_PACKET_IN:
            if not 0 <= port < PORT_LIMIT:
                # BMv2 would store the number into the 9-bit ingress_port and run the packet as
                # port (port % 512), silently; a clear drop is kinder to a test that mistyped it.
                self.log.error("nanomsg: packet on port %d dropped: ports are 0..%d "
                               "(v1model's 9-bit port)", port, PORT_LIMIT - 1)
                return None
            payload = msg[HEADER.size:]
            if more != len(payload):
                self.log.warning("nanomsg: packet on port %d says %d bytes, carries %d",
                                 port, more, len(payload))
                payload = payload[:max(more, 0)]
            return port, payload
        if kind == MSG_PORT_ADD:
            self.ports_info.setdefault(port, True)
            self.log.debug("nanomsg: port %d added", port)
        elif kind == MSG_PORT_REMOVE:
            self.ports_info.pop(port, None)
            self.log.debug("nanomsg: port %d removed", port)
        elif kind == MSG_PORT_SET_STATUS:
            if port in self.ports_info and more in (PORT_STATUS_DOWN, PORT_STATUS_UP):
                self.ports_info[port] = more == PORT_STATUS_UP
            elif more not in (PORT_STATUS_DOWN, PORT_STATUS_UP):
                self.log.error("nanomsg: unknown port status %d requested", more)
        elif kind == MSG_INFO_REQ:
            # BMv2 answers every info request (MAC address, counters) with NOT_SUPPORTED.
            self._queue([HEADER.pack(MSG_INFO_REP, port, more)
                         + struct.pack("<i", INFO_STATUS_NOT_SUPPORTED)])
        else:
            self.log.error("nanomsg: unexpected message type %d", kind)
        return None

    # ---- sending -------------------------------------------------------------------------

    def transmit(self, batch: list[tuple[int, bytes]]) -> None:
        # nobody to deliver to, or the sender is that far behind: drop now, not deliver stale later
        if self._peer is None or self._queued >= QUEUE_DEPTH:
            self.dropped += len(batch)
            return
        pack = HEADER.pack
        self._queue([pack(MSG_PACKET_OUT, port, len(packet)) + packet for port, packet in batch])

    def _queue(self, messages: list[bytes]) -> None:
        """Sends `messages` as one chunk: written at once when the socket takes it and nothing
        is queued before it, the rest handed to the sender thread, which may block."""
        chunk = framed(messages, self._prefix == 9)
        with self._send_lock:
            peer = self._peer
            if not self._outbox and not self._sending and peer is not None:
                try:
                    sent = peer.send(chunk, socket.MSG_DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError:
                    self.dropped += len(messages)
                    return
                if sent == len(chunk):
                    return
                chunk = chunk[sent:]
            self._queued += len(messages)
            self._outbox.append((chunk, len(messages)))
        self._wake.set()

    def _send_loop(self) -> None:
        """Writes what `_queue` could not, all that waits at once, blocking with the GIL
        released until the peer takes it."""
        while True:
            self._wake.wait()
            self._wake.clear()  # before draining, so a chunk queued meanwhile wakes us again
            if self._closing:
                return
            while True:
                with self._send_lock:
                    chunks = list(self._outbox)
                    self._outbox.clear()
                    self._queued = 0
                    self._sending = bool(chunks)
                if not chunks:
                    break
                peer = self._peer
                try:
                    if peer is None:
                        raise OSError("no peer")
                    peer.sendall(b"".join(chunk for chunk, _ in chunks))
                except OSError:
                    self.dropped += sum(count for _, count in chunks)
                    if peer is not None:
                        self._drop_peer(peer)

    def close(self) -> None:
        """Stops both threads: the peer's socket is shut first, so a sender blocked on a peer
        that stopped reading returns. Closing twice is harmless."""
        if self._closing:
            return
        self._closing = True
        peer = self._peer
        if peer is not None:
            self._drop_peer(peer)
        self._wake.set()
        self._sender.join()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._acceptor.join(timeout=10)
        peer = self._peer  # one the acceptor installed meanwhile
        if peer is not None:
            self._drop_peer(peer)
        self._poll.close()
        if self._ipc_path:
            try:
                os.unlink(self._ipc_path)
            except OSError:
                pass
