/*
 * p4nic: header types, constants and metadata shared by vnic.p4 and pnic.p4.
 *
 * Both NICs use one header layout so that the stateful services, the queue
 * steering and the encapsulation code (the controls in p4src/include) is written once and a flow
 * moved from the VNIC to the PNIC is treated by the very same tables.
 *
 * Layout of headers_t, in deparse order:
 *   packet_in                      to the controller (CPU port)
 *   encap_*                        tunnel headers this NIC adds on transmit
 *   eth .. icmp                    the flow's own headers ("first level")
 *   geneve/geneve_opt/vxlan        tunnel header as received
 *   inner_*                        inner headers as received
 * Ingress normalises a received tunnel packet by copying inner_* into the first
 * level and invalidating the rest (control Normalize), so every later stage
 * reads and rewrites the first-level headers only.
 */
#ifndef P4NIC_HEADERS_P4
#define P4NIC_HEADERS_P4

/* Port map (docs/pipelines.md). CPU_PORT must equal simple_switch_grpc's
 * --cpu-port; compile with -DCPU_PORT=<n> to change it. */
#ifndef CPU_PORT
#define CPU_PORT 255
#endif
const bit<9> PORT_CPU = CPU_PORT;
const bit<9> PORT_UPLINK = 0;     /* VNIC: towards vswitch/PNIC; PNIC: physical network */
const bit<9> PORT_FIRST_QUEUE = 1; /* VNIC: RX queue q leaves on port q; PNIC: first VF */

const bit<16> ETHERTYPE_IPV4 = 0x0800;
const bit<16> ETHERTYPE_ARP = 0x0806;
const bit<16> ETHERTYPE_VLAN = 0x8100;
const bit<16> ETHERTYPE_IPV6 = 0x86dd;
const bit<16> ETHERTYPE_TEB = 0x6558;   /* transparent Ethernet bridging: Geneve payload */

const bit<8> IPPROTO_ICMP = 1;
const bit<8> IPPROTO_TCP = 6;
const bit<8> IPPROTO_UDP = 17;
const bit<8> IPPROTO_ICMPV6 = 58;

const bit<16> UDP_PORT_GENEVE = 6081;   /* RFC 8926 */
const bit<16> UDP_PORT_VXLAN = 4789;    /* RFC 7348 */

/* Special-processing flag (US10965601B2), carried in the outer header.
 * Geneve: a zero-length option of class 0xFF01 (RFC 8926 section 7 reserves
 * classes 0xFF00-0xFFFF for experimental use), type 0x01, placed first.
 * VXLAN: bit 0x01 of the flags byte, the last reserved bit of "RRRRIRRR". */
const bit<16> GENEVE_OPT_CLASS_P4NIC = 0xFF01;
const bit<8> GENEVE_OPT_TYPE_SPECIAL = 0x01;
const bit<8> VXLAN_FLAG_VNI = 0x08;
const bit<8> VXLAN_FLAG_SPECIAL = 0x01;

/* meta.dir */
const bit<8> DIR_RX = 0;     /* from PORT_UPLINK towards the guest / VF */
const bit<8> DIR_TX = 1;     /* from a guest queue / VF towards PORT_UPLINK */

/* meta.verdict: once not VERDICT_PASS, the remaining stages are skipped. */
const bit<8> VERDICT_PASS = 0;
const bit<8> VERDICT_DROP = 1;
const bit<8> VERDICT_CPU = 2;
const bit<8> VERDICT_DONE = 3;   /* output already decided (packet-out DIRECT) */

/* packet_in.reason */
const bit<8> REASON_SERVICE = 1;      /* stateful services: flow not offloaded, guest takes it */
const bit<8> REASON_ACL = 2;          /* ACL entry punts */
const bit<8> REASON_SLOT = 3;         /* an injected stage punts */
const bit<8> REASON_POLICY_MISS = 4;  /* PNIC: no logical-network policy for the flow */
const bit<8> REASON_SPECIAL = 5;      /* PNIC: flagged packet, special-processing path */
const bit<8> REASON_POLICY = 6;       /* PNIC: policy entry punts */

/* packet_out.mode */
const bit<8> PKT_OUT_DIRECT = 0;   /* send unchanged out of packet_out.port */
const bit<8> PKT_OUT_INJECT = 1;   /* process as if received on packet_out.port */

/* Fixed stages a flow may bypass (meta.bypass, set by classification). */
const bit<8> STAGE_FILTER = 0x01;
const bit<8> STAGE_ACL = 0x02;
const bit<8> STAGE_SERVICES = 0x04;
const bit<8> STAGE_QSELECT = 0x08;
const bit<8> STAGE_ENCAP = 0x10;

/* meta.encap_type */
const bit<8> ENCAP_NONE = 0;
const bit<8> ENCAP_GENEVE = 1;
const bit<8> ENCAP_VXLAN = 2;

/* meta.vlan_op */
const bit<8> VLAN_KEEP = 0;
const bit<8> VLAN_PUSH = 1;
const bit<8> VLAN_POP = 2;

const bit<8> TCP_FLAG_FIN = 0x01;
const bit<8> TCP_FLAG_RST = 0x04;

/* Connection-tracking states (meta.ct_state). The guest's connection tracking
 * (p4nic.runtime.services) writes them into services.flow_table entries and
 * the slot tables match them; 0 is what a packet without a services entry has.
 * NEW: no reply seen yet (TCP: handshake not complete); ESTABLISHED: both
 * directions seen (TCP: handshake complete, including while closing);
 * INVALID: a packet no connection accepts (never written in an entry). */
const bit<8> CT_STATE_UNTRACKED = 0;
const bit<8> CT_STATE_NEW = 1;
const bit<8> CT_STATE_ESTABLISHED = 2;
const bit<8> CT_STATE_INVALID = 3;

/* digest flow_event_t.event */
const bit<8> FLOW_EVENT_TCP_CLOSE = 1;

/* Packet I/O of the "guest" role (docs/pipelines.md, "Roles"): the P4Runtime server gives it
 * the packet-ins its services must see, and takes back only packet-outs that go through the
 * pipeline again, skipping no stage but services. The values are literals: annotations are not
 * evaluated. */
@controller_header("packet_in")
header packet_in_t {
    bit<9> ingress_port;
    bit<7> _pad;
    @p4runtime_role_packet_in("guest", 1)           /* REASON_SERVICE */
    bit<8> reason;
    bit<24> vni;          /* VNI of the received tunnel, 0 if none */
}

@controller_header("packet_out")
header packet_out_t {
    bit<9> port;
    bit<7> _pad;
    @p4runtime_role_packet_out("guest", 1)          /* PKT_OUT_INJECT */
    bit<8> mode;
    @p4runtime_role_packet_out("guest", 0, 0x04)    /* nothing, or STAGE_SERVICES */
    bit<8> bypass;        /* PKT_OUT_INJECT: stages to skip (those the guest already ran) */
    bit<8> ct_state;      /* PKT_OUT_INJECT skipping STAGE_SERVICES: the guest's conntrack
                           * state for the packet, as a services entry would have set it */
}

header ethernet_t {
    bit<48> dstAddr;
    bit<48> srcAddr;
    bit<16> etherType;
}

header vlan_t {
    bit<3> pcp;
    bit<1> dei;
    bit<12> vid;
    bit<16> etherType;
}

header ipv4_t {
    bit<4> version;
    bit<4> ihl;
    bit<8> diffserv;
    bit<16> totalLen;
    bit<16> identification;
    bit<3> flags;
    bit<13> fragOffset;
    bit<8> ttl;
    bit<8> protocol;
    bit<16> hdrChecksum;
    bit<32> srcAddr;
    bit<32> dstAddr;
}

header ipv6_t {
    bit<4> version;
    bit<8> trafficClass;
    bit<20> flowLabel;
    bit<16> payloadLen;
    bit<8> nextHdr;
    bit<8> hopLimit;
    bit<128> srcAddr;
    bit<128> dstAddr;
}

header tcp_t {
    bit<16> srcPort;
    bit<16> dstPort;
    bit<32> seqNo;
    bit<32> ackNo;
    bit<4> dataOffset;
    bit<4> res;
    bit<8> flags;
    bit<16> window;
    bit<16> checksum;
    bit<16> urgentPtr;
}

header udp_t {
    bit<16> srcPort;
    bit<16> dstPort;
    bit<16> len;
    bit<16> checksum;
}

/* ICMP and ICMPv6 share their first four bytes. */
header icmp_t {
    bit<8> icmpType;
    bit<8> icmpCode;
    bit<16> checksum;
}

header geneve_t {
    bit<2> ver;
    bit<6> optLen;        /* length of the options in 4-byte words */
    bit<1> oam;
    bit<1> critical;
    bit<6> rsvd;
    bit<16> protoType;
    bit<24> vni;
    bit<8> rsvd2;
}

header geneve_opt_t {
    bit<16> optClass;
    bit<8> optType;
    bit<3> rsvd;
    bit<5> optLen;        /* option data length in 4-byte words */
}

header vxlan_t {
    bit<8> flags;
    bit<24> rsvd;
    bit<24> vni;
    bit<8> rsvd2;
}

struct headers_t {
    packet_in_t packet_in;
    packet_out_t packet_out;
    ethernet_t encap_eth;
    ipv4_t encap_ipv4;
    udp_t encap_udp;
    geneve_t encap_geneve;
    geneve_opt_t encap_geneve_opt;
    vxlan_t encap_vxlan;
    ethernet_t eth;
    vlan_t vlan;
    ipv4_t ipv4;
    ipv6_t ipv6;
    tcp_t tcp;
    udp_t udp;
    icmp_t icmp;
    geneve_t geneve;
    geneve_opt_t geneve_opt;
    vxlan_t vxlan;
    ethernet_t inner_eth;
    vlan_t inner_vlan;
    ipv4_t inner_ipv4;
    ipv6_t inner_ipv6;
    tcp_t inner_tcp;
    udp_t inner_udp;
    icmp_t inner_icmp;
}

/* Sent to the controller when a tracked TCP flow sees FIN or RST, so the
 * owner of the services entry can age it out. */
struct flow_event_t {
    bit<8> event;
    bit<8> ip_ver;
    bit<128> src_addr;
    bit<128> dst_addr;
    bit<8> proto;
    bit<16> sport;
    bit<16> dport;
}

/* One flat struct: every stage communicates through these fields. */
struct metadata_t {
    /* where the packet is and what happens to it */
    bit<9> in_port;           /* ingress port, or packet_out.port for an injected packet */
    bit<8> dir;
    bit<8> verdict;
    bit<8> reason;
    bit<9> out_port;
    bit<16> mcast_grp;
    bit<16> frame_len;        /* length of the first-level frame after normalisation */
    bit<1> injected;          /* arrived as a packet-out with mode PKT_OUT_INJECT */

    /* the flow: IPv4 addresses are zero-extended to 128 bits, ip_ver tells them apart */
    bit<8> ip_ver;            /* 4, 6, or 0 for non-IP */
    bit<128> src_addr;
    bit<128> dst_addr;
    bit<8> proto;
    bit<16> sport;            /* L4 ports; ICMP type/code for ICMP */
    bit<16> dport;
    bit<8> tcp_flags;
    bit<12> vid;              /* VLAN id, 0 if untagged */
    bit<16> ethertype;        /* after any VLAN tag */
    bit<16> flow_hash;        /* crc16 of the 5-tuple: RSS, first-packet register, UDP entropy */

    /* sender-side special-processing criteria */
    bit<1> is_arp;
    bit<1> is_nd;
    bit<1> is_dhcp;
    bit<1> is_first;
    bit<1> special;

    /* the tunnel the packet arrived in */
    bit<1> tunneled;
    bit<24> vni;

    /* the tunnel to add on the way out */
    bit<8> encap_type;
    bit<24> encap_vni;
    bit<48> encap_smac;
    bit<48> encap_dmac;
    bit<32> encap_sip;
    bit<32> encap_dip;

    /* programmable pipeline */
    bit<8> profile;
    bit<8> bypass;

    /* RX queue selection and NUMA steering */
    bit<1> queue_set;
    bit<1> use_rss;
    bit<7> rss_bucket;        /* flow_hash[6:0]: index into the 128-entry indirection table */
    bit<16> vcpu;
    bit<8> numa_node;

    /* stateful services */
    bit<8> ct_state;
    bit<1> nat;
    bit<32> nat_src;
    bit<32> nat_dst;
    bit<16> nat_sport;
    bit<16> nat_dport;
    bit<1> lb_rewrite_dmac;
    bit<48> lb_dmac;

    /* inner-packet rewrites */
    bit<8> vlan_op;
    bit<12> vlan_vid;
    bit<1> rewrite_macs;
    bit<48> new_smac;
    bit<48> new_dmac;
    bit<1> dec_ttl;
    bit<1> l3_changed;        /* recompute the IPv4 header checksum */
    bit<1> l4_changed;        /* recompute the TCP/UDP checksum */
    bit<16> l4_len;
}

#endif
