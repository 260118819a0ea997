/* Parser features: header stacks and unions, varbit, lookahead/advance/verify, select with
 * masks, ranges, tuples, default and _, a value_set, a sub-parser, and stack operations. */
#include <core.p4>
#include <v1model.p4>

const bit<16> ETH_IPV4 = 0x0800;
const bit<16> ETH_VLAN = 0x8100;
const bit<16> ETH_MPLS = 0x8847;

header ethernet_t {
    bit<48> dst;
    bit<48> src;
    bit<16> ether_type;
}

header vlan_t {
    bit<3>  pcp;
    bit<1>  dei;
    bit<12> vid;
    bit<16> ether_type;
}

header mpls_t {
    bit<20> label;
    bit<3>  tc;
    bit<1>  bos;
    bit<8>  ttl;
}

header ipv4_t {
    bit<4>  version;
    bit<4>  ihl;
    bit<8>  tos;
    bit<16> total_len;
    bit<16> id;
    bit<3>  flags;
    bit<13> frag;
    bit<8>  ttl;
    bit<8>  protocol;
    bit<16> checksum;
    bit<32> src;
    bit<32> dst;
}

header ipv4_options_t {
    varbit<320> options;
}

header tcp_t {
    bit<16> src_port;
    bit<16> dst_port;
    bit<32> seq;
    bit<32> ack;
    bit<4>  data_offset;
    bit<12> flags;
    bit<16> window;
    bit<16> checksum;
    bit<16> urgent;
}

header udp_t {
    bit<16> src_port;
    bit<16> dst_port;
    bit<16> len;
    bit<16> checksum;
}

header_union l4_t {
    tcp_t tcp;
    udp_t udp;
}

struct headers_t {
    ethernet_t     ethernet;
    vlan_t[2]      vlans;
    mpls_t[4]      mpls;
    ipv4_t         ipv4;
    ipv4_options_t ipv4_options;
    l4_t           l4;
}

error {
    BadIpv4Version,
    MplsTtlZero
}

struct metadata_t {
    bit<16> l4_src_port;
    bit<8>  first_l4_byte;
    bool    special;
}

/* Parses up to two VLAN tags; returns to its caller at accept. */
parser VlanParser(packet_in pkt, inout headers_t hdr) {
    state start {
        pkt.extract(hdr.vlans.next);
        transition select(hdr.vlans.last.ether_type) {
            ETH_VLAN: start;
            default: accept;
        }
    }
}

parser FeatureParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                     inout standard_metadata_t std_meta) {
    VlanParser() vlan_parser;
    value_set<bit<16>>(4) special_ether_types;

    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            ETH_VLAN: parse_vlan;
            ETH_MPLS: parse_mpls;
            ETH_IPV4: parse_ipv4;
            special_ether_types: parse_special;
            default: accept;
        }
    }

    state parse_vlan {
        vlan_parser.apply(pkt, hdr);
        transition select(hdr.vlans.last.ether_type) {
            ETH_IPV4: parse_ipv4;
            default: accept;
        }
    }

    state parse_mpls {
        pkt.extract(hdr.mpls.next);
        verify(hdr.mpls.last.ttl != 0, error.MplsTtlZero);
        transition select(hdr.mpls.last.bos) {
            0: parse_mpls;
            1: parse_ipv4;
        }
    }

    state parse_special {
        meta.special = true;
        transition accept;
    }

    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        verify(hdr.ipv4.version == 4, error.BadIpv4Version);
        transition select(hdr.ipv4.ihl) {
            5: parse_l4;
            6 .. 15: parse_ipv4_options;
            default: reject;
        }
    }

    state parse_ipv4_options {
        pkt.extract(hdr.ipv4_options, (bit<32>)(((bit<16>)hdr.ipv4.ihl - 5) * 32));
        transition parse_l4;
    }

    state parse_l4 {
        meta.first_l4_byte = pkt.lookahead<bit<8>>();
        transition select(hdr.ipv4.frag, hdr.ipv4.protocol) {
            (0, 6): parse_tcp;
            (0, 17): parse_udp;
            (_, 0x80 &&& 0xF0): skip_l4;
            default: accept;
        }
    }

    state parse_tcp {
        pkt.extract(hdr.l4.tcp);
        meta.l4_src_port = hdr.l4.tcp.src_port;
        transition accept;
    }

    state parse_udp {
        pkt.extract(hdr.l4.udp);
        meta.l4_src_port = hdr.l4.udp.src_port;
        transition accept;
    }

    state skip_l4 {
        pkt.advance(32);
        transition accept;
    }
}

control FeatureVerifyChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control FeatureIngress(inout headers_t hdr, inout metadata_t meta,
                       inout standard_metadata_t std_meta) {
    apply {
        if (std_meta.parser_error != error.NoError) {
            mark_to_drop(std_meta);
            exit;
        }
        if (hdr.mpls[0].isValid()) {
            hdr.mpls.pop_front(1);
        }
        if (!hdr.vlans[0].isValid()) {
            hdr.vlans.push_front(1);
            hdr.vlans[0].setValid();
            hdr.vlans[0].vid = 12w100;
            hdr.vlans[0].ether_type = hdr.ethernet.ether_type;
            hdr.ethernet.ether_type = ETH_VLAN;
        }
        if (hdr.l4.tcp.isValid() || meta.special) {
            std_meta.egress_spec = 2;
        } else {
            std_meta.egress_spec = 1;
        }
    }
}

control FeatureEgress(inout headers_t hdr, inout metadata_t meta,
                      inout standard_metadata_t std_meta) {
    apply { }
}

control FeatureComputeChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control FeatureDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.vlans);
        pkt.emit(hdr.mpls);
        pkt.emit(hdr.ipv4);
        pkt.emit(hdr.ipv4_options);
        pkt.emit(hdr.l4);
    }
}

V1Switch(FeatureParser(), FeatureVerifyChecksum(), FeatureIngress(), FeatureEgress(),
         FeatureComputeChecksum(), FeatureDeparser()) main;
