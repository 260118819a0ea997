"""The demo's end of a NIC's packet socket: it plays every port of the NIC at once.

`p4nic switch --packet-in ADDR` carries all its ports over one nanomsg PAIR socket in BMv2's
packet protocol (header and message types from p4nic.nic.ports.nanomsg); the demo dials it, as
PTF's `nn` platform does, to put frames on ports and see what leaves which port.
"""
from __future__ import annotations

import pynng

from p4nic.nic.ports.nanomsg import HEADER, MSG_PACKET_IN, MSG_PACKET_OUT


class PacketWire:
    """A dialled PAIR socket: send(port, frame) into the NIC, receive() what it sent out."""

    def __init__(self, address: str, timeout: float = 5.0):
        self.address = address
        self._sock = pynng.Pair0(send_timeout=int(timeout * 1000))
        try:
            self._sock.dial(address, block=True)
        except pynng.NNGException as exc:
            self._sock.close()
            raise OSError(f"cannot reach the packet socket {address}: {exc}") from None

    def fileno(self) -> int:
        """Readable when the NIC has sent something (for select)."""
        return self._sock.recv_fd

    def send(self, port: int, frame: bytes) -> None:
        self._sock.send(HEADER.pack(MSG_PACKET_IN, port, len(frame)) + bytes(frame))

    def receive(self) -> list[tuple[int, bytes]]:
        """Every (port, frame) the NIC has sent so far; never waits."""
        frames = []
        while True:
            try:
                message = self._sock.recv(block=False)
            except pynng.TryAgain:
                return frames
            if len(message) < HEADER.size:
                continue
            kind, port, length = HEADER.unpack_from(message)
            if kind == MSG_PACKET_OUT:
                frames.append((port, message[HEADER.size:HEADER.size + length]))

    def close(self) -> None:
        self._sock.close()
