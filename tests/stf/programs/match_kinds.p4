// Tables of every v1model match kind (docs/simple_switch.md "Table match kinds supported"):
// exact, lpm (longest prefix wins), ternary (larger STF priority wins), range (const entries:
// the first entry listed wins, as p4c orders them), optional, and lpm + range + ternary in one
// table where priority beats prefix length, as BMv2 orders a ternary table. Default actions:
// declared with an argument and changed by setdefault, const, and none (NoAction).
// Each table writes one byte of a result header emitted after Ethernet.
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
header flow_t { bit<32> addr; bit<16> port; bit<8> proto; bit<8> flags; }
header result_t { bit<8> e; bit<8> l; bit<8> t; bit<8> r; bit<8> o; bit<8> m; }

struct headers_t { ethernet_t eth; result_t res; flow_t flow; }
struct meta_t { }

parser MatchParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                   inout standard_metadata_t std) {
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.flow);
        transition accept;
    }
}

control MatchVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control MatchIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    action set_e(bit<8> v) { hdr.res.e = v; }
    action set_l(bit<8> v) { hdr.res.l = v; }
    action set_t(bit<8> v) { hdr.res.t = v; }
    action set_r(bit<8> v) { hdr.res.r = v; }
    action set_o(bit<8> v) { hdr.res.o = v; }
    action set_m(bit<8> v) { hdr.res.m = v; }

    table t_exact {
        key = { hdr.eth.dst: exact; }
        actions = { set_e; }
        default_action = set_e(0xE0);
    }
    table t_lpm {
        key = { hdr.flow.addr: lpm; }
        actions = { set_l; NoAction; }
    }
    table t_ternary {
        key = { hdr.flow.flags: ternary; }
        actions = { set_t; }
    }
    table t_range {
        key = { hdr.flow.port: range; }
        actions = { set_r; }
        const default_action = set_r(0xF0);
        const entries = {
            0 .. 99 : set_r(1);
            50 .. 150 : set_r(2);
            1000 : set_r(3);
        }
    }
    table t_optional {
        key = { hdr.flow.proto: optional; hdr.flow.port: exact; }
        actions = { set_o; NoAction; }
        default_action = NoAction();
    }
    table t_mixed {
        key = { hdr.flow.addr: lpm; hdr.flow.port: range; hdr.flow.flags: ternary; }
        actions = { set_m; NoAction; }
        default_action = NoAction();
    }
    apply {
        hdr.res.setValid();
        hdr.res.e = 0;
        hdr.res.l = 0;
        hdr.res.t = 0;
        hdr.res.r = 0;
        hdr.res.o = 0;
        hdr.res.m = 0;
        t_exact.apply();
        t_lpm.apply();
        t_ternary.apply();
        t_range.apply();
        t_optional.apply();
        t_mixed.apply();
        std.egress_spec = 1;
    }
}

control MatchEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply { }
}

control MatchCompute(inout headers_t hdr, inout meta_t meta) { apply { } }

control MatchDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.eth);
        pkt.emit(hdr.res);
        pkt.emit(hdr.flow);
    }
}

V1Switch(MatchParser(), MatchVerify(), MatchIngress(), MatchEgress(), MatchCompute(),
         MatchDeparser()) main;
