// Every match kind and a few action shapes, for the differential test of the P4Runtime server's
// two Write paths (test_p4runtime_write_paths.py): IPv4 and IPv6 LPM routes (a 128-bit prefix
// length is a two-byte varint), and a priority table with ternary, range, optional and exact
// fields, a direct counter and idle timeouts; exact tables of one and two fields (the second
// small, so that random batches fill it).
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dstAddr; bit<48> srcAddr; bit<16> etherType; }
header ipv4_t {
    bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> totalLen; bit<16> identification;
    bit<3> flags; bit<13> fragOffset; bit<8> ttl; bit<8> protocol; bit<16> hdrChecksum;
    bit<32> srcAddr; bit<32> dstAddr;
}
header ipv6_t {
    bit<4> version; bit<8> trafficClass; bit<20> flowLabel; bit<16> payloadLen;
    bit<8> nextHdr; bit<8> hopLimit; bit<128> srcAddr; bit<128> dstAddr;
}
struct headers_t { ethernet_t ethernet; ipv4_t ipv4; ipv6_t ipv6; }
struct metadata_t { bit<16> dport; }

parser KindsParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                   inout standard_metadata_t std) {
    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) {
            0x0800: parse_ipv4;
            0x86dd: parse_ipv6;
            default: accept;
        }
    }
    state parse_ipv4 { pkt.extract(hdr.ipv4); transition accept; }
    state parse_ipv6 { pkt.extract(hdr.ipv6); transition accept; }
}

control KindsVerify(inout headers_t hdr, inout metadata_t meta) { apply { } }

control KindsIngress(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t std) {
    direct_counter(CounterType.packets_and_bytes) rule_hits;

    action drop() { mark_to_drop(std); }
    action forward(bit<9> port, bit<48> dstAddr) {
        std.egress_spec = port;
        hdr.ethernet.dstAddr = dstAddr;
    }
    action set_port(bit<9> port) { std.egress_spec = port; }
    action set_port_counted(bit<9> port) { rule_hits.count(); std.egress_spec = port; }
    action drop_counted() { rule_hits.count(); mark_to_drop(std); }

    table routes {
        key = { hdr.ipv4.dstAddr: lpm; }
        actions = { forward; drop; @defaultonly NoAction; }
        size = 4096;
        support_timeout = true;
        default_action = NoAction();
    }
    table routes6 {
        key = { hdr.ipv6.dstAddr: lpm; }
        actions = { set_port; drop; }
        size = 4096;
        default_action = drop();
    }
    table rules {
        key = {
            hdr.ipv4.srcAddr: ternary;
            meta.dport: range;
            hdr.ipv4.protocol: optional;
            hdr.ethernet.etherType: exact;
        }
        actions = { set_port_counted; drop_counted; }
        counters = rule_hits;
        size = 4096;
        default_action = drop_counted();
    }
    table macs {
        key = { hdr.ethernet.dstAddr: exact; }
        actions = { set_port; drop; }
        size = 4096;
        default_action = drop();
    }
    table neighbours {
        key = { std.ingress_port: exact; hdr.ethernet.srcAddr: exact; }
        actions = { forward; NoAction; }
        size = 4;
        default_action = NoAction();
    }
    apply {
        macs.apply();
        neighbours.apply();
        if (hdr.ipv4.isValid()) {
            routes.apply();
            rules.apply();
        } else if (hdr.ipv6.isValid()) {
            routes6.apply();
        }
    }
}

control KindsEgress(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t std) {
    apply { }
}

control KindsChecksum(inout headers_t hdr, inout metadata_t meta) { apply { } }

control KindsDeparser(packet_out pkt, in headers_t hdr) {
    apply { pkt.emit(hdr.ethernet); pkt.emit(hdr.ipv4); pkt.emit(hdr.ipv6); }
}

V1Switch(KindsParser(), KindsVerify(), KindsIngress(), KindsEgress(), KindsChecksum(),
         KindsDeparser()) main;
