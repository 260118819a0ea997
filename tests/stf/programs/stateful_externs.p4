// Counters, meters and registers as BMv2 runs them (src/bm_sim/counters.cpp, meters.cpp,
// targets/simple_switch/primitives.cpp): counter arrays of each type indexed by ingress port,
// a direct counter on a table, packet and byte meters with BMv2's colour rule, and a register
// read-modify-write. Ingress adds a `seen` header after Ethernet: both meter colours and the
// register value it wrote. The EtherType picks the operation.
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
header seen_t { bit<8> packet_colour; bit<8> byte_colour; bit<32> total; }
struct headers_t { ethernet_t eth; seen_t seen; }
struct meta_t { }

parser StateParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                   inout standard_metadata_t std) {
    state start { pkt.extract(hdr.eth); transition accept; }
}

control StateVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control StateIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    counter(4, CounterType.packets) by_port_packets;
    counter(4, CounterType.bytes) by_port_bytes;
    counter(4, CounterType.packets_and_bytes) by_port_both;
    direct_counter(CounterType.packets_and_bytes) op_hits;
    meter(2, MeterType.packets) packet_meter;
    meter(2, MeterType.bytes) byte_meter;
    register<bit<32>>(4) totals;

    action note() { op_hits.count(); }
    table ops {
        key = { hdr.eth.etherType: exact; }
        actions = { note; NoAction; }
        default_action = NoAction();
        counters = op_hits;
    }
    apply {
        hdr.seen.setValid();
        hdr.seen.packet_colour = 0xFF;
        hdr.seen.byte_colour = 0xFF;
        hdr.seen.total = 0;
        by_port_packets.count((bit<32>)std.ingress_port);
        by_port_bytes.count((bit<32>)std.ingress_port);
        by_port_both.count((bit<32>)std.ingress_port);
        ops.apply();
        if (hdr.eth.etherType == 1 || hdr.eth.etherType == 2) {
            bit<32> index = (bit<32>)hdr.eth.etherType - 1;
            bit<2> colour;
            packet_meter.execute_meter(index, colour);
            hdr.seen.packet_colour = (bit<8>)colour;
            byte_meter.execute_meter(index, colour);
            hdr.seen.byte_colour = (bit<8>)colour;
        } else if (hdr.eth.etherType == 3) {
            bit<32> total;
            totals.read(total, 2);
            total = total + 5;
            totals.write(2, total);
            hdr.seen.total = total;
        }
        std.egress_spec = 1;
    }
}

control StateEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply { }
}

control StateCompute(inout headers_t hdr, inout meta_t meta) { apply { } }

control StateDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.eth);
        pkt.emit(hdr.seen);
    }
}

V1Switch(StateParser(), StateVerify(), StateIngress(), StateEgress(), StateCompute(),
         StateDeparser()) main;
