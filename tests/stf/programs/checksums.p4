// Checksums as BMv2 runs them (docs/simple_switch.md "Restrictions on code in the
// VerifyChecksum/ComputeChecksum control", src/bm_sim/calculations.cpp): verify_checksum sets
// standard_metadata.checksum_error (verify_checksum_with_payload too), update_checksum and
// update_checksum_with_payload rewrite
// fields after egress, with csum16 and each of BMv2's other algorithms v1model names.
// Ingress copies checksum_error into the last byte of the Ethernet source address.
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
header ipv4_t {
    bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> totalLen;
    bit<16> identification; bit<3> flags; bit<13> fragOffset;
    bit<8> ttl; bit<8> protocol; bit<16> hdrChecksum;
    bit<32> srcAddr; bit<32> dstAddr;
}
header udp_t { bit<16> srcPort; bit<16> dstPort; bit<16> len; bit<16> checksum; }
// `data` and the results of four algorithms over it
header sums_t { bit<32> data; bit<16> crc16; bit<32> crc32; bit<16> xor16; bit<32> identity; }

struct headers_t { ethernet_t eth; ipv4_t ipv4; udp_t udp; sums_t sums; }
struct meta_t { }

parser SumParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                 inout standard_metadata_t std) {
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.etherType) {
            0x0800: ipv4;
            0x88B5: sums;
            default: accept;
        }
    }
    state ipv4 {
        pkt.extract(hdr.ipv4);
        transition select(hdr.ipv4.protocol) {
            17: udp;
            default: accept;
        }
    }
    state udp { pkt.extract(hdr.udp); transition accept; }
    state sums { pkt.extract(hdr.sums); transition accept; }
}

control SumVerify(inout headers_t hdr, inout meta_t meta) {
    apply {
        verify_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.totalLen,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.fragOffset, hdr.ipv4.ttl,
              hdr.ipv4.protocol, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr },
            hdr.ipv4.hdrChecksum, HashAlgorithm.csum16);
        verify_checksum_with_payload(hdr.udp.isValid(),
            { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, 8w0, hdr.ipv4.protocol, hdr.udp.len,
              hdr.udp.srcPort, hdr.udp.dstPort, hdr.udp.len },
            hdr.udp.checksum, HashAlgorithm.csum16);
        verify_checksum(hdr.sums.isValid(), { hdr.sums.data }, hdr.sums.crc16, HashAlgorithm.crc16);
    }
}

control SumIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply {
        hdr.eth.src[7:0] = (bit<8>)std.checksum_error;
        if (hdr.ipv4.isValid()) {
            hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
        }
        if (hdr.sums.isValid()) {
            hdr.sums.data = hdr.sums.data + 1;
        }
        std.egress_spec = 1;
    }
}

control SumEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply { }
}

control SumCompute(inout headers_t hdr, inout meta_t meta) {
    apply {
        update_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.totalLen,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.fragOffset, hdr.ipv4.ttl,
              hdr.ipv4.protocol, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr },
            hdr.ipv4.hdrChecksum, HashAlgorithm.csum16);
        // UDP: pseudo-header, UDP header and the payload behind the parsed headers
        update_checksum_with_payload(hdr.udp.isValid(),
            { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, 8w0, hdr.ipv4.protocol, hdr.udp.len,
              hdr.udp.srcPort, hdr.udp.dstPort, hdr.udp.len },
            hdr.udp.checksum, HashAlgorithm.csum16);
        update_checksum(hdr.sums.isValid(), { hdr.sums.data }, hdr.sums.crc16, HashAlgorithm.crc16);
        update_checksum(hdr.sums.isValid(), { hdr.sums.data }, hdr.sums.crc32, HashAlgorithm.crc32);
        update_checksum(hdr.sums.isValid(), { hdr.sums.data }, hdr.sums.xor16, HashAlgorithm.xor16);
        update_checksum(hdr.sums.isValid(), { hdr.sums.data }, hdr.sums.identity,
                        HashAlgorithm.identity);
    }
}

control SumDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.eth);
        pkt.emit(hdr.ipv4);
        pkt.emit(hdr.udp);
        pkt.emit(hdr.sums);
    }
}

V1Switch(SumParser(), SumVerify(), SumIngress(), SumEgress(), SumCompute(), SumDeparser()) main;
