/* Expressions and statements: widths and signedness, casts, slices, concatenation,
 * saturating arithmetic, shifts, ?:, enums (plain and serializable), typedef and type,
 * struct and list expressions, tuples, functions, sub-controls with constructor parameters,
 * switch on values, exit and return, and invalid headers. */
#include <core.p4>
#include <v1model.p4>

typedef bit<32> word_t;
type bit<16> tag_t;

enum bit<8> Proto {
    TCP = 6,
    UDP = 17
}

enum Direction {
    INBOUND,
    OUTBOUND
}

header data_t {
    bit<8>  a;
    bit<8>  b;
    int<8>  s;
    bit<16> w;
    word_t  x;
    word_t  y;
}

header extra_t {
    bit<8> value;
}

struct pair_t {
    bit<8> first;
    bit<8> second;
}

struct headers_t {
    data_t  data;
    extra_t extra;
}

struct metadata_t {
    pair_t    pair;
    bit<16>   tmp;
    Direction dir;
    tag_t     tag;
}

const bit<8> SCALE = 2;

bit<8> max8(in bit<8> a, in bit<8> b) {
    return a > b ? a : b;
}

/* Adds a constant given at instantiation. */
control Adder(inout word_t acc)(word_t step) {
    apply {
        acc = acc + step;
    }
}

parser ExprParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t std_meta) {
    state start {
        pkt.extract(hdr.data);
        transition select(hdr.data.a) {
            (bit<8>)Proto.UDP: parse_extra;
            default: accept;
        }
    }
    state parse_extra {
        pkt.extract(hdr.extra);
        transition accept;
    }
}

control ExprVerifyChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control ExprIngress(inout headers_t hdr, inout metadata_t meta,
                    inout standard_metadata_t std_meta) {
    Adder(32w5) add5;
    Adder(32w7) add7;

    action compute(bit<8> k) {
        hdr.data.a = hdr.data.a |+| k;
        hdr.data.b = hdr.data.b |-| k;
        hdr.data.w = hdr.data.a ++ hdr.data.b;
        hdr.data.x = (bit<32>)hdr.data.w << 3;
        hdr.data.y = hdr.data.x >> 2;
        hdr.data.s = -hdr.data.s + 8s1;
        hdr.data.x[7:0] = hdr.data.y[15:8];
        hdr.data.y = ~hdr.data.y & 0xFF00_FF00 | 32w0b1010 ^ 32w0o17;
        meta.tmp = (bit<16>)hdr.data.x[31:16] + 16w0x10;
    }

    action maybe_return(bit<8> limit) {
        if (hdr.data.a > limit) {
            return;
        }
        hdr.data.a = hdr.data.a * SCALE + (SCALE * 3) / 2 % 4;
    }

    table classify {
        key = {
            hdr.data.a : exact;
        }
        actions = {
            compute;
            maybe_return;
        }
        default_action = compute(1);
    }

    apply {
        classify.apply();
        meta.pair = { hdr.data.a, hdr.data.b };
        meta.pair = { first = 8w1, second = meta.pair.first };
        tuple<bit<8>, bool> t = { 8w1, true };
        if (t[1]) {
            hdr.data.a = max8(hdr.data.a, meta.pair.second);
        }
        add5.apply(hdr.data.x);
        add7.apply(hdr.data.y);
        meta.dir = hdr.data.a == 0 ? Direction.INBOUND : Direction.OUTBOUND;
        switch (hdr.data.b) {
            0: {
                hdr.data.b = 1;
            }
            1:
            2: {
                hdr.data.b = 2;
            }
            default: {
                hdr.data.b = 3;
            }
        }
        if (hdr.data.a == (bit<8>)Proto.TCP) {
            hdr.data.w = 16w0xFFFF;
        }
        int<8> local_signed = -8s1;
        hdr.data.s = hdr.data.s |+| local_signed;
        meta.tag = (tag_t)(bit<16>)std_meta.ingress_port;
        std_meta.egress_spec = (bit<9>)(bit<16>)meta.tag;
        if (meta.dir == Direction.INBOUND && !(hdr.data.x > 10 || hdr.data.y <= 3)) {
            hdr.extra = (extra_t){#};
            exit;
        }
        bool valid = hdr.extra.isValid();
        if (!valid) {
            hdr.extra.setValid();
            hdr.extra.value = (bit<8>)(hdr.data.x & 0xFF);
        }
    }
}

control ExprEgress(inout headers_t hdr, inout metadata_t meta,
                   inout standard_metadata_t std_meta) {
    apply { }
}

control ExprComputeChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control ExprDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.data);
        pkt.emit(hdr.extra);
    }
}

V1Switch(ExprParser(), ExprVerifyChecksum(), ExprIngress(), ExprEgress(),
         ExprComputeChecksum(), ExprDeparser()) main;
