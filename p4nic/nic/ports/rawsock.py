"""Linux network interfaces as switch ports (`-i PORT@IFACE`), over AF_PACKET raw sockets.

Like BMv2's BMI ports (src/BMI/bmi_port.c, libpcap with direction "in"), each interface is
opened in promiscuous mode and only packets arriving on it are taken, not the ones the host
sends out of it. The kernel strips VLAN tags into packet metadata; they are put back so the
pipeline sees the frame as it was on the wire. Needs root (CAP_NET_RAW).
"""
import socket
import struct

from p4nic.nic.ports import PortError

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4  # sll_pkttype of frames the host itself transmits
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
ETH_P_8021Q = 0x8100
AUXDATA = struct.Struct("=IIIHHHH")  # struct tpacket_auxdata
MAX_FRAME = 65536 + 4


class RawSocketPort:
    """One interface bound as one port number."""

    def __init__(self, port: int, interface: str):
        self.port = port
        self.interface = interface
        self.ports = {port}
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        except PermissionError:
            raise PortError(f"interface '{interface}': raw sockets need root (CAP_NET_RAW)") from None
        try:
            sock.bind((interface, ETH_P_ALL))
            ifindex = socket.if_nametoindex(interface)
            mreq = struct.pack("iHH8s", ifindex, PACKET_MR_PROMISC, 0, b"")
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            sock.setblocking(False)
        except OSError as e:
            sock.close()
            raise PortError(f"cannot open interface '{interface}': {e.strerror or e}") from None
        self._sock = sock
        self._cmsg_space = socket.CMSG_SPACE(AUXDATA.size)
        self._buffer = bytearray(MAX_FRAME)  # reused: no 64 KiB allocation per frame
        self._view = memoryview(self._buffer)

    def fileno(self) -> int:
        return self._sock.fileno()

    def receive(self, limit: int) -> list[tuple[int, bytes]]:
        batch = []
        while len(batch) < limit:
            try:
                size, ancillary, _, address = self._sock.recvmsg_into([self._buffer], self._cmsg_space)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # interface went away: nothing more to read from it
                break
            if address[2] == PACKET_OUTGOING:
                continue
            batch.append((self.port, with_vlan_tag(bytes(self._view[:size]), ancillary)))
        return batch

    def transmit(self, batch: list[tuple[int, bytes]]) -> None:
        for _, packet in batch:
            try:
                self._sock.send(packet)
            except OSError:  # full queue, interface down, frame too big: dropped, as a NIC would
                pass

    def close(self) -> None:
        self._view.release()
        self._sock.close()


def with_vlan_tag(frame: bytes, ancillary: list) -> bytes:
    """Re-inserts the 802.1Q tag the kernel moved into PACKET_AUXDATA, if there was one."""
    for level, kind, data in ancillary:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(data) >= AUXDATA.size:
            status, _, _, _, _, tci, tpid = AUXDATA.unpack_from(data)
            if status & TP_STATUS_VLAN_VALID and len(frame) >= 12:
                if not status & TP_STATUS_VLAN_TPID_VALID:
                    tpid = ETH_P_8021Q
                return frame[:12] + struct.pack("!HH", tpid, tci) + frame[12:]
    return frame
