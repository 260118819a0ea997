// A small v1model program with controller packet I/O, a digest and counters, compiled by
// p4nic compile in test_p4runtime_compiled.py and driven over P4Runtime.
#include <core.p4>
#include <v1model.p4>

const bit<9> CPU_PORT = 255;

@controller_header("packet_out")
header packet_out_t {
    bit<9> egress_port;
    bit<7> _pad;
}

@controller_header("packet_in")
header packet_in_t {
    bit<9> ingress_port;
    bit<7> _pad;
}

header ethernet_t {
    bit<48> dstAddr;
    bit<48> srcAddr;
    bit<16> etherType;
}

struct headers_t {
    packet_out_t packet_out;
    packet_in_t packet_in;
    ethernet_t ethernet;
}

struct digest_t {
    bit<48> srcAddr;
    bit<9> ingress_port;
}

struct metadata_t {
    bit<8> color;
}

parser MyParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t std) {
    state start {
        transition select(std.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: parse_ethernet;
        }
    }
    state parse_packet_out {
        pkt.extract(hdr.packet_out);
        transition parse_ethernet;
    }
    state parse_ethernet {
        pkt.extract(hdr.ethernet);
        transition accept;
    }
}

control MyVerifyChecksum(inout headers_t hdr, inout metadata_t meta) { apply { } }

control MyIngress(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t std) {
    counter(512, CounterType.packets_and_bytes) port_counter;
    direct_counter(CounterType.packets_and_bytes) fwd_counter;
    register<bit<32>>(16) reg;

    action drop() { mark_to_drop(std); }
    action forward(bit<9> port) { std.egress_spec = port; fwd_counter.count(); }
    action send_to_cpu() {
        std.egress_spec = CPU_PORT;
        hdr.packet_in.setValid();
        hdr.packet_in.ingress_port = std.ingress_port;
        fwd_counter.count();
    }
    action learn() { digest<digest_t>(1, {hdr.ethernet.srcAddr, std.ingress_port}); fwd_counter.count(); }
    action count_port(bit<9> port) { port_counter.count((bit<32>)std.ingress_port); std.egress_spec = port; fwd_counter.count(); }

    table fwd {
        key = { hdr.ethernet.dstAddr: exact; }
        actions = { forward; drop; send_to_cpu; learn; count_port; NoAction; }
        default_action = NoAction();
        counters = fwd_counter;
        support_timeout = true;
    }
    table acl {
        key = { hdr.ethernet.etherType: ternary; hdr.ethernet.srcAddr: ternary; }
        actions = { drop; NoAction; }
        default_action = NoAction();
    }
    apply {
        if (hdr.packet_out.isValid()) {
            std.egress_spec = hdr.packet_out.egress_port;
            hdr.packet_out.setInvalid();
        } else {
            fwd.apply();
            acl.apply();
        }
    }
}

control MyEgress(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t std) { apply { } }
control MyComputeChecksum(inout headers_t hdr, inout metadata_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.packet_in);
        pkt.emit(hdr.ethernet);
    }
}

V1Switch(MyParser(), MyVerifyChecksum(), MyIngress(), MyEgress(), MyComputeChecksum(), MyDeparser()) main;
