// Ingress -> traffic manager -> egress -> deparser as simple_switch runs it
// (docs/simple_switch.md "Pseudocode for what happens at the end of ingress and egress
// processing", targets/simple_switch/simple_switch.cpp): unicast to egress_spec, the drop
// port (511), mark_to_drop, multicast replication with egress_rid, the multicast-over-drop
// precedence, priority out of range for the single default queue, and drops in egress.
// The EtherType picks what ingress does; egress stamps the source MAC with
// egress_rid (16 bits) ++ egress_port (16 bits) ++ instance_type (8 bits) ++ priority (8 bits).
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
struct headers_t { ethernet_t eth; }
struct meta_t { }

parser TmParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t std) {
    state start { pkt.extract(hdr.eth); transition accept; }
}

control TmVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control TmIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply {
        bit<16> op = hdr.eth.etherType;
        if (op == 1) {
            std.egress_spec = hdr.eth.dst[8:0];
        } else if (op == 2) {
            std.mcast_grp = 1;
        } else if (op == 3) {
            std.egress_spec = 511;
        } else if (op == 4) {
            std.mcast_grp = 1;
            mark_to_drop(std);
        } else if (op == 5) {
            std.egress_spec = 2;
            std.priority = 1;
        } else if (op == 6) {
            mark_to_drop(std);
            std.egress_spec = 3;
        } else if (op == 7) {
            std.mcast_grp = 2;
        } else if (op == 8) {
            std.mcast_grp = 3;
        } else if (op == 9) {
            std.egress_spec = 2;
            std.priority = 0;
        } else if (op == 10) {
            std.mcast_grp = 1;
            std.egress_spec = 511;
        }
    }
}

control TmEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply {
        hdr.eth.src = std.egress_rid ++ 7w0 ++ std.egress_port ++ std.instance_type[7:0]
                      ++ 5w0 ++ std.priority;
        if (std.egress_rid == 9) {
            mark_to_drop(std);
        }
    }
}

control TmCompute(inout headers_t hdr, inout meta_t meta) { apply { } }

control TmDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.eth); } }

V1Switch(TmParser(), TmVerify(), TmIngress(), TmEgress(), TmCompute(), TmDeparser()) main;
