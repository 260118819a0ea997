/* v1model externs: counters, meters, registers, hash, random, digest, checksums with and
 * without payload, clone/resubmit/recirculate preserving field lists, truncate, log_msg,
 * assert/assume, and controller packet-in/packet-out headers. */
#include <core.p4>
#include <v1model.p4>

const bit<9> CPU_PORT = 255;

@controller_header("packet_in")
header packet_in_t {
    bit<9> ingress_port;
    bit<7> pad;
}

@controller_header("packet_out")
header packet_out_t {
    bit<9> egress_port;
    bit<7> pad;
}

header ethernet_t {
    bit<48> dst;
    bit<48> src;
    bit<16> ether_type;
}

header ipv4_t {
    bit<4>  version;
    bit<4>  ihl;
    bit<8>  tos;
    bit<16> total_len;
    bit<16> id;
    bit<3>  flags;
    bit<13> frag;
    bit<8>  ttl;
    bit<8>  protocol;
    bit<16> checksum;
    bit<32> src;
    bit<32> dst;
}

header udp_t {
    bit<16> src_port;
    bit<16> dst_port;
    bit<16> len;
    bit<16> checksum;
}

struct headers_t {
    packet_in_t  packet_in;
    packet_out_t packet_out;
    ethernet_t   ethernet;
    ipv4_t       ipv4;
    udp_t        udp;
}

struct learn_t {
    bit<48> src;
    bit<9>  port;
}

struct metadata_t {
    @field_list(1)
    bit<9>  orig_port;
    @field_list(1, 2)
    bit<32> flow_id;
    bit<16> hash_value;
    bit<32> rand;
    bit<32> last_seen;
    bit<2>  color;
}

parser ExternParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                    inout standard_metadata_t std_meta) {
    state start {
        meta.orig_port = std_meta.ingress_port;
        transition select(std_meta.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: parse_ethernet;
        }
    }
    state parse_packet_out {
        pkt.extract(hdr.packet_out);
        transition parse_ethernet;
    }
    state parse_ethernet {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            0x0800: parse_ipv4;
            default: accept;
        }
    }
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        transition select(hdr.ipv4.protocol) {
            17: parse_udp;
            default: accept;
        }
    }
    state parse_udp {
        pkt.extract(hdr.udp);
        transition accept;
    }
}

control ExternVerifyChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply {
        verify_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.tos, hdr.ipv4.total_len, hdr.ipv4.id,
              hdr.ipv4.flags, hdr.ipv4.frag, hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.src,
              hdr.ipv4.dst },
            hdr.ipv4.checksum, HashAlgorithm.csum16);
        verify_checksum_with_payload(hdr.udp.isValid(),
            { hdr.ipv4.src, hdr.ipv4.dst, 8w0, hdr.ipv4.protocol, hdr.udp.len,
              hdr.udp.src_port, hdr.udp.dst_port, hdr.udp.len },
            hdr.udp.checksum, HashAlgorithm.csum16);
    }
}

control ExternIngress(inout headers_t hdr, inout metadata_t meta,
                      inout standard_metadata_t std_meta) {
    counter(64, CounterType.packets) port_counter;
    meter(64, MeterType.packets) port_meter;
    register<bit<32>>(64) last_seen;

    action to_cpu() {
        std_meta.egress_spec = CPU_PORT;
        hdr.packet_in.setValid();
        hdr.packet_in.ingress_port = std_meta.ingress_port;
        hdr.packet_in.pad = 0;
    }

    action learn() {
        digest<learn_t>(1, { hdr.ethernet.src, std_meta.ingress_port });
    }

    table smac {
        key = {
            hdr.ethernet.src : exact;
        }
        actions = {
            learn;
            NoAction;
        }
        default_action = learn();
    }

    apply {
        if (hdr.packet_out.isValid()) {
            std_meta.egress_spec = hdr.packet_out.egress_port;
            hdr.packet_out.setInvalid();
            exit;
        }
        port_counter.count((bit<32>)std_meta.ingress_port);
        port_meter.execute_meter((bit<32>)std_meta.ingress_port, meta.color);
        hash(meta.hash_value, HashAlgorithm.crc16, 16w0,
             { hdr.ethernet.src, hdr.ethernet.dst }, 32w65536);
        random(meta.rand, 32w0, 32w1000);
        meta.flow_id = (bit<32>)meta.hash_value;
        last_seen.read(meta.last_seen, (bit<32>)std_meta.ingress_port);
        last_seen.write((bit<32>)std_meta.ingress_port, meta.last_seen + 1);
        smac.apply();
        log_msg("packet from port {}", { std_meta.ingress_port });
        assert(std_meta.ingress_port != 511);
        assume(hdr.ethernet.isValid());
        if (meta.color == V1MODEL_METER_COLOR_RED) {
            mark_to_drop(std_meta);
        } else if (hdr.ethernet.dst == 0xFFFFFFFFFFFF) {
            std_meta.mcast_grp = 1;
        } else if (hdr.ethernet.ether_type == 0x88CC) {
            to_cpu();
        } else {
            std_meta.egress_spec = 1;
            clone_preserving_field_list(CloneType.I2E, 100, 1);
        }
        if (meta.rand == 7 && std_meta.instance_type == 0) {
            resubmit_preserving_field_list(1);
        }
    }
}

control ExternEgress(inout headers_t hdr, inout metadata_t meta,
                     inout standard_metadata_t std_meta) {
    apply {
        if (std_meta.instance_type == 1) {
            truncate(64);
        }
        if (meta.orig_port == 3 && std_meta.instance_type == 0) {
            recirculate_preserving_field_list(2);
        }
    }
}

control ExternComputeChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply {
        update_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.tos, hdr.ipv4.total_len, hdr.ipv4.id,
              hdr.ipv4.flags, hdr.ipv4.frag, hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.src,
              hdr.ipv4.dst },
            hdr.ipv4.checksum, HashAlgorithm.csum16);
        update_checksum_with_payload(hdr.udp.isValid(),
            { hdr.ipv4.src, hdr.ipv4.dst, 8w0, hdr.ipv4.protocol, hdr.udp.len,
              hdr.udp.src_port, hdr.udp.dst_port, hdr.udp.len },
            hdr.udp.checksum, HashAlgorithm.csum16);
    }
}

control ExternDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.packet_in);
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.ipv4);
        pkt.emit(hdr.udp);
    }
}

V1Switch(ExternParser(), ExternVerifyChecksum(), ExternIngress(), ExternEgress(),
         ExternComputeChecksum(), ExternDeparser()) main;
