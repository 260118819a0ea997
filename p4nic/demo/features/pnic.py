"""The features shown across both NICs and on the PNIC: the sender-side special-processing
flag and logical networks."""
from __future__ import annotations

from p4nic.demo.checks import Feature, Leaves, PuntedTo
from p4nic.demo.features.common import (GUEST_QUEUE, HOST_QUEUES, OTHER_VF, UPLINK, VF,
                                        flow_key, frame_on, shows)
from p4nic.demo.packets import (BROADCAST, GUEST_IP, GUEST_MAC, PEER_IP, PEER_MAC, VNI,
                                arp_request, from_guest, rewrite, tcp, tunnel_params, tunnelled)
from p4nic.runtime.nicdefs import PATH_FAST, PATH_SPECIAL, REASON_POLICY_MISS, REASON_SPECIAL
from p4nic.runtime.tunnels import Tunnel


@shows("Sender-side special-processing flag", "US10965601B2",
       "The sending VNIC flags a flow's first packet and ARP in the outer header (a Geneve "
       "option); its PNIC keeps the flag when it re-encapsulates (a VXLAN flag bit); the "
       "receiving PNIC (here the same PNIC, the frame looped back on its uplink) sends flagged "
       "packets to its special path — the host CPU — and the rest by the fast path to the VF.")
def special_flag(host, feature: Feature) -> None:
    vnic, pnic = host.vnic, host.pnic
    for mac in (PEER_MAC, BROADCAST):
        vnic.add("encap.tunnel", {"vni": 0, "dstAddr": mac}, "encap_geneve", tunnel_params())
        pnic.add("encap.tunnel", {"vni": VNI, "dstAddr": mac}, "encap_vxlan", tunnel_params())
    vnic.add("marking.special_criteria", {"is_first": 1}, "mark_special", priority=1)
    vnic.add("marking.special_criteria", {"is_arp": 1}, "mark_special", priority=1)
    pnic.add("policy", {"dir": 1, "vni": VNI}, "policy_forward", {"port": UPLINK}, priority=1)
    pnic.add("policy", {"dir": 0, "vni": VNI}, "policy_forward", {"port": OTHER_VF},
             priority=1)
    before = (pnic.counter("rx_path_counter", PATH_FAST),
              pnic.counter("rx_path_counter", PATH_SPECIAL))
    first = from_guest(sport=22001)
    for label, frame, flagged in (("first packet of a flow", first, True),
                                  ("second packet of the flow", first, False),
                                  ("ARP request", arp_request(), True)):
        leaving = host.exchange("VNIC", GUEST_QUEUE, frame)
        feature.check(f"{label}: the sending VNIC encapsulates", frame, ("VNIC", GUEST_QUEUE),
                      [Leaves("VNIC", UPLINK, tunnel=Tunnel("geneve", VNI, flagged, frame))],
                      leaving)
        on_vf = frame_on(leaving, "VNIC", UPLINK)
        leaving = host.exchange("PNIC", VF, on_vf)
        feature.check(f"{label}: its PNIC re-encapsulates for the wire", on_vf, ("PNIC", VF),
                      [Leaves("PNIC", UPLINK, tunnel=Tunnel("vxlan", VNI, flagged, frame))],
                      leaving)
        on_wire = frame_on(leaving, "PNIC", UPLINK)
        received = [PuntedTo("PNIC controller", REASON_SPECIAL, frame, VNI)] if flagged \
            else [Leaves("PNIC", OTHER_VF, frame)]
        feature.check(f"{label}: the receiving PNIC", on_wire, ("PNIC", UPLINK), received,
                      host.exchange("PNIC", UPLINK, on_wire))
    feature.check_value("path counters", "PNIC rx_path_counter: fast, special (packets added)",
                        (1, 2), (pnic.counter("rx_path_counter", PATH_FAST) - before[0],
                                 pnic.counter("rx_path_counter", PATH_SPECIAL) - before[1]))
    # the special path may also be the host's own queues, NUMA-steered like the VNIC's
    pnic.set_default("special_path", "special_to_host_queues")
    pnic.numa_layout({0: [HOST_QUEUES[0]], 1: [HOST_QUEUES[1]]}, {3: 1})
    pnic.add("steering.flow_affinity", flow_key(src=GUEST_IP, dst=PEER_IP, sport=22002),
             "set_vcpu", {"vcpu": 3})
    inner = from_guest(sport=22002)
    flagged = tunnelled(inner, "vxlan", special=True)
    feature.check("special path set to the host's queues: flow on vCPU 3 (node 1)", flagged,
                  ("PNIC", UPLINK), [Leaves("PNIC", HOST_QUEUES[1], inner)],
                  host.exchange("PNIC", UPLINK, flagged))


ROUTER_MAC = "00:00:00:00:ee:01"
OTHER_VM_MAC = "00:00:00:00:0a:09"


@shows("Logical networks on the PNIC", "US11750532B2",
       "Logical-network policies keyed by (VNI, inner flow) live in the PNIC's own tables: a "
       "Geneve/VXLAN packet is decapsulated, its policy applied to the inner packet, and it "
       "goes to the VM's VF; the reverse on transmit (VF → policy → encap → uplink); no policy: "
       "to the host CPU.")
def logical_network(host, feature: Feature) -> None:
    pnic = host.pnic
    to_vm = pnic.add("policy", {"dir": 0, "vni": VNI, "dstAddr": GUEST_MAC}, "policy_forward",
                     {"port": VF}, priority=10)
    pnic.add("policy", {"dir": 0, "vni": VNI, "proto": 6, "dport": 8080},
             "policy_forward_routed", {"port": OTHER_VF, "smac": ROUTER_MAC,
                                       "dmac": OTHER_VM_MAC}, priority=20)
    pnic.add("vf_vni", {"in_port": VF}, "set_vni", {"vni": VNI})
    pnic.add("policy", {"dir": 1, "vni": VNI}, "policy_forward", {"port": UPLINK}, priority=10)
    pnic.add("encap.tunnel", {"vni": VNI, "dstAddr": PEER_MAC}, "encap_geneve", tunnel_params())
    inner = tcp(sport=8001)
    for kind in ("geneve", "vxlan"):
        frame = tunnelled(inner, kind)
        feature.check(f"{kind.capitalize()}, VNI {VNI}: decapsulated to the VM's VF", frame,
                      ("PNIC", UPLINK), [Leaves("PNIC", VF, inner)],
                      host.exchange("PNIC", UPLINK, frame))
    routed = tcp(sport=8002, dport=8080)
    frame = tunnelled(routed)
    feature.check("routed policy: MACs rewritten, TTL - 1, to another VF", frame,
                  ("PNIC", UPLINK), [Leaves("PNIC", OTHER_VF, rewrite(
                      routed, eth_src=ROUTER_MAC, eth_dst=OTHER_VM_MAC, ttl=63))],
                  host.exchange("PNIC", UPLINK, frame))
    frame = tunnelled(inner, vni=200)
    feature.check("VNI 200 has no policy: to the host CPU", frame, ("PNIC", UPLINK),
                  [PuntedTo("PNIC controller", REASON_POLICY_MISS, inner, vni=200)],
                  host.exchange("PNIC", UPLINK, frame))
    reply = from_guest(sport=80, dport=8001)
    feature.check("the VM transmits: VF → policy → Geneve → uplink", reply, ("PNIC", VF),
                  [Leaves("PNIC", UPLINK, tunnel=Tunnel("geneve", VNI, False, reply))],
                  host.exchange("PNIC", VF, reply))
    feature.check_value("policy counter", "policy_counter of the VM's policy, packets", 2,
                        pnic.direct_counter(to_vm)[0])

