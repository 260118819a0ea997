"""Packet I/O on a switch's packet socket: put frames on its ports, see what leaves which port.

`p4nic switch --packet-in ADDR` (and BMv2's `simple_switch --packet-in ADDR`) carries every
port over one nanomsg PAIR socket in BMv2's packet protocol (header and message types in
p4nic.nic.ports.nanomsg). `PacketWire` dials it, as PTF's `nn` platform does:

    with PacketWire("ipc:///tmp/vnic.ipc") as wire:
        wire.send(0, Ether() / IP(dst="10.0.0.5") / TCP(dport=80))   # scapy frame or bytes
        port, frame = wire.expect(port=3, timeout=5)                  # or None on timeout
        wire.receive(timeout=1, count=2)                             # [(port, frame), ...]

A PAIR socket has one peer at a time: while PTF, the demo, `p4nic sniff` or another
PacketWire holds a switch's socket, a second one is refused (`PacketSocketBusy`).
"""
from __future__ import annotations

import time

import pynng

from p4nic.nic.ports.nanomsg import (HEADER, MSG_INFO_REP, MSG_INFO_REQ, MSG_PACKET_IN,
                                     MSG_PACKET_OUT, PORT_LIMIT)
POLL = 0.05         # seconds between checks while waiting, so close() and Ctrl-C are prompt
BUFFERED = 1024     # messages nng holds per direction, so a burst does not block or drop


class PacketSocketError(OSError):
    """The packet socket cannot be used: nothing serves it, or it is busy."""


class PacketSocketBusy(PacketSocketError):
    """Another peer holds the switch's PAIR socket."""


class PacketWire:
    """A dialled PAIR socket: send(port, frame) into the switch, receive() what it sent out.

    The constructor waits (up to `timeout` s) until the switch answers an info request on the
    new connection, so a packet sent right after is not lost and a busy socket is reported.
    """

    def __init__(self, address: str, timeout: float = 10.0):
        self.address = address
        self._pending: list = []        # packets that arrived during the handshake
        self._removed = 0               # connections the switch dropped (it had a peer)
        self._sock = pynng.Pair0(send_timeout=int(timeout * 1000), send_buffer_size=BUFFERED,
                                 recv_buffer_size=BUFFERED)
        self._sock.add_post_pipe_remove_cb(self._pipe_removed)
        try:
            self._sock.dial(address, block=True)
        except pynng.NNGException as exc:
            self._sock.close()
            raise PacketSocketError(f"cannot reach the packet socket {address}: {exc} "
                                    "(is a switch running with --packet-in there?)") from None
        try:
            self._handshake(timeout)
        except BaseException:
            self._sock.close()
            raise

    def _pipe_removed(self, _pipe) -> None:
        self._removed += 1

    def _handshake(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._sock.send(HEADER.pack(MSG_INFO_REQ, 0, 0), block=False)
            except pynng.TryAgain:
                pass
            answer_by = min(deadline, time.monotonic() + 0.3)
            while time.monotonic() < answer_by:
                message = self._recv(answer_by - time.monotonic())
                if message is None:
                    continue
                kind, port, length = HEADER.unpack_from(message)
                if kind == MSG_INFO_REP:
                    return
                if kind == MSG_PACKET_OUT:
                    self._pending.append((port, message[HEADER.size:HEADER.size + length]))
            if self._removed:   # the switch closed our connection unanswered: it has a peer
                break
        if self._removed:
            raise PacketSocketBusy(
                f"the packet socket {self.address} is busy: another client (PTF, the demo, "
                "p4nic sniff, ...) is attached, and a BMv2 packet socket is a PAIR socket, one "
                "peer at a time; stop that client first")
        raise PacketSocketError(f"no answer from the packet socket {self.address} within "
                                f"{timeout:g} s")

    def _recv(self, timeout: float):
        """The next raw message, or None after `timeout` s (never more than POLL at once)."""
        self._sock.recv_timeout = max(1, int(min(timeout, POLL) * 1000))
        try:
            message = self._sock.recv()
        except pynng.Timeout:
            return None
        return message if len(message) >= HEADER.size else None

    def fileno(self) -> int:
        """Readable when the switch has sent something (for select)."""
        return self._sock.recv_fd

    def send(self, port: int, frame, block: bool = True) -> bool:
        """Put `frame` (bytes or a scapy packet) on `port` of the switch. With block=False a
        frame the socket cannot take now (the switch is gone or too slow) is dropped: False."""
        if not 0 <= port < PORT_LIMIT:
            raise ValueError(f"port {port} is outside 0..{PORT_LIMIT - 1}")
        frame = bytes(frame)
        try:
            self._sock.send(HEADER.pack(MSG_PACKET_IN, port, len(frame)) + frame, block=block)
        except pynng.TryAgain:
            return False
        return True

    def receive(self, timeout: float = 0.0, port: int | None = None,
                count: int | None = None) -> list[tuple[int, bytes]]:
        """(port, frame) of what the switch sent out: what has arrived so far, or, with a
        timeout, what arrives until `count` frames are in (None: until the timeout ends).
        With `port`, frames that leave other ports are dropped."""
        frames = [f for f in self._pending if port is None or f[0] == port]
        self._pending = []
        deadline = time.monotonic() + timeout
        while count is None or len(frames) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                try:
                    message = self._sock.recv(block=False)
                except pynng.TryAgain:
                    break
                if len(message) < HEADER.size:
                    continue
            else:
                message = self._recv(left)
                if message is None:
                    continue
            kind, out_port, length = HEADER.unpack_from(message)
            if kind == MSG_PACKET_OUT and (port is None or out_port == port):
                frames.append((out_port, message[HEADER.size:HEADER.size + length]))
        return frames

    def expect(self, port: int | None = None, timeout: float = 5.0):
        """The next frame out of `port` (any port if None) as (port, frame); None on timeout."""
        frames = self.receive(timeout, port=port, count=1)
        return frames[0] if frames else None

    def close(self) -> None:
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
