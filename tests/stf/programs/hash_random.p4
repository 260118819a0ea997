// The hash and random externs as BMv2 runs them (docs/simple_switch.md "BMv2 hash
// implementation notes", "BMv2 random implementation notes"; targets/simple_switch/
// primitives.cpp): result = base + H % max (max 0: base), with run-time base and max, for each
// of v1model's HashAlgorithm values BMv2 computes; field lists packed from the most
// significant bit with the last byte padded on the right; random within [lo, hi].
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
// input: data, a run-time base and max
header input_t { bit<32> data; bit<16> base; bit<16> max; }
header hashes_t {
    bit<16> crc16; bit<32> crc32; bit<16> csum16; bit<16> xor16; bit<32> identity;
    bit<16> crc16_custom; bit<32> crc32_custom; bit<16> odd_bits; bit<16> bounded;
    bit<16> runtime; bit<16> max_zero;
}
header randoms_t { bit<8> nibble; bit<8> fixed; bit<16> runtime; }

struct headers_t { ethernet_t eth; input_t input; hashes_t hashes; randoms_t randoms; }
struct meta_t { }

parser HashParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                  inout standard_metadata_t std) {
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.input);
        transition accept;
    }
}

control HashVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control HashIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply {
        hdr.hashes.setValid();
        hash(hdr.hashes.crc16, HashAlgorithm.crc16, 16w0, { hdr.input.data }, 32w65536);
        hash(hdr.hashes.crc32, HashAlgorithm.crc32, 32w0, { hdr.input.data }, 64w0x100000000);
        hash(hdr.hashes.csum16, HashAlgorithm.csum16, 16w0, { hdr.input.data }, 32w65536);
        hash(hdr.hashes.xor16, HashAlgorithm.xor16, 16w0, { hdr.input.data }, 32w65536);
        hash(hdr.hashes.identity, HashAlgorithm.identity, 32w0, { hdr.input.data },
             64w0x100000000);
        // the custom CRCs start with BMv2's defaults: the parameters of crc16 and crc32
        hash(hdr.hashes.crc16_custom, HashAlgorithm.crc16_custom, 16w0, { hdr.input.data },
             32w65536);
        hash(hdr.hashes.crc32_custom, HashAlgorithm.crc32_custom, 32w0, { hdr.input.data },
             64w0x100000000);
        // 36 bits: hashed as 5 bytes, the last one padded with zeros on the right
        hash(hdr.hashes.odd_bits, HashAlgorithm.crc16, 16w0, { hdr.input.data, 4w0xA },
             32w65536);
        hash(hdr.hashes.bounded, HashAlgorithm.crc16, 16w100, { hdr.input.data }, 16w7);
        hash(hdr.hashes.runtime, HashAlgorithm.crc16, hdr.input.base, { hdr.input.data },
             hdr.input.max);
        hash(hdr.hashes.max_zero, HashAlgorithm.crc16, 16w9, { hdr.input.data }, 16w0);

        hdr.randoms.setValid();
        random(hdr.randoms.nibble, 8w0, 8w15);
        random(hdr.randoms.fixed, 8w0x42, 8w0x42);
        random(hdr.randoms.runtime, hdr.input.base, hdr.input.base);
        std.egress_spec = 1;
    }
}

control HashEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply { }
}

control HashCompute(inout headers_t hdr, inout meta_t meta) { apply { } }

control HashDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.eth);
        pkt.emit(hdr.input);
        pkt.emit(hdr.hashes);
        pkt.emit(hdr.randoms);
    }
}

V1Switch(HashParser(), HashVerify(), HashIngress(), HashEgress(), HashCompute(),
         HashDeparser()) main;
