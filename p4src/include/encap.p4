/*
 * p4nic: tunnel selection and Geneve/VXLAN encapsulation, shared by both NICs.
 *
 * tunnel maps (VNI, inner destination MAC) to the remote tunnel endpoint and
 * the encapsulation to use; a miss leaves the frame unencapsulated. The outer
 * headers are IPv4/UDP with a zero UDP checksum (allowed for both tunnels over
 * IPv4) and a UDP source port taken from the flow hash (49152-65535) so that
 * the underlay's ECMP spreads flows, as RFC 7348 section 5 recommends.
 * meta.special sets the special-processing flag (see include/headers.p4).
 */
#ifndef P4NIC_ENCAP_P4
#define P4NIC_ENCAP_P4

control Encap(inout headers_t hdr, inout metadata_t meta) {

    action encap_geneve(bit<24> vni, bit<48> smac, bit<48> dmac, bit<32> sip, bit<32> dip) {
        meta.encap_type = ENCAP_GENEVE;
        meta.encap_vni = vni;
        meta.encap_smac = smac;
        meta.encap_dmac = dmac;
        meta.encap_sip = sip;
        meta.encap_dip = dip;
    }

    action encap_vxlan(bit<24> vni, bit<48> smac, bit<48> dmac, bit<32> sip, bit<32> dip) {
        meta.encap_type = ENCAP_VXLAN;
        meta.encap_vni = vni;
        meta.encap_smac = smac;
        meta.encap_dmac = dmac;
        meta.encap_sip = sip;
        meta.encap_dip = dip;
    }

    table tunnel {
        key = {
            meta.vni: exact;
            hdr.eth.dstAddr: exact;
        }
        actions = {
            encap_geneve;
            encap_vxlan;
            NoAction;
        }
        default_action = NoAction();
        size = 4096;
    }

    apply {
        tunnel.apply();
        if (meta.encap_type != ENCAP_NONE) {
            bit<16> tunnel_len = 8;
            hdr.encap_eth.setValid();
            hdr.encap_eth.dstAddr = meta.encap_dmac;
            hdr.encap_eth.srcAddr = meta.encap_smac;
            hdr.encap_eth.etherType = ETHERTYPE_IPV4;

            hdr.encap_udp.setValid();
            hdr.encap_udp.srcPort = (meta.flow_hash & 16w0x3FFF) | 16w0xC000;
            hdr.encap_udp.checksum = 0;

            if (meta.encap_type == ENCAP_GENEVE) {
                hdr.encap_udp.dstPort = UDP_PORT_GENEVE;
                hdr.encap_geneve.setValid();
                hdr.encap_geneve.ver = 0;
                hdr.encap_geneve.optLen = 0;
                hdr.encap_geneve.oam = 0;
                hdr.encap_geneve.critical = 0;
                hdr.encap_geneve.rsvd = 0;
                hdr.encap_geneve.protoType = ETHERTYPE_TEB;
                hdr.encap_geneve.vni = meta.encap_vni;
                hdr.encap_geneve.rsvd2 = 0;
                if (meta.special == 1) {
                    hdr.encap_geneve.optLen = 1;
                    hdr.encap_geneve_opt.setValid();
                    hdr.encap_geneve_opt.optClass = GENEVE_OPT_CLASS_P4NIC;
                    hdr.encap_geneve_opt.optType = GENEVE_OPT_TYPE_SPECIAL;
                    hdr.encap_geneve_opt.rsvd = 0;
                    hdr.encap_geneve_opt.optLen = 0;
                    tunnel_len = 12;
                }
            } else {
                hdr.encap_udp.dstPort = UDP_PORT_VXLAN;
                hdr.encap_vxlan.setValid();
                hdr.encap_vxlan.flags = VXLAN_FLAG_VNI;
                if (meta.special == 1) {
                    hdr.encap_vxlan.flags = VXLAN_FLAG_VNI | VXLAN_FLAG_SPECIAL;
                }
                hdr.encap_vxlan.rsvd = 0;
                hdr.encap_vxlan.vni = meta.encap_vni;
                hdr.encap_vxlan.rsvd2 = 0;
            }
            hdr.encap_udp.len = meta.frame_len + tunnel_len + 8;

            hdr.encap_ipv4.setValid();
            hdr.encap_ipv4.version = 4;
            hdr.encap_ipv4.ihl = 5;
            hdr.encap_ipv4.diffserv = 0;
            hdr.encap_ipv4.totalLen = hdr.encap_udp.len + 20;
            hdr.encap_ipv4.identification = 0;
            hdr.encap_ipv4.flags = 0;
            hdr.encap_ipv4.fragOffset = 0;
            hdr.encap_ipv4.ttl = 64;
            hdr.encap_ipv4.protocol = IPPROTO_UDP;
            hdr.encap_ipv4.hdrChecksum = 0;
            hdr.encap_ipv4.srcAddr = meta.encap_sip;
            hdr.encap_ipv4.dstAddr = meta.encap_dip;
        }
    }
}

#endif
