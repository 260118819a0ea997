"""The VNIC's features: RX filters, NUMA-aware steering, the programmable pipeline."""
from __future__ import annotations

from p4nic.demo.checks import Feature, Leaves, PuntedTo
from p4nic.demo.features.common import GUEST_QUEUE, UPLINK, flow_key, shows
from p4nic.demo.packets import GUEST_MAC, tcp
from p4nic.runtime.nicdefs import REASON_SLOT, STAGE_ACL

RSS_BUCKETS = 128    # steering.rss_indirection: rss_bucket = flow_hash[6:0]


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
    vnic.change("steering.vcpu_node", {"vcpu": 5}, "set_node", {"node": 1})
    feature.check("vCPU 5 remapped to node 1: flow A follows it", moved, ("VNIC", UPLINK),
                  [Leaves("VNIC", 3, moved)], host.exchange("VNIC", UPLINK, moved))
    feature.check("flow B (vCPU 6) stays on node 0", stays, ("VNIC", UPLINK),
                  [Leaves("VNIC", 1, stays)], host.exchange("VNIC", UPLINK, stays))
    # flows without an affinity entry: RSS buckets -> vCPUs (odd buckets vCPU 5, even 6)
    vnic.insert(*[vnic.p4.table_entry("steering.rss_indirection", {"rss_bucket": bucket},
                                      "set_vcpu", {"vcpu": 5 if bucket % 2 else 6})
                  for bucket in range(RSS_BUCKETS)],
                note=f"insert {RSS_BUCKETS} steering.rss_indirection entries: odd buckets → "
                     "set_vcpu(vcpu=5), even → set_vcpu(vcpu=6)")
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

