/* Table features: every v1model match kind, action profiles and selectors, direct counters
 * and meters, const default actions, entries with priorities, const entries, idle timeouts,
 * @defaultonly/@name/@hidden/@brief/@description annotations, and switch on action_run. */
#include <core.p4>
#include <v1model.p4>

header ethernet_t {
    bit<48> dst;
    bit<48> src;
    bit<16> ether_type;
}

header ipv4_t {
    bit<8>  ttl;
    bit<8>  protocol;
    bit<16> checksum;
    bit<32> src;
    bit<32> dst;
}

struct headers_t {
    ethernet_t ethernet;
    ipv4_t     ipv4;
}

struct metadata_t {
    bit<32> nexthop;
    bit<8>  color;
}

parser TableParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                   inout standard_metadata_t std_meta) {
    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            0x0800: parse_ipv4;
            default: accept;
        }
    }
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        transition accept;
    }
}

control TableVerifyChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control TableIngress(inout headers_t hdr, inout metadata_t meta,
                     inout standard_metadata_t std_meta) {
    direct_counter(CounterType.packets_and_bytes) acl_counter;
    direct_meter<bit<8>>(MeterType.bytes) acl_meter;
    action_profile(128) nexthop_profile;
    action_selector(HashAlgorithm.crc16, 64, 14) ecmp_selector;

    action drop() {
        mark_to_drop(std_meta);
    }

    action set_port(bit<9> port) {
        std_meta.egress_spec = port;
    }

    @name("set_nexthop_id")
    action set_nexthop(bit<32> id) {
        meta.nexthop = id;
    }

    action acl_permit() {
        acl_counter.count();
        acl_meter.read(meta.color);
    }

    action acl_deny() {
        acl_counter.count();
        acl_meter.read(meta.color);
        mark_to_drop(std_meta);
    }

    @brief("Access control list")
    @description("Matches on Ethernet type, IPv4 source and protocol, and ingress port")
    table acl {
        key = {
            hdr.ethernet.ether_type : ternary @name("ether_type");
            hdr.ipv4.src            : ternary;
            hdr.ipv4.protocol       : range;
            std_meta.ingress_port   : optional;
            hdr.ipv4.isValid()      : exact @name("ipv4_valid");
        }
        actions = {
            acl_permit;
            acl_deny;
        }
        const default_action = acl_permit();
        counters = acl_counter;
        meters = acl_meter;
        size = 256;
    }

    table routes {
        key = {
            hdr.ipv4.dst : lpm;
        }
        actions = {
            set_nexthop;
            drop;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        support_timeout = true;
        size = 1024;
    }

    table nexthops {
        key = {
            meta.nexthop : exact;
        }
        actions = {
            set_port;
            drop;
        }
        implementation = nexthop_profile;
        size = 64;
    }

    table ecmp {
        key = {
            meta.nexthop : exact;
            hdr.ipv4.src : selector;
            hdr.ipv4.dst : selector;
        }
        actions = {
            set_port;
        }
        implementation = ecmp_selector;
    }

    table port_policy {
        key = {
            std_meta.ingress_port : exact;
            hdr.ethernet.dst      : ternary;
        }
        actions = {
            set_port;
            drop;
            NoAction;
        }
        entries = {
            priority=30: (1, 0x010000000000 &&& 0x010000000000): set_port(2);
            priority=20: (2, _): drop();
            priority=10: (3, _): NoAction();
        }
        default_action = NoAction();
    }

    @hidden
    table ttl_check {
        key = {
            hdr.ipv4.ttl : exact;
        }
        actions = {
            drop;
            NoAction;
        }
        const entries = {
            0 : drop();
            1 : drop();
        }
        const default_action = NoAction();
    }

    apply {
        acl.apply();
        if (hdr.ipv4.isValid()) {
            ttl_check.apply();
        }
        switch (routes.apply().action_run) {
            set_nexthop: {
                if (!nexthops.apply().hit) {
                    ecmp.apply();
                }
            }
            drop: {
            }
            default: {
                port_policy.apply();
            }
        }
    }
}

control TableEgress(inout headers_t hdr, inout metadata_t meta,
                    inout standard_metadata_t std_meta) {
    apply { }
}

control TableComputeChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control TableDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.ipv4);
    }
}

V1Switch(TableParser(), TableVerifyChecksum(), TableIngress(), TableEgress(),
         TableComputeChecksum(), TableDeparser()) main;
