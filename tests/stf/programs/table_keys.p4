// Table keys beyond plain fields (docs/JSON_format.md "tables": key `mask`; docs/
// simple_switch.md "Table match kinds supported"): 128-bit lpm, ternary and exact keys, a
// masked key (`field & mask`), a key on a bit slice, and what `switch (t.apply().action_run)`
// and `t.apply().miss` see. Each table writes one byte of a result header.
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
header ipv6_t {
    bit<4> version; bit<8> trafficClass; bit<20> flowLabel; bit<16> payloadLen;
    bit<8> nextHdr; bit<8> hopLimit; bit<128> srcAddr; bit<128> dstAddr;
}
header result_t { bit<8> route; bit<8> acl; bit<8> host; bit<8> masked; bit<8> sliced; bit<8> ran; }

struct headers_t { ethernet_t eth; result_t res; ipv6_t ipv6; }
struct meta_t { }

parser KeyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                 inout standard_metadata_t std) {
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.ipv6);
        transition accept;
    }
}

control KeyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control KeyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    action route(bit<8> v) { hdr.res.route = v; }
    action acl(bit<8> v) { hdr.res.acl = v; }
    action host(bit<8> v) { hdr.res.host = v; }
    action masked(bit<8> v) { hdr.res.masked = v; }
    action sliced(bit<8> v) { hdr.res.sliced = v; }
    action first() { }
    action second() { }

    table routes {
        key = { hdr.ipv6.dstAddr: lpm; }
        actions = { route; NoAction; }
        default_action = NoAction();
    }
    table acls {
        key = { hdr.ipv6.srcAddr: ternary; }
        actions = { acl; NoAction; }
        default_action = NoAction();
    }
    table hosts {
        key = { hdr.ipv6.dstAddr: exact; }
        actions = { host; NoAction; }
        default_action = NoAction();
    }
    table by_class {
        key = { hdr.ipv6.trafficClass & 0xF0: exact @name("class_high"); }
        actions = { masked; NoAction; }
        default_action = NoAction();
    }
    table by_flow {
        key = { hdr.ipv6.flowLabel[19:12]: exact @name("flow_top"); }
        actions = { sliced; NoAction; }
        default_action = NoAction();
    }
    table chooser {
        key = { hdr.ipv6.nextHdr: exact; }
        actions = { first; second; NoAction; }
        default_action = NoAction();
    }
    apply {
        hdr.res.setValid();
        hdr.res.route = 0;
        hdr.res.acl = 0;
        hdr.res.host = 0;
        hdr.res.masked = 0;
        hdr.res.sliced = 0;
        routes.apply();
        acls.apply();
        if (hosts.apply().miss) {
            hdr.res.host = 0xEE;
        }
        by_class.apply();
        by_flow.apply();
        switch (chooser.apply().action_run) {
            first: { hdr.res.ran = 1; }
            second: { hdr.res.ran = 2; }
            default: { hdr.res.ran = 0xDD; }
        }
        std.egress_spec = 1;
    }
}

control KeyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply { }
}

control KeyCompute(inout headers_t hdr, inout meta_t meta) { apply { } }

control KeyDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.eth);
        pkt.emit(hdr.res);
        pkt.emit(hdr.ipv6);
    }
}

V1Switch(KeyParser(), KeyVerify(), KeyIngress(), KeyEgress(), KeyCompute(), KeyDeparser()) main;
