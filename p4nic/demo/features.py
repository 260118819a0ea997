"""The patent features, each shown on the running NICs: program, send, compare.

Each function takes the DemoHost, programs what its feature needs through p4nic.runtime,
sends scapy-built frames through the packet sockets and records every step in a `Feature`.
The NICs are restored afterwards (run_feature), so every feature starts from empty tables.
"""
from __future__ import annotations

from p4nic.demo.checks import Feature, Leaves, PuntedTo
from p4nic.demo.packets import (BROADCAST, GUEST_IP, GUEST_MAC, PEER_IP, PEER_MAC, VNI,
                                arp_request, from_guest, rewrite, tcp, tunnel_params, tunnelled)
from p4nic.runtime.connection import WriteError
from p4nic.runtime.nicdefs import (FLOW_EVENT_TCP_CLOSE, PATH_FAST, PATH_SPECIAL,
                                   PKT_OUT_INJECT, REASON_POLICY_MISS, REASON_SERVICE,
                                   REASON_SLOT, REASON_SPECIAL, STAGE_ACL, STAGE_SERVICES)
from p4nic.runtime.tunnels import Tunnel

UPLINK = 0           # VNIC port 0: towards the PNIC; PNIC port 0: the physical network
GUEST_QUEUE = 1      # the VNIC queue the guest transmits on, and its default RX queue
VF = 1               # the PNIC's virtual function the VNIC is attached to
OTHER_VF = 2         # another VM's VF on the same PNIC
HOST_QUEUES = (4, 5)  # PNIC ports of the host's own queues on NUMA nodes 0 and 1
RSS_BUCKETS = 128    # steering.rss_indirection: rss_bucket = flow_hash[6:0]

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
    # flows without an affinity entry: RSS buckets -> vCPUs (odd buckets vCPU 5, even 6)
    vnic.insert(*[vnic.p4.table_entry("steering.rss_indirection", {"rss_bucket": bucket},
                                      "set_vcpu", {"vcpu": 5 if bucket % 2 else 6})
                  for bucket in range(RSS_BUCKETS)])
    landed = []     # per flow: the queues its frame came out of
    for sport in range(4300, 4316):
        frame = tcp(sport=sport)
        landed.append([event.port for event in host.exchange("VNIC", UPLINK, frame)
                       if event.frame == frame])
    feature.check_value("16 flows without affinity: RSS spreads them over vCPUs 5 and 6",
                        "flows delivered once; queues used",
                        "16 flows; queues [1, 3]",
                        f"{sum(len(q) == 1 for q in landed)} flows; queues "
                        f"{sorted({port for q in landed for port in q})}")


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


@shows("Programmable VNIC pipeline", "US11736413B2",
       "Fixed stages classify | filter | acl | services | qselect | encap. Entries alone inject "
       "a stage between two of them, bypass some, or append one after the last — only for the "
       "flows classify steers to a profile; deleting the entries restores the original.")
def programmable_pipeline(host, feature: Feature) -> None:
    vnic = host.vnic

    def through(step, frame, expected):
        feature.check(step, frame, ("VNIC", UPLINK), expected,
                      host.exchange("VNIC", UPLINK, frame, len(expected)))

    marked, other = tcp(sport=5001), tcp(sport=5002)
    excused, blocked = tcp(sport=5011, dport=8080), tcp(sport=5012, dport=8080)
    punted = tcp(sport=5021)
    vnic.add("acl", {"dport": 8080}, "acl_deny", priority=10)
    through("original pipeline; its ACL stage denies port 8080", excused, [])
    injected = [vnic.add("classify", {"sport": 5001}, "set_profile",
                         {"profile": 1, "bypass": 0}, priority=10),
                vnic.add("slot_after_filter", {"profile": 1}, "slot_set_dscp", {"dscp": 46},
                         priority=10)]
    through("inject a DSCP-marking stage between filter and acl (profile 1)", marked,
            [Leaves("VNIC", GUEST_QUEUE, tcp(sport=5001, tos=46 << 2))])
    through("a flow not steered to profile 1 is untouched", other,
            [Leaves("VNIC", GUEST_QUEUE, other)])
    feature.check_value("injected stage's counter", "slot_after_filter_counter, packets", 1,
                        vnic.direct_counter(injected[1])[0])
    bypassing = [vnic.add("classify", {"sport": 5011}, "set_profile",
                          {"profile": 2, "bypass": STAGE_ACL}, priority=10)]
    through("bypass the ACL stage for one flow (profile 2)", excused,
            [Leaves("VNIC", GUEST_QUEUE, excused)])
    through("the ACL still drops the other flows to port 8080", blocked, [])
    appended = [vnic.add("classify", {"sport": 5021}, "set_profile",
                         {"profile": 3, "bypass": 0}, priority=10),
                vnic.add("slot_after_encap", {"profile": 3}, "slot_to_cpu", priority=10)]
    through("append a stage after the last one (encap): flow to the controller", punted,
            [PuntedTo("VNIC controller", REASON_SLOT, punted)])
    vnic.delete(*injected, *bypassing, *appended)
    through("entries deleted: no DSCP stage", marked, [Leaves("VNIC", GUEST_QUEUE, marked)])
    through("entries deleted: the ACL applies again", excused, [])
    through("entries deleted: no appended stage", punted, [Leaves("VNIC", GUEST_QUEUE, punted)])


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


@shows("Stateful service offload: guest → VNIC → PNIC",
       "US20240039803A1 US20240036898A1 US20240036904A1",
       "The guest's NAT (10.0.0.2:80 → its container 192.168.1.2:8080) serves a flow's first "
       "packet in software (packet-in, packet-out); the guest then offloads the flow to its "
       "VNIC over its own P4Runtime role, and the host moves it on to the PNIC. The guest "
       "receives the same bytes whichever tier serves the flow, and the counters move with it. "
       "When the connection closes the PNIC tells the host (a digest) and the flow falls back "
       "to the guest.")
def service_offload(host, feature: Feature) -> None:
    vnic, pnic = host.vnic, host.pnic
    guest = host.attach("VNIC", "guest", "guest")
    vnic.listening = False        # while the guest is attached, the VNIC's packet-ins are its
    pnic.add("policy", {"dir": 0, "vni": VNI}, "policy_forward", {"port": VF}, priority=1)
    guest.set_default("services.flow_table", "svc_to_guest")
    original = tcp(sport=21001, dport=80)
    nat = {"ct_state": 2, "src_addr": PEER_IP, "dst_addr": "192.168.1.2", "sport": 21001,
           "dport": 8080}
    translated = rewrite(original, dst="192.168.1.2", dport=8080)
    on_wire = tunnelled(original)
    delivered = []

    def through_pnic(tier: str, expected_on_vf: bytes) -> bytes:
        leaving = host.exchange("PNIC", UPLINK, on_wire)
        feature.check(f"{tier}: the PNIC decapsulates to the VM's VF", on_wire,
                      ("PNIC", UPLINK), [Leaves("PNIC", VF, expected_on_vf)], leaving)
        return frame_on(leaving, "PNIC", VF)

    def through_vnic(tier: str, on_vf: bytes) -> None:
        arriving = host.exchange("VNIC", UPLINK, on_vf)
        feature.check(f"{tier}: the VNIC delivers the translated packet", on_vf,
                      ("VNIC", UPLINK), [Leaves("VNIC", GUEST_QUEUE, translated)], arriving)
        delivered.append(frame_on(arriving, "VNIC", GUEST_QUEUE))

    # 1. the guest serves the flow in software
    on_vf = through_pnic("guest", original)
    punted = host.exchange("VNIC", UPLINK, on_vf)
    feature.check("guest: no offload yet, the VNIC hands the packet to the guest", on_vf,
                  ("VNIC", UPLINK), [PuntedTo("guest", REASON_SERVICE, original)], punted)
    payload = punted_to(punted, "guest")
    served = rewrite(payload, dst="192.168.1.2", dport=8080)    # the guest's NAT, in software
    guest_counts = (1, len(payload))
    guest.send_packet_out(served, port=UPLINK, mode=PKT_OUT_INJECT, bypass=STAGE_SERVICES)
    returned = host.collect(expect=1)
    feature.check("guest: NAT in software, packet-out back into the VNIC's RX path", served,
                  ("VNIC", None), [Leaves("VNIC", GUEST_QUEUE, translated)], returned)
    delivered.append(frame_on(returned, "VNIC", GUEST_QUEUE))
    # 2. the guest offloads the flow to its VNIC, with the counts it has so far; its role
    #    reaches its own flow table and nothing else
    try:
        guest.add("filters", {"dport": 80}, "filter_drop", priority=1)
        refused = "accepted"
    except WriteError as exc:
        refused = ", ".join(code for _, code, _ in exc.errors) or str(exc.code)
    feature.check_value("guest: its P4Runtime role is limited to its flow table",
                        "the guest writes a VNIC filter", "PERMISSION_DENIED", refused)
    on_vnic = guest.add("services.flow_table", flow_key(sport=21001), "svc_nat", nat,
                        counter=guest_counts)
    through_vnic("VNIC", through_pnic("VNIC", original))
    vnic_counts = vnic.direct_counter(on_vnic)
    feature.check_value("VNIC: flow counter", "VNIC services.flow_counter (packets, bytes)",
                        (2, 2 * len(original)), vnic_counts)
    # 3. the host moves the flow to the PNIC: the VNIC first learns the translated flow is
    #    served upstream, then the PNIC takes the NAT entry with its counts, then the VNIC
    #    drops its NAT entry — at no moment is the flow unserved.
    served_upstream = vnic.add("services.flow_table",
                               flow_key(dst="192.168.1.2", sport=21001, dport=8080),
                               "svc_allow", {"ct_state": 2})
    on_pnic = pnic.add("services.flow_table", flow_key(sport=21001), "svc_nat", nat,
                       counter=vnic.direct_counter(on_vnic))
    guest.delete(on_vnic)
    through_vnic("PNIC", through_pnic("PNIC", translated))
    feature.check_value("PNIC: flow counter carried over",
                        "PNIC services.flow_counter (packets, bytes)",
                        (3, vnic_counts[1] + len(on_wire)), pnic.direct_counter(on_pnic))
    feature.check_value("same output at every tier",
                        "frames the guest received from software, VNIC and PNIC: identical",
                        True, len(delivered) == 3 and len(set(delivered)) == 1)
    # 4. the connection closes: the PNIC reports it, the host retires the flow, and the
    #    flow's next packet is the guest's again
    pnic.insert(pnic.p4.digest_entry("flow_event_t"))
    fin = tcp(sport=21001, dport=80, flags="FA")
    fin_on_wire = tunnelled(fin)
    leaving = host.exchange("PNIC", UPLINK, fin_on_wire)
    feature.check("close: the FIN is translated on the PNIC like the rest", fin_on_wire,
                  ("PNIC", UPLINK), [Leaves("PNIC", VF, rewrite(fin, dst="192.168.1.2",
                                                                 dport=8080))], leaving)
    event = pnic.digest()
    sample = event.samples[0] if event and event.samples else {}
    feature.check_value("close: the PNIC tells the host (digest flow_event_t)",
                        "event, proto, sport, dport",
                        (FLOW_EVENT_TCP_CLOSE, 6, 21001, 80),
                        tuple(sample.get(k) for k in ("event", "proto", "sport", "dport")))
    final = pnic.direct_counter(on_pnic)
    feature.check_value("close: the host retires the flow, reading its final counts",
                        "PNIC services.flow_counter (packets)", 4, final[0])
    pnic.delete(on_pnic)
    vnic.delete(served_upstream)
    on_vf = through_pnic("reopened", original)
    feature.check("reopened: a new connection of the same flow is the guest's again", on_vf,
                  ("VNIC", UPLINK), [PuntedTo("guest", REASON_SERVICE, original)],
                  host.exchange("VNIC", UPLINK, on_vf))


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
                controller.listening = True
                controller.restore()
        except Exception as exc:
            feature.error = feature.error or f"restoring the NICs failed: {exc}"
    return feature
