"""Stateful service offload: a flow served by the guest, then its VNIC, then the PNIC, and
back to the guest when it closes."""
from __future__ import annotations

from p4nic.demo.checks import Feature, Leaves, PuntedTo
from p4nic.demo.features.common import (GUEST_QUEUE, UPLINK, VF, flow_key, frame_on,
                                        punted_to, shows)
from p4nic.demo.packets import PEER_IP, VNI, rewrite, tcp, tunnelled
from p4nic.runtime.connection import WriteError
from p4nic.runtime.nicdefs import (FLOW_EVENT_TCP_CLOSE, PKT_OUT_INJECT, REASON_SERVICE,
                                   STAGE_SERVICES)


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
    moved = vnic.direct_counter(on_vnic)
    on_pnic = pnic.add("services.flow_table", flow_key(sport=21001), "svc_nat", nat,
                       counter=moved)
    guest.delete(on_vnic)
    through_vnic("PNIC", through_pnic("PNIC", translated))
    feature.check_value("PNIC: flow counter carried over (the PNIC counts tunnelled bytes)",
                        "PNIC services.flow_counter (packets, bytes)",
                        (moved[0] + 1, moved[1] + len(on_wire)), pnic.direct_counter(on_pnic))
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
