// BMv2's core primitives (docs/JSON_format.md "primitives"): assign (arithmetic wraps at the
// field width), assign_header, assign_header_stack, assign_union, assign_union_stack,
// assign_VL, add_header/remove_header (setValid/setInvalid), push and pop, _jump and
// _jump_if_zero (an `if` inside an action), exit, assert, assume and log_msg. A failing
// assert aborts BMv2; the NIC drops that packet instead (p4nic/nic/codegen.py). The
// EtherType's high byte picks what the parser extracts, the whole EtherType what ingress does.
// Egress sets the source MAC's last byte to 0xEE: it runs even after ingress exits.
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
header pair_t { bit<16> x; bit<16> y; }
header byte_t { bit<8> v; }
header_union either_t { pair_t pair; byte_t b; }
header blob_t { varbit<32> data; }

struct headers_t {
    ethernet_t eth;
    pair_t a;
    pair_t b;
    byte_t[3] st;
    byte_t[3] st2;
    either_t u;
    either_t u2;
    either_t[2] us;
    either_t[2] us2;
    blob_t v;
    blob_t v2;
}
struct meta_t { }

parser PrimParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                  inout standard_metadata_t std) {
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.etherType[15:8]) {
            1: pair;
            2: stack;
            3: one_union;
            4: union_stack;
            5: blob;
            default: accept;
        }
    }
    state pair { pkt.extract(hdr.a); transition accept; }
    state stack {
        pkt.extract(hdr.st.next);
        pkt.extract(hdr.st.next);
        pkt.extract(hdr.st.next);
        transition accept;
    }
    state one_union { pkt.extract(hdr.u.pair); transition accept; }
    state union_stack {
        pkt.extract(hdr.us[0].b);
        pkt.extract(hdr.us[1].pair);
        transition accept;
    }
    state blob { pkt.extract(hdr.v, 16); transition accept; }
}

control PrimVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control PrimIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    action arith() {
        assert(hdr.a.isValid());
        assume(hdr.eth.isValid());
        hdr.a.x = hdr.a.x + hdr.a.y;
        hdr.a.y = hdr.a.y - 1;
        log_msg("arith: x={} y={}", {hdr.a.x, hdr.a.y});
    }
    action copy_header() {
        hdr.b = hdr.a;
        hdr.b.x = hdr.b.x + 1;
    }
    action add_remove() {
        hdr.b.setValid();
        hdr.b.x = 0xB0B0;
        hdr.b.y = 0;
        hdr.a.setInvalid();
    }
    action branch(bit<16> p) {
        if (hdr.a.x == p) {
            hdr.a.y = 1;
        } else {
            hdr.a.y = 2;
        }
    }
    action stop() {
        hdr.a.x = 0xDEAD;
        exit;
    }
    action check_b() { assert(hdr.b.isValid()); }
    action push() {
        hdr.st.push_front(1);
        hdr.st[0].setValid();
        hdr.st[0].v = 0xEE;
    }
    action pop() { hdr.st.pop_front(1); }
    action copy_stack() {
        hdr.st2 = hdr.st;
        hdr.st2[2].v = 0x33;
    }
    action copy_union() { hdr.u2 = hdr.u; }
    action switch_member() {
        hdr.u.b.setValid();
        hdr.u.b.v = 0x77;
    }
    action copy_union_stack() { hdr.us2 = hdr.us; }
    action copy_blob() {
        hdr.v2.setValid();
        hdr.v2.data = hdr.v.data;
    }
    apply {
        std.egress_spec = 1;
        bit<16> op = hdr.eth.etherType;
        if (op == 0x0101) {
            arith();
        } else if (op == 0x0102) {
            copy_header();
        } else if (op == 0x0103) {
            add_remove();
        } else if (op == 0x0104) {
            branch(0x1234);
        } else if (op == 0x0105) {
            stop();
            hdr.a.y = 0xBEEF;
        } else if (op == 0x0106) {
            check_b();
        } else if (op == 0x0201) {
            push();
        } else if (op == 0x0202) {
            pop();
        } else if (op == 0x0203) {
            copy_stack();
        } else if (op == 0x0301) {
            copy_union();
        } else if (op == 0x0302) {
            switch_member();
        } else if (op == 0x0401) {
            copy_union_stack();
        } else if (op == 0x0501) {
            copy_blob();
        }
    }
}

control PrimEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply { hdr.eth.src[7:0] = 0xEE; }
}

control PrimCompute(inout headers_t hdr, inout meta_t meta) { apply { } }

control PrimDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.eth);
        pkt.emit(hdr.a);
        pkt.emit(hdr.b);
        pkt.emit(hdr.st);
        pkt.emit(hdr.st2);
        pkt.emit(hdr.u);
        pkt.emit(hdr.u2);
        pkt.emit(hdr.us);
        pkt.emit(hdr.us2);
        pkt.emit(hdr.v);
        pkt.emit(hdr.v2);
    }
}

V1Switch(PrimParser(), PrimVerify(), PrimIngress(), PrimEgress(), PrimCompute(), PrimDeparser()) main;
