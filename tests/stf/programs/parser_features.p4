// Parser semantics of v1model on BMv2 (docs/simple_switch.md "Restrictions on parser code",
// src/bm_sim/parser.cpp): extract, varbit extract with a run-time length, lookahead, advance,
// verify, select on exact values, masks and ranges, header stacks, header unions, extern calls
// in a state (JSON parser op `primitive`: a register and log_msg), and the parser errors that
// reach ingress in standard_metadata.parser_error. Ingress reports what the
// parser saw in an `info` header emitted right after Ethernet; every packet leaves on port 1.
#include <core.p4>
#include <v1model.p4>

error { BadVersion }

header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
header info_t { bit<8> err; bit<8> peek; bit<8> path; bit<8> depth; }
header label_t { bit<7> value; bit<1> bos; }
header option_t { bit<8> len; varbit<64> data; }
header short_t { bit<16> v; }
header long_t { bit<32> v; }
header_union word_t { short_t s; long_t l; }
header version_t { bit<8> version; }

struct headers_t {
    ethernet_t eth;
    info_t info;
    label_t[3] labels;
    option_t opt;
    word_t word;
    version_t ver;
}
struct meta_t { bit<8> peek; }

parser FeatureParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                     inout standard_metadata_t std) {
    register<bit<8>>(1) visits;
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.etherType) {
            0x8847: labels;
            0x9000 &&& 0xFF00: option;
            0xA000 .. 0xA0FF: word;
            0xB000: versioned;
            0xC000: peek;
            0xD000: count_visits;
            default: accept;
        }
    }
    state labels {
        pkt.extract(hdr.labels.next);
        transition select(hdr.labels.last.bos) {
            1: accept;
            default: labels;
        }
    }
    state option {
        // the length byte is read ahead, then extracted again as part of the header
        bit<8> len = pkt.lookahead<bit<8>>();
        pkt.extract(hdr.opt, (bit<32>)len * 8);
        transition accept;
    }
    state word {
        transition select(hdr.eth.etherType[0:0]) {
            0: word_short;
            1: word_long;
        }
    }
    state word_short { pkt.extract(hdr.word.s); transition accept; }
    state word_long { pkt.extract(hdr.word.l); transition accept; }
    state versioned {
        pkt.extract(hdr.ver);
        verify(hdr.ver.version == 4, error.BadVersion);
        transition accept;
    }
    state count_visits {
        visits.read(meta.peek, 0);
        visits.write(0, meta.peek + 1);
        log_msg("parser visit {}", { meta.peek });
        transition accept;
    }
    state peek {
        meta.peek = pkt.lookahead<bit<8>>();
        pkt.advance(16);
        // no default case: see the .stf for what BMv2 does with an unmatched key
        transition select(meta.peek) {
            0x00 .. 0x7F: accept;
        }
    }
}

control FeatureVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control FeatureIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply {
        hdr.info.setValid();
        hdr.info.peek = meta.peek;
        if (std.parser_error == error.NoError) {
            hdr.info.err = 0;
        } else if (std.parser_error == error.PacketTooShort) {
            hdr.info.err = 1;
        } else if (std.parser_error == error.NoMatch) {
            hdr.info.err = 2;
        } else if (std.parser_error == error.StackOutOfBounds) {
            hdr.info.err = 3;
        } else if (std.parser_error == error.HeaderTooShort) {
            hdr.info.err = 4;
        } else if (std.parser_error == error.BadVersion) {
            hdr.info.err = 9;
        } else {
            hdr.info.err = 0xFF;
        }
        hdr.info.path = 0;
        if (hdr.word.s.isValid()) {
            hdr.info.path = 1;
        } else if (hdr.word.l.isValid()) {
            hdr.info.path = 2;
        } else if (hdr.opt.isValid()) {
            hdr.info.path = 3;
        } else if (hdr.ver.isValid()) {
            hdr.info.path = 4;
        }
        hdr.info.depth = 0;
        if (hdr.labels[0].isValid()) { hdr.info.depth = hdr.info.depth + 1; }
        if (hdr.labels[1].isValid()) { hdr.info.depth = hdr.info.depth + 1; }
        if (hdr.labels[2].isValid()) { hdr.info.depth = hdr.info.depth + 1; }
        std.egress_spec = 1;
    }
}

control FeatureEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply { }
}

control FeatureCompute(inout headers_t hdr, inout meta_t meta) { apply { } }

control FeatureDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.eth);
        pkt.emit(hdr.info);
        pkt.emit(hdr.labels);
        pkt.emit(hdr.opt);
        pkt.emit(hdr.word);
        pkt.emit(hdr.ver);
    }
}

V1Switch(FeatureParser(), FeatureVerify(), FeatureIngress(), FeatureEgress(), FeatureCompute(),
         FeatureDeparser()) main;
