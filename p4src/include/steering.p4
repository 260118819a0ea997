/*
 * p4nic: NUMA-aware queue steering (US11340932B2), shared by both NICs.
 *
 *   flow -> vCPU    flow_affinity (explicit entry) or, failing that,
 *                   rss_indirection[flow_hash % 128] (RSS indirection table)
 *   vCPU -> node    vcpu_node
 *   node -> queue   numa_queues: one action-selector group per NUMA node whose
 *                   members are that node's queues; the vCPU picks the member,
 *                   so a vCPU always lands on the same queue of its node.
 * Remapping a vCPU to another node (one vcpu_node entry) moves all its flows
 * to that node's queues. A packet that finds no queue keeps meta.out_port
 * (the caller's fallback) and leaves meta.queue_set at 0.
 */
#ifndef P4NIC_STEERING_P4
#define P4NIC_STEERING_P4

control QueueSteering(inout metadata_t meta) {
    action_selector(HashAlgorithm.crc16, 32w1024, 32w16) node_queue_selector;

    action set_vcpu(bit<16> vcpu) {
        meta.vcpu = vcpu;
    }

    action set_node(bit<8> node) {
        meta.numa_node = node;
    }

    action set_queue(bit<9> port) {
        meta.out_port = port;
        meta.queue_set = 1;
    }

    table flow_affinity {
        key = {
            meta.ip_ver: exact;
            meta.src_addr: exact;
            meta.dst_addr: exact;
            meta.proto: exact;
            meta.sport: exact;
            meta.dport: exact;
        }
        actions = {
            set_vcpu;
            NoAction;
        }
        default_action = NoAction();
        size = 4096;
    }

    table rss_indirection {
        key = {
            meta.rss_bucket: exact;
        }
        actions = {
            set_vcpu;
        }
        default_action = set_vcpu(0);
        size = 128;
    }

    table vcpu_node {
        key = {
            meta.vcpu: exact;
        }
        actions = {
            set_node;
        }
        default_action = set_node(0);
        size = 1024;
    }

    table numa_queues {
        key = {
            meta.numa_node: exact;
            meta.vcpu: selector;
        }
        actions = {
            set_queue;
            NoAction;
        }
        const default_action = NoAction();
        implementation = node_queue_selector;
        size = 64;
    }

    apply {
        if (!flow_affinity.apply().hit) {
            rss_indirection.apply();
        }
        vcpu_node.apply();
        numa_queues.apply();
    }
}

#endif
