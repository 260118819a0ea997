/*
 * p4nic PNIC: the physical NIC of a host running VNICs.
 *
 * Ports: 0 is the uplink to the physical network; ports 1..M are virtual
 * functions, one per VNIC; PORT_CPU carries packet-in/packet-out to the host.
 *
 * RX (from the uplink), US11750532B2 and US10965601B2:
 *   normalize (decapsulate Geneve/VXLAN, read VNI and the special flag)
 *   flagged packet   -> special_path: the host (CPU port, default), the
 *                       host's NUMA queues, or back to the fast path;
 *                       counted in rx_path_counter[PATH_SPECIAL]
 *   otherwise        -> rx_path_counter[PATH_FAST], policy lookup on
 *                       (VNI, inner flow), rewrites (VLAN push/pop, MAC
 *                       rewrite, TTL), stateful services, out of a VF, a
 *                       multicast group, or the uplink (re-encapsulated);
 *                       no policy: to the CPU with REASON_POLICY_MISS.
 * TX (from a VF): VNI from the tunnel the VNIC added or from vf_vni, sender
 *   marking, policy, rewrites, stateful services, encapsulation by the tunnel
 *   table, uplink.
 * A packet-out with mode PKT_OUT_INJECT skips the special path, and the
 * services stage when its bypass has STAGE_SERVICES.
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

/* rx_path_counter indices */
const bit<32> PATH_FAST = 0;
const bit<32> PATH_SPECIAL = 1;

control PnicIngress(inout headers_t hdr,
                    inout metadata_t meta,
                    inout standard_metadata_t standard_metadata) {
    Normalize() normalize;
    StatefulServices() services;
    QueueSteering() steering;
    SenderMarking() marking;
    Encap() encap;

    counter(2, CounterType.packets_and_bytes) rx_path_counter;
    direct_counter(CounterType.packets_and_bytes) policy_counter;

    /* ---- TX: the VNI of a plain frame from a VF ---- */
    action set_vni(bit<24> vni) {
        meta.vni = vni;
    }

    table vf_vni {
        key = {
            meta.in_port: exact;
        }
        actions = {
            set_vni;
            NoAction;
        }
        default_action = NoAction();
        size = 256;
    }

    /* ---- RX: where flagged packets go ---- */
    action special_to_cpu() {
        meta.verdict = VERDICT_CPU;
        meta.reason = REASON_SPECIAL;
    }

    action special_to_host_queues() {
        meta.use_rss = 1;
    }

    action special_fast_path() {
        meta.special = 0;
    }

    table special_path {
        actions = {
            special_to_cpu;
            special_to_host_queues;
            special_fast_path;
        }
        default_action = special_to_cpu();
    }

    /* ---- logical-network policy: the on-NIC datastore ---- */
    action policy_forward(bit<9> port) {
        meta.out_port = port;
    }

    action policy_forward_vlan_push(bit<9> port, bit<12> vid) {
        meta.out_port = port;
        meta.vlan_op = VLAN_PUSH;
        meta.vlan_vid = vid;
    }

    action policy_forward_vlan_pop(bit<9> port) {
        meta.out_port = port;
        meta.vlan_op = VLAN_POP;
    }

    /* Routed delivery: new MAC addresses and one less TTL / hop limit. */
    action policy_forward_routed(bit<9> port, bit<48> smac, bit<48> dmac) {
        meta.out_port = port;
        meta.rewrite_macs = 1;
        meta.new_smac = smac;
        meta.new_dmac = dmac;
        meta.dec_ttl = 1;
    }

    action policy_flood(bit<16> mcast_group) {
        meta.mcast_grp = mcast_group;
    }

    action policy_deny() {
        meta.verdict = VERDICT_DROP;
    }

    action policy_to_cpu() {
        meta.verdict = VERDICT_CPU;
        meta.reason = REASON_POLICY;
    }

    action policy_miss() {
        meta.verdict = VERDICT_CPU;
        meta.reason = REASON_POLICY_MISS;
    }

    table policy {
        key = {
            meta.dir: ternary;
            meta.in_port: ternary;
            meta.vni: ternary;
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
            policy_forward;
            policy_forward_vlan_push;
            policy_forward_vlan_pop;
            policy_forward_routed;
            policy_flood;
            policy_deny;
            policy_to_cpu;
            policy_miss;
        }
        default_action = policy_miss();
        counters = policy_counter;
        size = 4096;
    }

    apply {
        bit<1> took_special = 0;
        normalize.apply(hdr, meta, standard_metadata);

        if (meta.verdict == VERDICT_PASS && meta.dir == DIR_TX) {
            if (meta.tunneled == 0) {
                vf_vni.apply();
            }
            marking.apply(meta);
        }

        if (meta.verdict == VERDICT_PASS && meta.dir == DIR_RX &&
            meta.special == 1 && meta.injected == 0) {
            special_path.apply();
            if (meta.special == 1) {
                took_special = 1;
                rx_path_counter.count(PATH_SPECIAL);
                if (meta.use_rss == 1) {
                    /* no queue for the vCPU's node: the host gets it on the CPU port */
                    meta.verdict = VERDICT_CPU;
                    meta.reason = REASON_SPECIAL;
                    steering.apply(meta);
                    if (meta.queue_set == 1) {
                        meta.verdict = VERDICT_PASS;
                    }
                }
            }
        }

        if (meta.verdict == VERDICT_PASS && took_special == 0) {
            if (meta.dir == DIR_RX) {
                rx_path_counter.count(PATH_FAST);
            }
            policy.apply();
            if (meta.verdict == VERDICT_PASS) {
                if (meta.vlan_op == VLAN_PUSH) {
                    if (!hdr.vlan.isValid()) {
                        hdr.vlan.setValid();
                        hdr.vlan.pcp = 0;
                        hdr.vlan.dei = 0;
                        hdr.vlan.etherType = hdr.eth.etherType;
                        hdr.eth.etherType = ETHERTYPE_VLAN;
                        meta.frame_len = meta.frame_len + 4;
                    }
                    hdr.vlan.vid = meta.vlan_vid;
                } else if (meta.vlan_op == VLAN_POP && hdr.vlan.isValid()) {
                    hdr.eth.etherType = hdr.vlan.etherType;
                    hdr.vlan.setInvalid();
                    meta.frame_len = meta.frame_len - 4;
                }
                if (meta.rewrite_macs == 1) {
                    hdr.eth.srcAddr = meta.new_smac;
                    hdr.eth.dstAddr = meta.new_dmac;
                }
                if (meta.dec_ttl == 1) {
                    if (hdr.ipv4.isValid()) {
                        if (hdr.ipv4.ttl <= 1) {
                            meta.verdict = VERDICT_DROP;
                        }
                        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
                        meta.l3_changed = 1;
                    } else if (hdr.ipv6.isValid()) {
                        if (hdr.ipv6.hopLimit <= 1) {
                            meta.verdict = VERDICT_DROP;
                        }
                        hdr.ipv6.hopLimit = hdr.ipv6.hopLimit - 1;
                    }
                }
            }
            /* The services run after the policy and its rewrites: on RX that is the VF side
             * of every PNIC stage, where the VNIC runs them first, so a flow the VNIC hands
             * to the PNIC meets its NAT at the same point of the host's path (and a load
             * balancer's backend MAC wins over a routed rewrite, as on the VNIC). */
            if (meta.verdict == VERDICT_PASS && (meta.bypass & STAGE_SERVICES) == 0) {
                services.apply(hdr, meta);
            }
            if (meta.verdict == VERDICT_PASS && meta.mcast_grp == 0 &&
                meta.out_port == PORT_UPLINK) {
                encap.apply(hdr, meta);
            }
        }

        /* ---- output ---- */
        if (meta.verdict == VERDICT_PASS) {
            if (meta.mcast_grp != 0) {
                standard_metadata.mcast_grp = meta.mcast_grp;
            } else {
                standard_metadata.egress_spec = meta.out_port;
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

/* A flooded copy never goes back out of the port it came in on. */
control PnicEgress(inout headers_t hdr,
                   inout metadata_t meta,
                   inout standard_metadata_t standard_metadata) {
    apply {
        if (meta.mcast_grp != 0 && standard_metadata.egress_port == meta.in_port) {
            mark_to_drop(standard_metadata);
        }
    }
}

V1Switch(NicParser(),
         NicVerifyChecksum(),
         PnicIngress(),
         PnicEgress(),
         NicComputeChecksum(),
         NicDeparser()) main;
