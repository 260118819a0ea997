"""The load balancer: new flows to a virtual address go to one backend, chosen by weight.

A flow to vip:port (protocol proto) goes to `slots[crc32(flow key) % len(slots)]`, where each
backend fills as many slots as its weight (weights divided by their common divisor; weight 0:
no new flows). The choice is a function of the flow key, so a flow keeps its backend for the
life of its connection and gets the same one again when it reopens while the backends are
unchanged (affinity per flow), and the flows spread over the backends in proportion to their
weights. The backend's MAC becomes the frame's destination MAC, as `svc_lb` writes it.
"""
from __future__ import annotations

import math
import zlib

from p4nic.runtime.services.flows import PORT_PROTOCOLS, FlowKey
from p4nic.runtime.services.policy import Backend, LoadBalancer
from p4nic.runtime.values import to_int


class LoadBalancers:
    """policy.LoadBalancer entries, indexed by (ip_ver, vip, proto, port)."""

    def __init__(self, balancers: tuple[LoadBalancer, ...]):
        self._by_vip: dict = {}
        self._known: dict = {}
        for lb in balancers:
            where = lb.origin or f"load balancer {lb.vip}:{lb.port}"
            if lb.proto not in PORT_PROTOCOLS:
                raise ValueError(f"{where}: protocol must be 6 (TCP) or 17 (UDP), not {lb.proto}")
            for backend in lb.backends:
                if backend.addr.version != lb.vip.version:
                    raise ValueError(f"{where}: backend {backend.addr} is not IPv{lb.vip.version}")
                if backend.weight < 0 or not 0 <= backend.port <= 0xFFFF:
                    raise ValueError(f"{where}: backend {backend.addr}:{backend.port} has a "
                                     f"negative weight or a bad port")
                to_int(backend.mac, f"{where}: backend {backend.addr} MAC")
                self._known[(int(backend.addr), backend.port, to_int(backend.mac, ""))] = backend
            key = (lb.vip.version, int(lb.vip), lb.proto, lb.port)
            self._by_vip[key] = (where, _slots(lb.backends))

    def translate(self, key: FlowKey) -> tuple:
        """(key with the backend as destination, Backend, "") for a flow to a virtual address;
        (key, None, "") for any other; (key, None, reason) if it has no backend."""
        found = self._by_vip.get((key.ip_ver, key.dst, key.proto, key.dport))
        if found is None:
            return key, None, ""
        where, slots = found
        if not slots:
            return key, None, f"{where}: no backend has a weight above 0"
        backend = slots[zlib.crc32(key.to_bytes()) % len(slots)]
        return key._replace(dst=int(backend.addr), dport=backend.port), backend, ""

    def backend(self, addr, port: int, mac: int) -> Backend:
        """The policy's backend with this address, port and MAC (a flow restored from a NIC),
        or one made up from them if the policy no longer has it."""
        found = self._known.get((int(addr), port, mac))
        if found is not None:
            return found
        text = ":".join(f"{b:02x}" for b in mac.to_bytes(6, "big"))
        return Backend(addr, port, text, weight=0)


def _slots(backends) -> tuple:
    weights = [b.weight for b in backends if b.weight > 0]
    divisor = math.gcd(*weights) if weights else 1
    return tuple(b for b in backends for _ in range(b.weight // divisor))
