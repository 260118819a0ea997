/*
 * p4nic: Normalize, the first stage of both NICs.
 *
 * It turns whatever arrived (a packet-out from the controller, a tunnelled or
 * a plain frame) into one shape: the flow's frame in the first-level headers,
 * its 5-tuple, special-processing criteria and hash in metadata, and the
 * direction (RX from the uplink, TX from a guest queue or VF).
 */
#ifndef P4NIC_FLOW_P4
#define P4NIC_FLOW_P4

/* The flow hash over the flow key: RSS bucket, first-packet register index, tunnel source
 * port. Normalize computes it; the services stage computes it again after a NAT rewrite, so
 * every later stage sees the flow as translated, whichever tier translated it. */
control FlowHash(inout metadata_t meta) {
    apply {
        hash(meta.flow_hash, HashAlgorithm.crc16, (bit<16>) 0,
             { meta.ip_ver, meta.src_addr, meta.dst_addr, meta.proto, meta.sport, meta.dport },
             (bit<32>) 65536);
        meta.rss_bucket = meta.flow_hash[6:0];
    }
}

control Normalize(inout headers_t hdr,
                  inout metadata_t meta,
                  in standard_metadata_t standard_metadata) {
    FlowHash() flow_hash;

    /* Move the inner frame into the first level; assigning a header copies
     * its validity too (BMv2 assign_header, src/bm_sim/core/primitives.cpp). */
    action decap() {
        hdr.eth = hdr.inner_eth;
        hdr.vlan = hdr.inner_vlan;
        hdr.ipv4 = hdr.inner_ipv4;
        hdr.ipv6 = hdr.inner_ipv6;
        hdr.tcp = hdr.inner_tcp;
        hdr.udp = hdr.inner_udp;
        hdr.icmp = hdr.inner_icmp;
        hdr.inner_eth.setInvalid();
        hdr.inner_vlan.setInvalid();
        hdr.inner_ipv4.setInvalid();
        hdr.inner_ipv6.setInvalid();
        hdr.inner_tcp.setInvalid();
        hdr.inner_udp.setInvalid();
        hdr.inner_icmp.setInvalid();
        hdr.geneve.setInvalid();
        hdr.geneve_opt.setInvalid();
        hdr.vxlan.setInvalid();
    }

    apply {
        meta.in_port = standard_metadata.ingress_port;
        meta.frame_len = (bit<16>) standard_metadata.packet_length;
        if (hdr.packet_out.isValid()) {
            meta.frame_len = meta.frame_len - 5;   /* the packet_out header */
            if (hdr.packet_out.mode == PKT_OUT_DIRECT) {
                meta.verdict = VERDICT_DONE;
                meta.out_port = hdr.packet_out.port;
            } else if (hdr.packet_out.mode == PKT_OUT_INJECT) {
                meta.in_port = hdr.packet_out.port;
                meta.bypass = hdr.packet_out.bypass;
                meta.ct_state = hdr.packet_out.ct_state;
                meta.injected = 1;
            } else {
                meta.verdict = VERDICT_DROP;
            }
            hdr.packet_out.setInvalid();
        }
        if (meta.in_port == PORT_UPLINK) {
            meta.dir = DIR_RX;
        } else {
            meta.dir = DIR_TX;
        }

        if (meta.verdict == VERDICT_PASS && hdr.inner_eth.isValid()) {
            meta.tunneled = 1;
            /* inner frame = outer UDP length - UDP header - tunnel header */
            meta.frame_len = hdr.udp.len - 16;
            if (hdr.geneve.isValid()) {
                meta.vni = hdr.geneve.vni;
                if (hdr.geneve_opt.isValid()) {
                    meta.frame_len = meta.frame_len - 4;
                    if (hdr.geneve_opt.optClass == GENEVE_OPT_CLASS_P4NIC &&
                        hdr.geneve_opt.optType == GENEVE_OPT_TYPE_SPECIAL) {
                        meta.special = 1;
                    }
                }
            } else {
                meta.vni = hdr.vxlan.vni;
                if ((hdr.vxlan.flags & VXLAN_FLAG_SPECIAL) != 0) {
                    meta.special = 1;
                }
            }
            decap();
        }

        meta.ethertype = hdr.eth.etherType;
        if (hdr.vlan.isValid()) {
            meta.vid = hdr.vlan.vid;
            meta.ethertype = hdr.vlan.etherType;
        }
        if (meta.ethertype == ETHERTYPE_ARP) {
            meta.is_arp = 1;
        }
        if (hdr.ipv4.isValid()) {
            meta.ip_ver = 4;
            meta.src_addr = (bit<128>) hdr.ipv4.srcAddr;
            meta.dst_addr = (bit<128>) hdr.ipv4.dstAddr;
            meta.proto = hdr.ipv4.protocol;
        } else if (hdr.ipv6.isValid()) {
            meta.ip_ver = 6;
            meta.src_addr = hdr.ipv6.srcAddr;
            meta.dst_addr = hdr.ipv6.dstAddr;
            meta.proto = hdr.ipv6.nextHdr;
        }
        if (hdr.tcp.isValid()) {
            meta.sport = hdr.tcp.srcPort;
            meta.dport = hdr.tcp.dstPort;
            meta.tcp_flags = hdr.tcp.flags;
        } else if (hdr.udp.isValid()) {
            meta.sport = hdr.udp.srcPort;
            meta.dport = hdr.udp.dstPort;
            /* DHCP (67/68) and DHCPv6 (546/547) */
            if (meta.dport == 67 || meta.dport == 68 || meta.dport == 546 || meta.dport == 547) {
                meta.is_dhcp = 1;
            }
        } else if (hdr.icmp.isValid()) {
            meta.sport = (bit<16>) hdr.icmp.icmpType;
            meta.dport = (bit<16>) hdr.icmp.icmpCode;
            /* Neighbour Discovery: ICMPv6 types 133-137 (RFC 4861) */
            if (meta.ip_ver == 6 && hdr.icmp.icmpType >= 133 && hdr.icmp.icmpType <= 137) {
                meta.is_nd = 1;
            }
        }
        flow_hash.apply(meta);
    }
}

#endif
