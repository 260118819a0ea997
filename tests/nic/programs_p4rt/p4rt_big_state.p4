// A v1model program with a big register and a big table, for P4Runtime reads and writes of
// many entities (test_p4runtime_load.py): every packet writes its ingress port into cell 0 and
// goes out of port 2.
#include <core.p4>
#include <v1model.p4>

header ethernet_t {
    bit<48> dstAddr;
    bit<48> srcAddr;
    bit<16> etherType;
}

struct headers_t {
    ethernet_t ethernet;
}

struct metadata_t {
}

parser BigParser(packet_in packet, out headers_t hdr, inout metadata_t meta,
                 inout standard_metadata_t standard_metadata) {
    state start {
        packet.extract(hdr.ethernet);
        transition accept;
    }
}

control BigVerify(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control BigIngress(inout headers_t hdr, inout metadata_t meta,
                   inout standard_metadata_t standard_metadata) {
    register<bit<32>>(16384) cells;

    table flows {
        key = { hdr.ethernet.etherType: exact; }
        actions = { NoAction; }
        default_action = NoAction();
        size = 65536;
    }

    apply {
        cells.write(0, (bit<32>) standard_metadata.ingress_port);
        flows.apply();
        standard_metadata.egress_spec = 2;
    }
}

control BigEgress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t standard_metadata) {
    apply { }
}

control BigCompute(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control BigDeparser(packet_out packet, in headers_t hdr) {
    apply {
        packet.emit(hdr.ethernet);
    }
}

V1Switch(BigParser(), BigVerify(), BigIngress(), BigEgress(), BigCompute(), BigDeparser()) main;
