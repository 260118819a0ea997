// What an STF file cannot set up, for tests/stf/test_beyond_stf.py to drive over P4Runtime
// and the nanomsg packet socket of a `p4nic switch` process: a table implemented by an action
// selector (identity hash of the source MAC, so the member a flow gets is predictable: BMv2
// picks member hash % group size), a table implemented by an action profile, and a parser
// value set.
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
header tag_t { bit<8> v; }
struct headers_t { ethernet_t eth; tag_t tag; }
struct meta_t { }

parser BeyondParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                    inout standard_metadata_t std) {
    value_set<bit<16>>(4) tag_types;
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.etherType) {
            tag_types: tagged;
            default: accept;
        }
    }
    state tagged { pkt.extract(hdr.tag); transition accept; }
}

control BeyondVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control BeyondIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    action_selector(HashAlgorithm.identity, 32w16, 32w16) spread_selector;
    action_profile(32w8) pinned_profile;
    action to_port(bit<9> port) { std.egress_spec = port; }
    table spread {
        key = { hdr.eth.dst: exact; hdr.eth.src: selector; }
        actions = { to_port; }
        implementation = spread_selector;
    }
    table pinned {
        key = { hdr.eth.dst: exact; }
        actions = { to_port; }
        implementation = pinned_profile;
    }
    apply {
        std.egress_spec = 1;
        spread.apply();
        pinned.apply();
        if (hdr.tag.isValid()) {
            hdr.tag.v = hdr.tag.v + 1;
        }
    }
}

control BeyondEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply { }
}

control BeyondCompute(inout headers_t hdr, inout meta_t meta) { apply { } }

control BeyondDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.eth);
        pkt.emit(hdr.tag);
    }
}

V1Switch(BeyondParser(), BeyondVerify(), BeyondIngress(), BeyondEgress(), BeyondCompute(),
         BeyondDeparser()) main;
