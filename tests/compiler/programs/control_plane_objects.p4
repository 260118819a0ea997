/* Every kind of control-plane object P4Info describes: tables (keys of each match kind,
 * const entries, const default action with arguments, action profiles and selectors, direct
 * counters and meters, idle timeout), counters, meters, registers, digests, value sets,
 * controller packet metadata, sub-control instances, @name/@id/@hidden and documentation. */
#include <core.p4>
#include <v1model.p4>

enum bit<8> Proto { TCP = 6, UDP = 17 }

@p4runtime_translation("example.org/port", 32)
type bit<9> port_t;

@controller_header("packet_in")
header packet_in_t {
    bit<9> ingress_port;
    bit<7> pad;
}

@controller_header("packet_out")
header packet_out_t {
    @id(3) bit<9> egress_port;
    bit<7> pad;
}

header ethernet_t {
    bit<48> dst;
    bit<48> src;
    bit<16> ether_type;
}

header ipv4_t {
    bit<8>  ttl;
    Proto   protocol;
    bit<32> src;
    bit<32> dst;
}

struct headers_t {
    packet_in_t  packet_in;
    packet_out_t packet_out;
    ethernet_t   ethernet;
    ipv4_t       ipv4;
}

struct learn_t {
    bit<48> src;
    bit<9>  port;
}

struct metadata_t {
    bit<16> flow;
    bit<2>  color;
}

parser MyParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t std) {
    value_set<bit<16>>(4) tunnel_types;
    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            0x0800: parse_ipv4;
            tunnel_types: accept;
            default: accept;
        }
    }
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        transition accept;
    }
}

control Filter(inout headers_t hdr, inout standard_metadata_t std) {
    register<bit<32>>(64) hits;
    action deny() { mark_to_drop(std); }
    action allow() { }
    table acl {
        key = { hdr.ipv4.src : ternary; hdr.ipv4.protocol : exact; }
        actions = { allow; deny; }
        default_action = allow();
    }
    apply {
        hits.write(0, 1);
        acl.apply();
    }
}

control MyIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t std) {
    counter(1024, CounterType.packets_and_bytes) port_counter;
    @brief("Per-flow meters") meter(256, MeterType.bytes) flow_meter;
    direct_counter(CounterType.packets) route_hits;
    action_selector(HashAlgorithm.crc16, 128, 16) ecmp_selector;
    Filter() inner_filter;
    Filter() outer_filter;

    @id(0x42)
    action set_port(port_t port) { std.egress_spec = (bit<9>)port; }
    action set_nexthop(bit<48> dmac, @name("out_port") bit<9> port) {
        hdr.ethernet.dst = dmac;
        std.egress_spec = port;
    }
    action drop() { mark_to_drop(std); }
    action count_and_meter() {
        port_counter.count((bit<32>)std.ingress_port);
        flow_meter.execute_meter((bit<32>)meta.flow, meta.color);
    }
    action learn() { digest<learn_t>(1, { hdr.ethernet.src, std.ingress_port }); }
    action never_used() { }
    action helper() { hdr.ipv4.ttl = hdr.ipv4.ttl - 1; }
    action decrement() { helper(); }

    @description("Longest-prefix routes")
    table routes {
        key = { hdr.ipv4.dst : lpm @name("dst_addr"); }
        actions = { set_nexthop; @defaultonly drop; }
        const default_action = set_nexthop(48w0x0a0b0c0d0e0f, 9w3);
        counters = route_hits;
        size = 2048;
        support_timeout = true;
    }
    table ecmp {
        key = {
            hdr.ipv4.dst : exact;
            hdr.ipv4.src : selector;
            hdr.ethernet.isValid() : exact;
        }
        actions = { set_port; @tableonly decrement; }
        implementation = ecmp_selector;
    }
    table ports {
        key = { std.ingress_port : range; meta.flow : optional; }
        actions = { set_port; drop; }
        const entries = {
            (0 .. 7, 1) : set_port(2);
            (_, _) : drop();
        }
        @name("ports_meter") meters = direct_meter<bit<2>>(MeterType.packets);
    }
    @hidden table hidden_table {
        actions = { learn; }
    }
    table unused_table {
        actions = { never_used; }
    }
    apply {
        routes.apply();
        ecmp.apply();
        ports.apply();
        hidden_table.apply();
        count_and_meter();
        inner_filter.apply(hdr, std);
        outer_filter.apply(hdr, std);
    }
}

control MyEgress(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t std) {
    apply { }
}

control MyVerify(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control MyCompute(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control MyDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.ipv4);
    }
}

V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
