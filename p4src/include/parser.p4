/*
 * p4nic: parser, checksum controls and deparser shared by vnic.p4 and pnic.p4.
 *
 * A tunnel (Geneve or VXLAN over UDP/IPv4) is parsed down to the inner
 * headers. Geneve options are parsed only when there are none or a single
 * zero-length one (the p4nic special-processing option); a packet with other
 * options stops at the Geneve header and, having no inner headers, misses
 * every flow table.
 */
#ifndef P4NIC_PARSER_P4
#define P4NIC_PARSER_P4

parser NicParser(packet_in packet,
                 out headers_t hdr,
                 inout metadata_t meta,
                 inout standard_metadata_t standard_metadata) {
    state start {
        transition select(standard_metadata.ingress_port) {
            PORT_CPU: parse_packet_out;
            default: parse_eth;
        }
    }

    state parse_packet_out {
        packet.extract(hdr.packet_out);
        transition parse_eth;
    }

    state parse_eth {
        packet.extract(hdr.eth);
        transition select(hdr.eth.etherType) {
            ETHERTYPE_VLAN: parse_vlan;
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            default: accept;
        }
    }

    state parse_vlan {
        packet.extract(hdr.vlan);
        transition select(hdr.vlan.etherType) {
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            default: accept;
        }
    }

    /* L4 is parsed only for option-less, unfragmented (or first-fragment) IPv4. */
    state parse_ipv4 {
        packet.extract(hdr.ipv4);
        transition select(hdr.ipv4.ihl, hdr.ipv4.fragOffset, hdr.ipv4.protocol) {
            (4w5, 13w0, IPPROTO_TCP): parse_tcp;
            (4w5, 13w0, IPPROTO_UDP): parse_udp;
            (4w5, 13w0, IPPROTO_ICMP): parse_icmp;
            default: accept;
        }
    }

    state parse_ipv6 {
        packet.extract(hdr.ipv6);
        transition select(hdr.ipv6.nextHdr) {
            IPPROTO_TCP: parse_tcp;
            IPPROTO_UDP: parse_udp;
            IPPROTO_ICMPV6: parse_icmp;
            default: accept;
        }
    }

    state parse_tcp {
        packet.extract(hdr.tcp);
        transition accept;
    }

    state parse_icmp {
        packet.extract(hdr.icmp);
        transition accept;
    }

    state parse_udp {
        packet.extract(hdr.udp);
        transition select(hdr.udp.dstPort) {
            UDP_PORT_GENEVE: parse_geneve;
            UDP_PORT_VXLAN: parse_vxlan;
            default: accept;
        }
    }

    state parse_geneve {
        packet.extract(hdr.geneve);
        transition select(hdr.geneve.optLen, hdr.geneve.protoType) {
            (6w0, ETHERTYPE_TEB): parse_inner_eth;
            (6w1, ETHERTYPE_TEB): parse_geneve_opt;
            default: accept;
        }
    }

    state parse_geneve_opt {
        packet.extract(hdr.geneve_opt);
        transition select(hdr.geneve_opt.optLen) {
            5w0: parse_inner_eth;
            default: accept;
        }
    }

    state parse_vxlan {
        packet.extract(hdr.vxlan);
        transition parse_inner_eth;
    }

    state parse_inner_eth {
        packet.extract(hdr.inner_eth);
        transition select(hdr.inner_eth.etherType) {
            ETHERTYPE_VLAN: parse_inner_vlan;
            ETHERTYPE_IPV4: parse_inner_ipv4;
            ETHERTYPE_IPV6: parse_inner_ipv6;
            default: accept;
        }
    }

    state parse_inner_vlan {
        packet.extract(hdr.inner_vlan);
        transition select(hdr.inner_vlan.etherType) {
            ETHERTYPE_IPV4: parse_inner_ipv4;
            ETHERTYPE_IPV6: parse_inner_ipv6;
            default: accept;
        }
    }

    state parse_inner_ipv4 {
        packet.extract(hdr.inner_ipv4);
        transition select(hdr.inner_ipv4.ihl, hdr.inner_ipv4.fragOffset, hdr.inner_ipv4.protocol) {
            (4w5, 13w0, IPPROTO_TCP): parse_inner_tcp;
            (4w5, 13w0, IPPROTO_UDP): parse_inner_udp;
            (4w5, 13w0, IPPROTO_ICMP): parse_inner_icmp;
            default: accept;
        }
    }

    state parse_inner_ipv6 {
        packet.extract(hdr.inner_ipv6);
        transition select(hdr.inner_ipv6.nextHdr) {
            IPPROTO_TCP: parse_inner_tcp;
            IPPROTO_UDP: parse_inner_udp;
            IPPROTO_ICMPV6: parse_inner_icmp;
            default: accept;
        }
    }

    state parse_inner_tcp {
        packet.extract(hdr.inner_tcp);
        transition accept;
    }

    state parse_inner_udp {
        packet.extract(hdr.inner_udp);
        transition accept;
    }

    state parse_inner_icmp {
        packet.extract(hdr.inner_icmp);
        transition accept;
    }
}

/* Checksums are not verified: like a NIC without RX checksum offload, p4nic
 * delivers packets whatever their checksums and lets the guest decide. */
control NicVerifyChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

/* Recompute only what this NIC wrote, so a packet it did not touch leaves
 * byte for byte as it came in. */
control NicComputeChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply {
        update_checksum(hdr.encap_ipv4.isValid(),
            { hdr.encap_ipv4.version,
              hdr.encap_ipv4.ihl,
              hdr.encap_ipv4.diffserv,
              hdr.encap_ipv4.totalLen,
              hdr.encap_ipv4.identification,
              hdr.encap_ipv4.flags,
              hdr.encap_ipv4.fragOffset,
              hdr.encap_ipv4.ttl,
              hdr.encap_ipv4.protocol,
              hdr.encap_ipv4.srcAddr,
              hdr.encap_ipv4.dstAddr },
            hdr.encap_ipv4.hdrChecksum, HashAlgorithm.csum16);
        update_checksum(hdr.ipv4.isValid() && meta.l3_changed == 1,
            { hdr.ipv4.version,
              hdr.ipv4.ihl,
              hdr.ipv4.diffserv,
              hdr.ipv4.totalLen,
              hdr.ipv4.identification,
              hdr.ipv4.flags,
              hdr.ipv4.fragOffset,
              hdr.ipv4.ttl,
              hdr.ipv4.protocol,
              hdr.ipv4.srcAddr,
              hdr.ipv4.dstAddr },
            hdr.ipv4.hdrChecksum, HashAlgorithm.csum16);
        /* TCP/UDP over IPv4 after NAT: the pseudo header plus the L4 header;
         * TCP options and the data are the unparsed payload. */
        update_checksum_with_payload(hdr.tcp.isValid() && hdr.ipv4.isValid() && meta.l4_changed == 1,
            { hdr.ipv4.srcAddr,
              hdr.ipv4.dstAddr,
              8w0,
              hdr.ipv4.protocol,
              meta.l4_len,
              hdr.tcp.srcPort,
              hdr.tcp.dstPort,
              hdr.tcp.seqNo,
              hdr.tcp.ackNo,
              hdr.tcp.dataOffset,
              hdr.tcp.res,
              hdr.tcp.flags,
              hdr.tcp.window,
              hdr.tcp.urgentPtr },
            hdr.tcp.checksum, HashAlgorithm.csum16);
        update_checksum_with_payload(hdr.udp.isValid() && hdr.ipv4.isValid() && meta.l4_changed == 1,
            { hdr.ipv4.srcAddr,
              hdr.ipv4.dstAddr,
              8w0,
              hdr.ipv4.protocol,
              meta.l4_len,
              hdr.udp.srcPort,
              hdr.udp.dstPort,
              hdr.udp.len },
            hdr.udp.checksum, HashAlgorithm.csum16);
    }
}

control NicDeparser(packet_out packet, in headers_t hdr) {
    apply {
        packet.emit(hdr.packet_in);
        packet.emit(hdr.encap_eth);
        packet.emit(hdr.encap_ipv4);
        packet.emit(hdr.encap_udp);
        packet.emit(hdr.encap_geneve);
        packet.emit(hdr.encap_geneve_opt);
        packet.emit(hdr.encap_vxlan);
        packet.emit(hdr.eth);
        packet.emit(hdr.vlan);
        packet.emit(hdr.ipv4);
        packet.emit(hdr.ipv6);
        packet.emit(hdr.tcp);
        packet.emit(hdr.udp);
        packet.emit(hdr.icmp);
        packet.emit(hdr.geneve);
        packet.emit(hdr.geneve_opt);
        packet.emit(hdr.vxlan);
        packet.emit(hdr.inner_eth);
        packet.emit(hdr.inner_vlan);
        packet.emit(hdr.inner_ipv4);
        packet.emit(hdr.inner_ipv6);
        packet.emit(hdr.inner_tcp);
        packet.emit(hdr.inner_udp);
        packet.emit(hdr.inner_icmp);
    }
}

#endif
