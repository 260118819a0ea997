// Structured annotations (P4-16 spec 18.1.3) on the objects P4Info describes, next to
// unstructured ones, with values computed from constants.
#include <core.p4>
#include <v1model.p4>

#define OWNER "netops"

const int STAGE = 4;
const bool IS_FAST = true;

header eth_t { bit<48> dst; bit<48> src; bit<16> kind; }
struct headers_t { eth_t eth; }
struct meta_t { }

parser Prs(packet_in pkt, out headers_t hdr, inout meta_t meta,
           inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); transition accept; }
}

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    const int LOCAL_SLOT = 7;

    @Owner[team=OWNER, stage=STAGE * 2, fast=IS_FAST]
    @ui_label("Set the port")
    action set_port(@Units["port", STAGE] bit<9> port) { sm.egress_spec = port; }

    @Tags["drop", "sink" ++ "_" ++ "hole", 1 == 2,]
    action drop() { mark_to_drop(sm); }

    @Empty[]
    @Limits[low=-5, high=0x7fffffffffffffff, slot=LOCAL_SLOT]
    counter(8, CounterType.packets) hits;

    @Layout[stage=STAGE]
    table forward {
        key = { hdr.eth.dst : exact @Field["mac"]; }
        actions = {
            @Choice[1] set_port;
            @Choice[2] drop;
        }
        default_action = drop();
    }

    apply {
        hits.count(0);
        forward.apply();
    }
}

control Egr(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { }
}
control Chk(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.eth); } }

@Build[version="1.2", count=3]
@pkginfo(name="structured.p4", organization="p4nic")
V1Switch(Prs(), Chk(), Ing(), Egr(), Chk(), Dep()) main;
