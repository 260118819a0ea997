/*
 * p4nic: sender-side marking for special processing (US10965601B2).
 *
 * Before encapsulation the sender decides whether the receiver should take the
 * packet off its fast path. special_criteria is a prioritised ternary table
 * over the criteria bits and the 5-tuple; any entry that matches calls
 * mark_special, so "first packet of a flow", "ARP", "ND", "DHCP" or "this
 * flow" are each one entry. is_first comes from a one-bit register indexed by
 * the flow hash: two flows that share a hash share the bit, which errs towards
 * not flagging a new flow (the receiver then treats it on its fast path).
 */
#ifndef P4NIC_MARKING_P4
#define P4NIC_MARKING_P4

control SenderMarking(inout metadata_t meta) {
    register<bit<1>>(65536) flow_seen;

    action mark_special() {
        meta.special = 1;
    }

    table special_criteria {
        key = {
            meta.is_first: ternary;
            meta.is_arp: ternary;
            meta.is_nd: ternary;
            meta.is_dhcp: ternary;
            meta.ip_ver: ternary;
            meta.src_addr: ternary;
            meta.dst_addr: ternary;
            meta.proto: ternary;
            meta.sport: ternary;
            meta.dport: ternary;
        }
        actions = {
            mark_special;
            NoAction;
        }
        default_action = NoAction();
        size = 256;
    }

    apply {
        bit<1> seen = 0;
        if (meta.ip_ver != 0) {
            flow_seen.read(seen, (bit<32>) meta.flow_hash);
            if (seen == 0) {
                meta.is_first = 1;
                flow_seen.write((bit<32>) meta.flow_hash, 1w1);
            }
        }
        special_criteria.apply();
    }
}

#endif
