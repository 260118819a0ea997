"""The host's virtual switch: the cable between a VNIC's port 0 and its PNIC's virtual function.

`p4nic up` runs each NIC as a switch process (`p4nic switch`, or simple_switch_grpc) whose ports
all travel over one BMv2 nanomsg packet socket. The vswitch dials those sockets, as PTF would,
and then

- carries every frame a NIC sends on a wired port to the port at the other end of the wire
  (VNIC port 0 <-> PNIC VF), so the two NICs form one host;
- offers, per NIC, a packet socket of its own in the same protocol, on which every port that is
  not wired appears: PTF's `nn` platform, `p4nic send`/`sniff` and `p4nic traffic` dial it as
  they would dial the switch itself;
- hands frames leaving chosen ports to taps (the guest's own network stack in `p4nic up`)
  and lets them transmit.

Real BMv2 cannot wire two processes' ports without Linux interfaces and privileges; doing it
here gives both targets the same host, reached the same way.
"""
from __future__ import annotations

import logging
import selectors
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

from p4nic.runtime.wire import PacketWire
from p4nic.nic.ports.nanomsg import NanomsgPorts

BATCH = 256


@dataclass
class PortStats:
    packets: int = 0
    bytes: int = 0

    def count(self, frame: bytes) -> None:
        self.packets += 1
        self.bytes += len(frame)


@dataclass
class _Nic:
    name: str
    wire: PacketWire                  # dialled: the switch's own packet socket
    exposed: NanomsgPorts             # listened: the socket users dial instead
    links: dict = field(default_factory=dict)   # port -> (other nic name, other port)
    taps: dict = field(default_factory=dict)    # port -> callable(frame)


class VSwitch:
    """Wires NICs together and exposes their other ports; one thread moves every frame."""

    def __init__(self, logger: logging.Logger | None = None):
        self.log = logger or logging.getLogger("p4nic.vswitch")
        self._nics: dict[str, _Nic] = {}
        self.stats: dict[tuple, PortStats] = defaultdict(PortStats)  # (nic, port, "in"/"out")
        self._lock = threading.RLock()      # sends into a switch's socket, and rewiring
        self._selector = selectors.DefaultSelector()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def add_nic(self, name: str, switch_socket: str, exposed_socket: str) -> None:
        """Dial a NIC's packet socket and listen for users on `exposed_socket`."""
        wire = PacketWire(switch_socket)
        try:
            exposed = NanomsgPorts(exposed_socket, logger=self.log)
        except Exception:
            wire.close()
            raise
        nic = _Nic(name, wire, exposed)
        self._nics[name] = nic
        self._selector.register(wire.fileno(), selectors.EVENT_READ, (nic, "switch"))
        self._selector.register(exposed.fileno(), selectors.EVENT_READ, (nic, "user"))

    def link(self, nic_a: str, port_a: int, nic_b: str, port_b: int) -> None:
        """A cable: what `nic_a` sends on `port_a` arrives at `nic_b` on `port_b`, and back."""
        self._nics[nic_a].links[port_a] = (nic_b, port_b)
        self._nics[nic_b].links[port_b] = (nic_a, port_a)

    def redial(self, name: str, switch_socket: str) -> None:
        """Dial a NIC's switch again (a restarted process); its exposed socket stays."""
        with self._lock:
            nic = self._nics[name]
            self._selector.unregister(nic.wire.fileno())
            nic.wire.close()
            nic.wire = PacketWire(switch_socket)
            self._selector.register(nic.wire.fileno(), selectors.EVENT_READ, (nic, "switch"))

    def tap(self, nic: str, port: int, receive: Callable[[bytes], None]) -> None:
        """Frames `nic` sends on `port` go to `receive` (on the vswitch thread) instead of users."""
        self._nics[nic].taps[port] = receive

    def send(self, nic: str, port: int, frame: bytes) -> None:
        """Put a frame into `nic` as if it arrived on `port` (any thread). A NIC that cannot
        take it now (its process is gone or restarting) loses it, as a cable to a dead port."""
        with self._lock:
            if self._nics[nic].wire.send(port, frame, block=False):
                self.stats[(nic, port, "in")].count(frame)
            else:
                self.stats[(nic, port, "lost")].count(frame)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="p4nic-vswitch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for nic in self._nics.values():
            nic.wire.close()
            nic.exposed.close()
        self._selector.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            ready = self._selector.select(timeout=0.2)
            with self._lock:
                for key, _ in ready:
                    nic, side = key.data
                    try:
                        if side == "user":
                            self._from_user(nic)
                        elif key.fd == nic.wire.fileno():     # not a wire redialled since
                            self._from_switch(nic)
                    except Exception:   # a bad frame or a closing socket must not stop the host
                        if not self._stopping.is_set():
                            self.log.exception("vswitch: forwarding from %s failed", nic.name)

    def _from_switch(self, nic: _Nic) -> None:
        to_user = []
        for port, frame in nic.wire.receive():
            self.stats[(nic.name, port, "out")].count(frame)
            if port in nic.links:
                other, other_port = nic.links[port]
                self.send(other, other_port, frame)
            elif port in nic.taps:
                nic.taps[port](frame)
            else:
                to_user.append((port, frame))
        if to_user:
            nic.exposed.transmit(to_user)

    def _from_user(self, nic: _Nic) -> None:
        for port, frame in nic.exposed.receive(BATCH):
            self.send(nic.name, port, frame)
