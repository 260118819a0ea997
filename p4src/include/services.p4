/*
 * p4nic: the stateful services flow table, identical on the VNIC and the PNIC
 * (US20240039803A1, US20240036898A1, US20240036904A1).
 *
 * One exact entry per flow direction carries the service the guest offloaded:
 * connection-tracking state, allow/deny, NAT rewrite or load-balancer backend.
 * Because both NICs include this very control, an entry written to the PNIC
 * behaves exactly as it did on the VNIC, and its direct counter carries the
 * flow's statistics on whichever NIC holds it.
 *
 * Miss: by default the packet continues (svc_continue); a guest that runs its
 * services in software sets the default action to svc_to_guest, which sends
 * every not-yet-offloaded packet to the controller with REASON_SERVICE. The
 * guest returns it with a packet-out (mode PKT_OUT_INJECT, bypass
 * STAGE_SERVICES).
 */
#ifndef P4NIC_SERVICES_P4
#define P4NIC_SERVICES_P4

control StatefulServices(inout headers_t hdr, inout metadata_t meta) {
    FlowHash() flow_hash;
    direct_counter(CounterType.packets_and_bytes) flow_counter;

    action svc_allow(bit<8> ct_state) {
        meta.ct_state = ct_state;
    }

    action svc_deny() {
        meta.verdict = VERDICT_DROP;
    }

    /* Rewrite the IPv4 addresses and TCP/UDP ports (source and destination NAT). */
    action svc_nat(bit<8> ct_state, bit<32> src_addr, bit<32> dst_addr,
                   bit<16> sport, bit<16> dport) {
        meta.ct_state = ct_state;
        meta.nat = 1;
        meta.nat_src = src_addr;
        meta.nat_dst = dst_addr;
        meta.nat_sport = sport;
        meta.nat_dport = dport;
    }

    /* Load balancing: send the flow to its chosen backend (destination NAT
     * plus the backend's MAC address). */
    action svc_lb(bit<8> ct_state, bit<48> backend_mac, bit<32> backend_addr,
                  bit<16> backend_port) {
        meta.ct_state = ct_state;
        meta.nat = 1;
        meta.nat_src = hdr.ipv4.srcAddr;
        meta.nat_dst = backend_addr;
        meta.nat_sport = meta.sport;
        meta.nat_dport = backend_port;
        meta.lb_rewrite_dmac = 1;
        meta.lb_dmac = backend_mac;
    }

    action svc_continue() {
    }

    action svc_to_guest() {
        meta.verdict = VERDICT_CPU;
        meta.reason = REASON_SERVICE;
    }

    @p4runtime_role("guest")
    table flow_table {
        key = {
            meta.ip_ver: exact;
            meta.src_addr: exact;
            meta.dst_addr: exact;
            meta.proto: exact;
            meta.sport: exact;
            meta.dport: exact;
        }
        actions = {
            svc_allow;
            svc_deny;
            svc_nat;
            svc_lb;
            svc_continue;
            svc_to_guest;
        }
        default_action = svc_continue();
        counters = flow_counter;
        /* an offloaded flow that goes idle is reported (P4Runtime idle-timeout
         * notification) so that it can be ended on every tier */
        support_timeout = true;
        size = 65536;
    }

    apply {
        if (flow_table.apply().hit) {
            if ((meta.tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST)) != 0) {
                digest<flow_event_t>(1, { FLOW_EVENT_TCP_CLOSE, meta.ip_ver,
                                          meta.src_addr, meta.dst_addr,
                                          meta.proto, meta.sport, meta.dport });
            }
        }
        if (meta.nat == 1 && hdr.ipv4.isValid()) {
            hdr.ipv4.srcAddr = meta.nat_src;
            hdr.ipv4.dstAddr = meta.nat_dst;
            meta.l3_changed = 1;
            meta.l4_len = hdr.ipv4.totalLen - 20;
            meta.src_addr = (bit<128>) meta.nat_src;
            meta.dst_addr = (bit<128>) meta.nat_dst;
            if (hdr.tcp.isValid()) {
                hdr.tcp.srcPort = meta.nat_sport;
                hdr.tcp.dstPort = meta.nat_dport;
                meta.l4_changed = 1;
                meta.sport = meta.nat_sport;
                meta.dport = meta.nat_dport;
            } else if (hdr.udp.isValid()) {
                hdr.udp.srcPort = meta.nat_sport;
                hdr.udp.dstPort = meta.nat_dport;
                meta.l4_changed = 1;
                meta.sport = meta.nat_sport;
                meta.dport = meta.nat_dport;
            }
            /* later stages see the translated flow, as they do when an earlier tier
             * translated it */
            flow_hash.apply(meta);
        }
        if (meta.lb_rewrite_dmac == 1) {
            hdr.eth.dstAddr = meta.lb_dmac;
        }
    }
}

#endif
