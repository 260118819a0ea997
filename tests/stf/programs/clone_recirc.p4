// Packets that v1model makes from other packets, as simple_switch does (docs/simple_switch.md
// "Pseudocode for what happens at the end of ingress and egress processing", "Notes on
// recirculate, resubmit, and clone operations"): ingress-to-egress and egress-to-egress
// clones to sessions, resubmit and recirculate, each preserving the user metadata of field
// list 1 and nothing else; truncate; timestamps. The EtherType picks the operation; egress
// adds a `trace` header after Ethernet.
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
// instance_type in egress; instance_type, ingress_port and packet_length as ingress saw them;
// the three metadata fields; packet length in egress and a timestamp check
header trace_t {
    bit<8> instance; bit<8> in_instance; bit<16> in_port; bit<16> in_len;
    bit<8> kept; bit<8> lost; bit<8> hops; bit<16> len; bit<8> ts_ok;
}
struct headers_t { ethernet_t eth; trace_t trace; }
struct meta_t {
    @field_list(1) bit<8> kept;
    bit<8> lost;
    @field_list(1) bit<8> hops;
    bit<8> ts_ok;
    bit<8> in_instance;
    bit<16> in_port;
    bit<16> in_len;
}

parser CopyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                  inout standard_metadata_t std) {
    state start { pkt.extract(hdr.eth); transition accept; }
}

control CopyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control CopyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    register<bit<48>>(1) last_seen;
    apply {
        bit<16> op = hdr.eth.etherType;
        std.egress_spec = 1;
        // egress cannot tell: simple_switch makes every unicast packet NORMAL at enqueue
        meta.in_instance = std.instance_type[7:0];
        meta.in_port = (bit<16>)std.ingress_port;
        meta.in_len = std.packet_length[15:0];
        if (op == 1) {
            meta.kept = 0x11;
            meta.lost = 0x22;
            hdr.eth.src = 0xCCCCCCCCCCCC;
            clone_preserving_field_list(CloneType.I2E, 5, 1);
        } else if (op == 2) {
            meta.kept = 0x77;
        } else if (op == 3) {
            if (std.instance_type == 0) {
                meta.kept = 0x33;
                meta.lost = 0x44;
                meta.hops = 1;
                hdr.eth.src = 0xCCCCCCCCCCCC;
                resubmit_preserving_field_list(1);
            } else {
                meta.hops = meta.hops + 1;
            }
        } else if (op == 4) {
            if (std.instance_type == 0) {
                meta.hops = 1;
            } else {
                meta.hops = meta.hops + 1;
            }
        } else if (op == 5) {
            truncate(18);
        } else if (op == 6) {
            // ingress timestamps are set and never go backwards
            bit<48> last;
            last_seen.read(last, 0);
            if (std.ingress_global_timestamp != 0 && std.ingress_global_timestamp >= last) {
                meta.ts_ok = 1;
            }
            last_seen.write(0, std.ingress_global_timestamp);
        }
    }
}

control CopyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply {
        bit<16> op = hdr.eth.etherType;
        hdr.trace.setValid();
        hdr.trace.instance = std.instance_type[7:0];
        hdr.trace.in_instance = meta.in_instance;
        hdr.trace.in_port = meta.in_port;
        hdr.trace.in_len = meta.in_len;
        hdr.trace.kept = meta.kept;
        hdr.trace.lost = meta.lost;
        hdr.trace.hops = meta.hops;
        hdr.trace.len = 0;
        hdr.trace.ts_ok = 0;
        if (op == 6) {
            hdr.trace.len = std.packet_length[15:0];
            if (std.egress_global_timestamp >= std.ingress_global_timestamp) {
                hdr.trace.ts_ok = meta.ts_ok;
            }
        }
        if (op == 2 && std.instance_type == 0) {
            hdr.eth.src = 0xEEEEEEEEEEEE;
            meta.kept = 0x88;
            clone_preserving_field_list(CloneType.E2E, 6, 1);
        } else if (op == 4 && meta.in_instance == 0) {
            meta.kept = 0x55;
            meta.lost = 0x66;
            hdr.eth.dst = 0xDDDDDDDDDDDD;
            recirculate_preserving_field_list(1);
        }
    }
}

control CopyCompute(inout headers_t hdr, inout meta_t meta) { apply { } }

control CopyDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.eth);
        pkt.emit(hdr.trace);
    }
}

V1Switch(CopyParser(), CopyVerify(), CopyIngress(), CopyEgress(), CopyCompute(),
         CopyDeparser()) main;
