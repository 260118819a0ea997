/*
 * p4nic VNIC: the virtual NIC between a guest and the host's vswitch / PNIC.
 *
 * Ports: 0 faces the vswitch/PNIC; ports 1..N are the guest's RX queues
 * (queue q leaves on port q, and the guest transmits on them); PORT_CPU carries
 * packet-in/packet-out to the guest's agent and the host controller.
 *
 * The pipeline has fixed stages
 *     classify | filter | acl | services | qselect | encap
 * (filter and qselect run on RX only, encap on TX only). After every stage sits
 * a generic match-action slot table (slot_after_<stage>), and classification
 * gives each flow a profile and a bypass mask (US11736413B2):
 *   inject a stage   = entries in the slot between two stages, keyed on profile;
 *   bypass stages    = a classify entry setting their STAGE_* bits in bypass;
 *   append a stage   = entries in slot_after_encap;
 *   restore          = delete those entries.
 * docs/pipelines.md lists every table, action and reason code.
 */
#include <core.p4>
#include <v1model.p4>

#include "include/headers.p4"
#include "include/parser.p4"
#include "include/flow.p4"
#include "include/services.p4"
#include "include/steering.p4"
#include "include/marking.p4"
#include "include/encap.p4"

control VnicIngress(inout headers_t hdr,
                    inout metadata_t meta,
                    inout standard_metadata_t standard_metadata) {
    Normalize() normalize;
    StatefulServices() services;
    QueueSteering() steering;
    SenderMarking() marking;
    Encap() encap;

    direct_counter(CounterType.packets_and_bytes) filter_counter;
    direct_counter(CounterType.packets_and_bytes) acl_counter;
    direct_counter(CounterType.packets_and_bytes) slot_after_classify_counter;
    direct_counter(CounterType.packets_and_bytes) slot_after_filter_counter;
    direct_counter(CounterType.packets_and_bytes) slot_after_acl_counter;
    direct_counter(CounterType.packets_and_bytes) slot_after_services_counter;
    direct_counter(CounterType.packets_and_bytes) slot_after_qselect_counter;
    direct_counter(CounterType.packets_and_bytes) slot_after_encap_counter;

    /* ---- classify: profile and stage bypass mask for the flow ---- */
    action set_profile(bit<8> profile, bit<8> bypass) {
        meta.profile = profile;
        meta.bypass = meta.bypass | bypass;
    }

    table classify {
        key = {
            meta.dir: ternary;
            meta.in_port: ternary;
            hdr.eth.dstAddr: ternary;
            meta.ethertype: ternary;
            meta.ip_ver: ternary;
            meta.src_addr: ternary;
            meta.dst_addr: ternary;
            meta.proto: ternary;
            meta.sport: ternary;
            meta.dport: ternary;
        }
        actions = {
            set_profile;
            NoAction;
        }
        default_action = NoAction();
        size = 1024;
    }

    /* ---- filter (RX): prioritised filters choose the RX queue (US11277382B2) ---- */
    action filter_to_queue(bit<9> queue) {
        meta.out_port = queue;
        meta.queue_set = 1;
    }

    action filter_to_rss() {
        meta.use_rss = 1;
    }

    action filter_drop() {
        meta.verdict = VERDICT_DROP;
    }

    table filters {
        key = {
            hdr.eth.dstAddr: ternary;
            meta.vid: ternary;
            meta.ethertype: ternary;
            meta.ip_ver: ternary;
            meta.src_addr: ternary;
            meta.dst_addr: ternary;
            meta.proto: ternary;
            meta.sport: ternary;
            meta.dport: ternary;
        }
        actions = {
            filter_to_queue;
            filter_to_rss;
            filter_drop;
            NoAction;
        }
        default_action = NoAction();
        counters = filter_counter;
        size = 1024;
    }

    /* ---- acl ---- */
    action acl_allow() {
    }

    action acl_deny() {
        meta.verdict = VERDICT_DROP;
    }

    action acl_to_cpu() {
        meta.verdict = VERDICT_CPU;
        meta.reason = REASON_ACL;
    }

    table acl {
        key = {
            meta.dir: ternary;
            meta.in_port: ternary;
            hdr.eth.srcAddr: ternary;
            hdr.eth.dstAddr: ternary;
            meta.ethertype: ternary;
            meta.ip_ver: ternary;
            meta.src_addr: ternary;
            meta.dst_addr: ternary;
            meta.proto: ternary;
            meta.sport: ternary;
            meta.dport: ternary;
        }
        actions = {
            acl_allow;
            acl_deny;
            acl_to_cpu;
        }
        default_action = acl_allow();
        counters = acl_counter;
        size = 1024;
    }

    /* ---- qselect (RX): what an unfiltered packet gets ---- */
    action default_queue(bit<9> queue) {
        meta.out_port = queue;
        meta.queue_set = 1;
    }

    action default_rss() {
        meta.use_rss = 1;
    }

    table rx_default {
        actions = {
            default_queue;
            default_rss;
        }
        default_action = default_rss();
    }

    /* ---- generic stage slots: the same key and actions at every junction;
     * profile 0 is the unmodified pipeline ---- */
    action slot_drop() {
        meta.verdict = VERDICT_DROP;
    }

    action slot_to_cpu() {
        meta.verdict = VERDICT_CPU;
        meta.reason = REASON_SLOT;
    }

    action slot_set_queue(bit<9> queue) {
        meta.out_port = queue;
        meta.queue_set = 1;
    }

    action slot_set_bypass(bit<8> bypass) {
        meta.bypass = bypass;
    }

    action slot_mark_special() {
        meta.special = 1;
    }

    action slot_set_dscp(bit<6> dscp) {
        hdr.ipv4.diffserv = ((bit<8>) dscp << 2) | (hdr.ipv4.diffserv & 8w3);
        meta.l3_changed = 1;
    }

    action slot_set_dmac(bit<48> dmac) {
        hdr.eth.dstAddr = dmac;
    }

    table slot_after_classify {
        key = {
            meta.profile: ternary;
            meta.dir: ternary;
            meta.ip_ver: ternary;
            meta.src_addr: ternary;
            meta.dst_addr: ternary;
            meta.proto: ternary;
            meta.sport: ternary;
            meta.dport: ternary;
            meta.ct_state: ternary;
        }
        actions = {
            slot_drop;
            slot_to_cpu;
            slot_set_queue;
            slot_set_bypass;
            slot_mark_special;
            slot_set_dscp;
            slot_set_dmac;
            NoAction;
        }
        default_action = NoAction();
        size = 256;
        counters = slot_after_classify_counter;
    }

    table slot_after_filter {
        key = {
            meta.profile: ternary;
            meta.dir: ternary;
            meta.ip_ver: ternary;
            meta.src_addr: ternary;
            meta.dst_addr: ternary;
            meta.proto: ternary;
            meta.sport: ternary;
            meta.dport: ternary;
            meta.ct_state: ternary;
        }
        actions = {
            slot_drop;
            slot_to_cpu;
            slot_set_queue;
            slot_set_bypass;
            slot_mark_special;
            slot_set_dscp;
            slot_set_dmac;
            NoAction;
        }
        default_action = NoAction();
        size = 256;
        counters = slot_after_filter_counter;
    }

    table slot_after_acl {
        key = {
            meta.profile: ternary;
            meta.dir: ternary;
            meta.ip_ver: ternary;
            meta.src_addr: ternary;
            meta.dst_addr: ternary;
            meta.proto: ternary;
            meta.sport: ternary;
            meta.dport: ternary;
            meta.ct_state: ternary;
        }
        actions = {
            slot_drop;
            slot_to_cpu;
            slot_set_queue;
            slot_set_bypass;
            slot_mark_special;
            slot_set_dscp;
            slot_set_dmac;
            NoAction;
        }
        default_action = NoAction();
        size = 256;
        counters = slot_after_acl_counter;
    }

    table slot_after_services {
        key = {
            meta.profile: ternary;
            meta.dir: ternary;
            meta.ip_ver: ternary;
            meta.src_addr: ternary;
            meta.dst_addr: ternary;
            meta.proto: ternary;
            meta.sport: ternary;
            meta.dport: ternary;
            meta.ct_state: ternary;
        }
        actions = {
            slot_drop;
            slot_to_cpu;
            slot_set_queue;
            slot_set_bypass;
            slot_mark_special;
            slot_set_dscp;
            slot_set_dmac;
            NoAction;
        }
        default_action = NoAction();
        size = 256;
        counters = slot_after_services_counter;
    }

    table slot_after_qselect {
        key = {
            meta.profile: ternary;
            meta.dir: ternary;
            meta.ip_ver: ternary;
            meta.src_addr: ternary;
            meta.dst_addr: ternary;
            meta.proto: ternary;
            meta.sport: ternary;
            meta.dport: ternary;
            meta.ct_state: ternary;
        }
        actions = {
            slot_drop;
            slot_to_cpu;
            slot_set_queue;
            slot_set_bypass;
            slot_mark_special;
            slot_set_dscp;
            slot_set_dmac;
            NoAction;
        }
        default_action = NoAction();
        size = 256;
        counters = slot_after_qselect_counter;
    }

    table slot_after_encap {
        key = {
            meta.profile: ternary;
            meta.dir: ternary;
            meta.ip_ver: ternary;
            meta.src_addr: ternary;
            meta.dst_addr: ternary;
            meta.proto: ternary;
            meta.sport: ternary;
            meta.dport: ternary;
            meta.ct_state: ternary;
        }
        actions = {
            slot_drop;
            slot_to_cpu;
            slot_set_queue;
            slot_set_bypass;
            slot_mark_special;
            slot_set_dscp;
            slot_set_dmac;
            NoAction;
        }
        default_action = NoAction();
        size = 256;
        counters = slot_after_encap_counter;
    }

    apply {
        normalize.apply(hdr, meta, standard_metadata);

        if (meta.verdict == VERDICT_PASS) {
            classify.apply();
            slot_after_classify.apply();
        }

        if (meta.verdict == VERDICT_PASS) {
            if (meta.dir == DIR_RX && (meta.bypass & STAGE_FILTER) == 0) {
                filters.apply();
            }
            if (meta.verdict == VERDICT_PASS) {
                slot_after_filter.apply();
            }
        }

        if (meta.verdict == VERDICT_PASS) {
            if ((meta.bypass & STAGE_ACL) == 0) {
                acl.apply();
            }
            if (meta.verdict == VERDICT_PASS) {
                slot_after_acl.apply();
            }
        }

        if (meta.verdict == VERDICT_PASS) {
            if ((meta.bypass & STAGE_SERVICES) == 0) {
                services.apply(hdr, meta);
            }
            if (meta.verdict == VERDICT_PASS) {
                slot_after_services.apply();
            }
        }

        if (meta.verdict == VERDICT_PASS) {
            if (meta.dir == DIR_RX && (meta.bypass & STAGE_QSELECT) == 0 && meta.queue_set == 0) {
                if (meta.use_rss == 0) {
                    rx_default.apply();
                }
                if (meta.use_rss == 1) {
                    steering.apply(meta);
                }
            }
            if (meta.verdict == VERDICT_PASS) {
                slot_after_qselect.apply();
            }
        }

        if (meta.verdict == VERDICT_PASS) {
            if (meta.dir == DIR_TX && (meta.bypass & STAGE_ENCAP) == 0) {
                marking.apply(meta);
                encap.apply(hdr, meta);
            }
            if (meta.verdict == VERDICT_PASS) {
                slot_after_encap.apply();
            }
        }

        /* ---- output ---- */
        if (meta.verdict == VERDICT_PASS) {
            if (meta.dir == DIR_TX) {
                standard_metadata.egress_spec = PORT_UPLINK;
            } else if (meta.queue_set == 1) {
                standard_metadata.egress_spec = meta.out_port;
            } else {
                /* no queue chosen (qselect bypassed, or RSS found no queue) */
                standard_metadata.egress_spec = PORT_FIRST_QUEUE;
            }
        } else if (meta.verdict == VERDICT_DONE) {
            standard_metadata.egress_spec = meta.out_port;
        } else if (meta.verdict == VERDICT_CPU) {
            standard_metadata.egress_spec = PORT_CPU;
            hdr.packet_in.setValid();
            hdr.packet_in.ingress_port = meta.in_port;
            hdr.packet_in._pad = 0;
            hdr.packet_in.reason = meta.reason;
            hdr.packet_in.vni = meta.vni;
        } else {
            mark_to_drop(standard_metadata);
        }
    }
}

control VnicEgress(inout headers_t hdr,
                   inout metadata_t meta,
                   inout standard_metadata_t standard_metadata) {
    apply { }
}

V1Switch(NicParser(),
         NicVerifyChecksum(),
         VnicIngress(),
         VnicEgress(),
         NicComputeChecksum(),
         NicDeparser()) main;
