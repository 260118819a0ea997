// What an STF file cannot set up, for tests/stf/test_beyond_stf.py to drive over P4Runtime
// and the nanomsg packet socket of a `p4nic switch` process: a table implemented by an action
// selector (identity hash of the source MAC, so the member a flow gets is predictable: BMv2
// picks member hash % group size), a table implemented by an action profile, a direct meter
// configured in a table entry (its colour lands in the source MAC's last byte), and a parser
// value set.
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
header tag_t { bit<8> v; }
struct headers_t { ethernet_t eth; tag_t tag; }
struct meta_t { bit<2> colour; }

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
    direct_meter<bit<2>>(MeterType.packets) colours;
    action to_port(bit<9> port) { std.egress_spec = port; }
    action mark() { colours.read(meta.colour); }
    table metered {
        key = { hdr.eth.etherType: exact; }
        actions = { mark; NoAction; }
        default_action = NoAction();
        meters = colours;
    }
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
        if (metered.apply().hit) {
            hdr.eth.src[7:0] = (bit<8>)meta.colour;
        }
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
