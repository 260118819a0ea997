// The DSL benchmark's own program (python -m p4nic.dsl.bench, `make bench`): an IPv4 ACL whose
// ternary table holds 16384 entries, so a `.nic` file of 10,000 `table` rules fits it.
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dstAddr; bit<48> srcAddr; bit<16> etherType; }
header ipv4_t {
    bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> totalLen; bit<16> identification;
    bit<3> flags; bit<13> fragOffset; bit<8> ttl; bit<8> protocol; bit<16> hdrChecksum;
    bit<32> srcAddr; bit<32> dstAddr;
}
header ports_t { bit<16> srcPort; bit<16> dstPort; }
struct headers_t { ethernet_t ethernet; ipv4_t ipv4; ports_t ports; }
struct metadata_t { }

parser AclParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                 inout standard_metadata_t std) {
    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) { 0x0800: parse_ipv4; default: accept; }
    }
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        transition select(hdr.ipv4.protocol) { 6: parse_ports; 17: parse_ports; default: accept; }
    }
    state parse_ports { pkt.extract(hdr.ports); transition accept; }
}

control AclVerify(inout headers_t hdr, inout metadata_t meta) { apply { } }

control AclIngress(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t std) {
    action deny() { mark_to_drop(std); }
    action to_port(bit<9> port) { std.egress_spec = port; }
    table acl {
        key = {
            hdr.ipv4.srcAddr: ternary;
            hdr.ipv4.dstAddr: ternary;
            hdr.ipv4.protocol: ternary;
            hdr.ports.dstPort: ternary;
        }
        actions = { to_port; deny; }
        size = 16384;
        default_action = deny();
    }
    apply { if (hdr.ipv4.isValid()) { acl.apply(); } }
}

control AclEgress(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t std) {
    apply { }
}

control AclChecksum(inout headers_t hdr, inout metadata_t meta) { apply { } }

control AclDeparser(packet_out pkt, in headers_t hdr) {
    apply { pkt.emit(hdr.ethernet); pkt.emit(hdr.ipv4); pkt.emit(hdr.ports); }
}

V1Switch(AclParser(), AclVerify(), AclIngress(), AclEgress(), AclChecksum(), AclDeparser()) main;
