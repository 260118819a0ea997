"""BMv2's nanomsg packet protocol: every port of a device over one PAIR socket.

The switch binds a PAIR socket at the `--packet-in` address; a peer (PTF's `nn` platform) dials
it. Each message starts with three little-endian 32-bit ints `(type, port, more)`; `more` is the
payload length for packets, the status for PORT_SET_STATUS and the info type for INFO_REQ.
Source of truth: behavioral-model src/bm_sim/dev_mgr_packet_in.cpp (PacketInDevMgrImp) and
PTF's ptf/dataplane.py (DataPlanePacketSourceNN).

As BMv2 does without `enforce_ports`, packets are accepted on and sent to every port; the
PORT_ADD / PORT_REMOVE / PORT_SET_STATUS messages only keep the port table that `ports_info`
reports. nng's pair0 protocol speaks the same wire format as nanomsg's PAIR.

Sending runs on its own thread: an nng send waits on nng's I/O threads even when it does not
block, and overlapping that wait with the pipeline roughly doubles throughput on a busy machine.
"""
import collections
import logging
import struct
import threading

import pynng

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

# Messages nng may hold per direction before a send would block, and messages the sender thread
# may hold on top; a slow peer loses packets past this, like a full NIC ring.
QUEUE_DEPTH = 4096


def listen_address(address: str) -> str:
    """nanomsg's `tcp://*:PORT` wildcard, spelled the way nng wants it."""
    if address.startswith("tcp://*:"):
        return "tcp://0.0.0.0:" + address[len("tcp://*:"):]
    return address


class NanomsgPorts:
    """The switch side of the protocol: binds `address`, carries packets for any port number."""

    ports = None  # every port goes through this one socket

    def __init__(self, address: str, logger: logging.Logger | None = None):
        self.address = address
        self.log = logger or logging.getLogger("p4nic.switch")
        self.ports_info: dict[int, bool] = {}  # port -> is up, as announced by the peer
        self.dropped = 0  # packets that could not be sent (no peer, peer too slow)
        self._peers: set[int] = set()  # ids of connected pipes (set ops are atomic under the GIL)
        self._sock = pynng.Pair0(recv_buffer_size=QUEUE_DEPTH, send_buffer_size=QUEUE_DEPTH)
        self._sock.add_post_pipe_connect_cb(self._peer_joined)
        self._sock.add_post_pipe_remove_cb(self._peer_left)
        try:
            self._sock.listen(listen_address(address))
        except pynng.NNGException as e:
            self._sock.close()
            raise PortError(f"cannot listen on packet-in address '{address}': {e}") from None
        self._outbox = collections.deque()  # encoded PACKET_OUT messages for the sender thread
        self._wake = threading.Event()
        self._closing = False
        self._sender = threading.Thread(target=self._send_loop, name="p4nic-nanomsg-tx", daemon=True)
        self._sender.start()

    def _peer_joined(self, pipe) -> None:
        self._peers.add(pipe.id)

    def _peer_left(self, pipe) -> None:
        self._peers.discard(pipe.id)

    def fileno(self) -> int:
        return self._sock.recv_fd

    def receive(self, limit: int) -> list[tuple[int, bytes]]:
        batch = []
        while len(batch) < limit:
            try:
                message = self._sock.recv_msg(block=False)
            except pynng.TryAgain:
                break
            # A message proves its pipe is connected. The connect callback runs on an nng thread
            # and, on a loaded machine, can come after the pipe's first message has been handled;
            # without this, the answer to that message would be dropped as "no peer".
            self._peers.add(message.pipe.id)
            packet = self._handle(message.bytes)
            if packet is not None:
                batch.append(packet)
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
            self._send(HEADER.pack(MSG_INFO_REP, port, more)
                       + struct.pack("<i", INFO_STATUS_NOT_SUPPORTED))
        else:
            self.log.error("nanomsg: unexpected message type %d", kind)
        return None

    def transmit(self, batch: list[tuple[int, bytes]]) -> None:
        # nobody to deliver to, or the sender is that far behind: drop now, not deliver stale later
        if not self._peers or len(self._outbox) >= QUEUE_DEPTH:
            self.dropped += len(batch)
            return
        self._outbox.extend(HEADER.pack(MSG_PACKET_OUT, port, len(packet)) + packet
                            for port, packet in batch)
        self._wake.set()

    def _send_loop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()  # before draining, so a message queued meanwhile wakes us again
            if self._closing:
                return
            while self._outbox:
                self._send(self._outbox.popleft())

    def _send(self, msg: bytes) -> None:
        try:
            self._sock.send(msg, block=False)
        except pynng.TryAgain:
            self.dropped += 1
        except pynng.Closed:
            pass

    def close(self) -> None:
        self._closing = True
        self._wake.set()
        self._sender.join()
        self._sock.close()
