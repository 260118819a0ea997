// The traffic manager's queues as `p4nic switch` builds them for one burst of packets
// (docs/internals.md, "Contract: Device"): ingress sends each packet to the port in the low
// byte of its destination MAC with the priority in its EtherType's low byte; egress stamps
// what it saw into the source MAC: priority (8 bits), enq_qdepth and deq_qdepth (16 bits each,
// truncated), and 1 when deq_timedelta is the time from enq_timestamp to the egress timestamp.
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
struct headers_t { ethernet_t eth; }
struct meta_t { }

parser QParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
               inout standard_metadata_t std) {
    state start { pkt.extract(hdr.eth); transition accept; }
}

control QVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control QIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply {
        std.egress_spec = (bit<9>) hdr.eth.dst[7:0];
        std.priority = hdr.eth.etherType[2:0];
    }
}

control QEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply {
        bit<8> delta_ok = 0;
        if (std.egress_global_timestamp[31:0] - std.enq_timestamp == std.deq_timedelta) {
            delta_ok = 1;
        }
        hdr.eth.src = 5w0 ++ std.priority ++ std.enq_qdepth[15:0] ++ std.deq_qdepth[15:0]
                      ++ delta_ok;
    }
}

control QCompute(inout headers_t hdr, inout meta_t meta) { apply { } }

control QDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.eth); } }

V1Switch(QParser(), QVerify(), QIngress(), QEgress(), QCompute(), QDeparser()) main;
