"""The patent features, each shown on the running NICs: program, send, compare.

Each function takes the DemoHost, programs what its feature needs through p4nic.runtime,
sends scapy-built frames through the packet sockets and records every step in a `Feature`.
The NICs are restored afterwards (run_feature), so every feature starts from empty tables.
"""
from __future__ import annotations

from p4nic.demo.checks import Feature, Leaves
from p4nic.demo.packets import GUEST_MAC, tcp

UPLINK = 0           # VNIC port 0: towards the PNIC; PNIC port 0: the physical network

FEATURES: list = []  # in the order the demo shows them


def shows(title: str, patent: str, story: str):
    """Register a feature function, with what the report says about it."""
    def register(function):
        function.about = (title, patent, story)
        FEATURES.append(function)
        return function
    return register


@shows("RX filters", "US11277382B2",
       "Prioritised filters over MAC, VLAN and 5-tuple pick the guest's RX queue (VNIC port q "
       "= queue q); no match: the default queue.")
def rx_filters(host, feature: Feature) -> None:
    vnic = host.vnic
    by_mac = vnic.add("filters", {"dstAddr": GUEST_MAC}, "filter_to_queue", {"queue": 2},
                      priority=10)
    https = vnic.add("filters", {"dstAddr": GUEST_MAC, "proto": 6, "dport": 443},
                     "filter_to_queue", {"queue": 3}, priority=20)
    vnic.add("filters", {"vid": 20}, "filter_to_queue", {"queue": 4}, priority=15)
    vnic.set_default("rx_default", "default_queue", {"queue": 1})
    steps = [
        ("HTTPS: guest-MAC filter (prio 10) and HTTPS filter (prio 20) both match",
         tcp(dport=443), 3),
        ("HTTP: only the guest-MAC filter matches", tcp(dport=80), 2),
        ("VLAN 20 to another MAC: the VLAN filter", tcp(dport=80, vlan=20,
                                                        eth_dst="00:00:00:00:0a:02"), 4),
        ("no filter matches: default queue", tcp(dport=80, eth_dst="00:00:00:00:0a:03"), 1),
    ]
    for step, frame, queue in steps:
        feature.check(step, frame, ("VNIC", UPLINK), [Leaves("VNIC", queue, frame)],
                      host.exchange("VNIC", UPLINK, frame))
    feature.check_value("filter counters", "filter_counter of the HTTPS filter, packets",
                        1, vnic.direct_counter(https)[0])
    feature.check_value("filter counters", "filter_counter of the guest-MAC filter, packets",
                        1, vnic.direct_counter(by_mac)[0])
    vnic.delete(https)
    frame = tcp(dport=443)
    feature.check("HTTPS filter removed: HTTPS falls back to the guest-MAC filter",
                  frame, ("VNIC", UPLINK), [Leaves("VNIC", 2, frame)],
                  host.exchange("VNIC", UPLINK, frame))


@shows("NUMA-aware steering", "US11340932B2",
       "flow → vCPU → NUMA node → one of the node's RX queues; remapping a vCPU to another node "
       "moves its flows' queue (node 0: queue 1, node 1: queue 3).")
def numa_steering(host, feature: Feature) -> None:
    vnic = host.vnic
    vnic.numa_layout({0: [1], 1: [3]}, {5: 0, 6: 0})
    for sport, vcpu in ((4200, 5), (4201, 6)):
        vnic.add("steering.flow_affinity", flow_key(sport=sport), "set_vcpu", {"vcpu": vcpu})
    moved, stays = tcp(sport=4200), tcp(sport=4201)
    feature.check("flow A → vCPU 5 (node 0)", moved, ("VNIC", UPLINK),
                  [Leaves("VNIC", 1, moved)], host.exchange("VNIC", UPLINK, moved))
    feature.check("flow B → vCPU 6 (node 0)", stays, ("VNIC", UPLINK),
                  [Leaves("VNIC", 1, stays)], host.exchange("VNIC", UPLINK, stays))
    vnic.modify(vnic.p4.table_entry("steering.vcpu_node", {"vcpu": 5}, "set_node", {"node": 1}))
    feature.check("vCPU 5 remapped to node 1: flow A follows it", moved, ("VNIC", UPLINK),
                  [Leaves("VNIC", 3, moved)], host.exchange("VNIC", UPLINK, moved))
    feature.check("flow B (vCPU 6) stays on node 0", stays, ("VNIC", UPLINK),
                  [Leaves("VNIC", 1, stays)], host.exchange("VNIC", UPLINK, stays))


def flow_key(src="10.0.0.1", dst="10.0.0.2", sport=1234, dport=80, proto=6) -> dict:
    """The exact 5-tuple key of flow_affinity and services.flow_table (IPv4)."""
    return {"ip_ver": 4, "src_addr": src, "dst_addr": dst, "proto": proto, "sport": sport,
            "dport": dport}


def run_feature(host, show) -> Feature:
    """Run one feature; whatever happens, undo its changes on both NICs. An error (a P4Runtime
    refusal, a switch gone) ends the feature as failed, with the steps recorded so far."""
    feature = Feature(*show.about)
    try:
        show(host, feature)
    except Exception as exc:
        feature.error = f"{type(exc).__name__}: {exc}"
    finally:
        try:
            for controller in [*host.extra_controllers]:
                host.detach(controller)
            for controller in host.controllers.values():
                controller.restore()
        except Exception as exc:
            feature.error = feature.error or f"restoring the NICs failed: {exc}"
    return feature
