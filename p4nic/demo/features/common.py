"""What every feature script shares: the demo's port roles, the flow key, and taking the
frame or packet-in a step produced to carry on with."""
from __future__ import annotations

from p4nic.demo.packets import GUEST_IP, PEER_IP

UPLINK = 0           # VNIC port 0: towards the PNIC; PNIC port 0: the physical network
GUEST_QUEUE = 1      # the VNIC queue the guest transmits on, and its default RX queue
VF = 1               # the PNIC's virtual function the VNIC is attached to
OTHER_VF = 2         # another VM's VF on the same PNIC
HOST_QUEUES = (4, 5)  # PNIC ports of the host's own queues on NUMA nodes 0 and 1


def shows(title: str, patent: str, story: str):
    """Mark a feature script with what the report says about it."""
    def mark(function):
        function.about = (title, patent, story)
        return function
    return mark


def flow_key(src=PEER_IP, dst=GUEST_IP, sport=1234, dport=80, proto=6) -> dict:
    """The exact 5-tuple key of flow_affinity and services.flow_table (IPv4)."""
    return {"ip_ver": 4, "src_addr": src, "dst_addr": dst, "proto": proto, "sport": sport,
            "dport": dport}


class Stopped(Exception):
    """A step produced nothing to carry on with; the feature ends there."""


def frame_on(events: list, nic: str, port: int) -> bytes:
    """The frame that left (nic, port) among `events`, to carry to the next NIC."""
    for event in events:
        if (event.nic, event.port) == (nic, port):
            return event.frame
    raise Stopped(f"no frame left {nic} port {port}, so the next steps cannot run")


def punted_to(events: list, controller: str) -> bytes:
    """The frame of the packet-in `controller` received among `events`."""
    for event in events:
        if event.port is None and event.to == controller:
            return event.frame
    raise Stopped(f"{controller} received no packet-in, so the next steps cannot run")

