// Exercises the STF commands beyond add/packet/expect: multicast groups and nodes, a mirroring
// session, a ternary table with priorities, a direct counter read through a named entry, a
// counter array, a register and a meter array (its colour lands in the source MAC's last byte).
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dstAddr; bit<48> srcAddr; bit<16> etherType; }
struct headers_t { ethernet_t ethernet; }
struct metadata_t { }

parser ServicesParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                      inout standard_metadata_t std) {
    state start { pkt.extract(hdr.ethernet); transition accept; }
}

control ServicesVerify(inout headers_t hdr, inout metadata_t meta) { apply { } }

control ServicesIngress(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t std) {
    counter(16, CounterType.packets_and_bytes) packets_by_port;
    register<bit<32>>(16) last_length;
    direct_counter(CounterType.packets_and_bytes) dmac_hits;
    meter(4, MeterType.packets) policer;

    action forward(bit<9> port) { std.egress_spec = port; dmac_hits.count(); }
    action flood(bit<16> grp) { std.mcast_grp = grp; dmac_hits.count(); }
    action deny() { mark_to_drop(std); }
    action allow() { }

    table dmac {
        key = { hdr.ethernet.dstAddr: exact; }
        actions = { forward; flood; }
        default_action = forward(0);
        counters = dmac_hits;
    }
    table acl {
        key = { hdr.ethernet.etherType: ternary; }
        actions = { allow; deny; }
        default_action = allow();
    }
    apply {
        packets_by_port.count((bit<32>)std.ingress_port);
        last_length.write((bit<32>)std.ingress_port, std.packet_length);
        dmac.apply();
        acl.apply();
        if (hdr.ethernet.etherType == 0x9999) {
            clone(CloneType.I2E, 5);
        }
        if (hdr.ethernet.etherType == 0x9998) {
            clone(CloneType.I2E, 8);
        }
        if (hdr.ethernet.etherType == 0x7777) {
            bit<2> colour;
            policer.execute_meter(2, colour);
            hdr.ethernet.srcAddr[7:0] = (bit<8>)colour;
        }
    }
}

control ServicesEgress(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t std) {
    apply { }
}

control ServicesChecksum(inout headers_t hdr, inout metadata_t meta) { apply { } }

control ServicesDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.ethernet); } }

V1Switch(ServicesParser(), ServicesVerify(), ServicesIngress(), ServicesEgress(), ServicesChecksum(),
         ServicesDeparser()) main;
