"""End to end: a simple L3 router compiled by p4nic runs on the p4nic NIC as BMv2 would run it."""
import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from tests.compiler.midend_harness import action_id, compile_text, load

ROUTER = """
#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dstAddr; bit<48> srcAddr; bit<16> etherType; }
header ipv4_t {
    bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> totalLen; bit<16> identification;
    bit<3> flags; bit<13> fragOffset; bit<8> ttl; bit<8> protocol; bit<16> hdrChecksum;
    bit<32> srcAddr; bit<32> dstAddr;
}
struct metadata { }
struct headers { ethernet_t ethernet; ipv4_t ipv4; }

parser RParser(packet_in packet, out headers hdr, inout metadata meta,
               inout standard_metadata_t standard_metadata) {
    state start { transition parse_ethernet; }
    state parse_ethernet {
        packet.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) { 0x800: parse_ipv4; default: accept; }
    }
    state parse_ipv4 { packet.extract(hdr.ipv4); transition accept; }
}
control RVerify(inout headers hdr, inout metadata meta) {
    apply {
        verify_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.totalLen,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.fragOffset, hdr.ipv4.ttl,
              hdr.ipv4.protocol, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr },
            hdr.ipv4.hdrChecksum, HashAlgorithm.csum16);
    }
}
control RIngress(inout headers hdr, inout metadata meta,
                 inout standard_metadata_t standard_metadata) {
    action drop() { mark_to_drop(standard_metadata); }
    action ipv4_forward(bit<48> dstAddr, bit<9> port) {
        standard_metadata.egress_spec = port;
        hdr.ethernet.srcAddr = hdr.ethernet.dstAddr;
        hdr.ethernet.dstAddr = dstAddr;
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
    }
    table ipv4_lpm {
        key = { hdr.ipv4.dstAddr: lpm; }
        actions = { ipv4_forward; drop; NoAction; }
        size = 1024;
        default_action = drop();
    }
    apply {
        if (hdr.ipv4.isValid() && standard_metadata.checksum_error == 0) { ipv4_lpm.apply(); }
        else { drop(); }
    }
}
control REgress(inout headers hdr, inout metadata meta,
                inout standard_metadata_t standard_metadata) { apply { } }
control RCompute(inout headers hdr, inout metadata meta) {
    apply {
        update_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.totalLen,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.fragOffset, hdr.ipv4.ttl,
              hdr.ipv4.protocol, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr },
            hdr.ipv4.hdrChecksum, HashAlgorithm.csum16);
    }
}
control RDeparser(packet_out packet, in headers hdr) {
    apply { packet.emit(hdr.ethernet); packet.emit(hdr.ipv4); }
}
V1Switch(RParser(), RVerify(), RIngress(), REgress(), RCompute(), RDeparser()) main;
"""


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    bmv2_json = compile_text(tmp_path_factory.mktemp("router"), ROUTER)
    dev = load(bmv2_json)
    table = dev.state.tables["RIngress.ipv4_lpm"]
    fwd = action_id(bmv2_json, "RIngress.ipv4_forward")
    table.add([(0x0A000000, 8)], fwd, (0x112233445566, 3))
    table.add([(0x0A010000, 16)], fwd, (0xAABBCCDDEEFF, 4))
    return dev


def packet(dst: str, ttl: int = 64) -> bytes:
    return bytes(Ether(dst="00:00:00:00:00:01", src="00:00:00:00:00:02")
                 / IP(src="192.0.2.1", dst=dst, ttl=ttl) / UDP(sport=1, dport=2) / b"data")


def test_longest_prefix_forwards_rewrites_and_fixes_the_checksum(router):
    [(port, out)] = router.process([(1, packet("10.1.2.3"))])
    assert port == 4
    got = Ether(out)
    assert got.dst == "aa:bb:cc:dd:ee:ff" and got.src == "00:00:00:00:00:01"
    assert got[IP].ttl == 63
    expected = IP(bytes(got[IP]))
    del expected.chksum
    assert got[IP].chksum == IP(bytes(expected)).chksum
    assert bytes(got[UDP].payload) == b"data"


def test_shorter_prefix_and_miss(router):
    [(port, _)] = router.process([(1, packet("10.9.9.9"))])
    assert port == 3
    assert router.process([(1, packet("11.0.0.1"))]) == []


def test_bad_checksum_and_non_ip_are_dropped(router):
    bad = bytearray(packet("10.1.2.3"))
    bad[14 + 10] ^= 0xFF
    assert router.process([(1, bytes(bad))]) == []
    arp = bytes(Ether(type=0x0806) / (b"\x00" * 28))
    assert router.process([(1, arp)]) == []
