"""P4-16 programs compiled with p4nic's own compiler and run on the NIC (both halves together).

The NIC's core tests use hand-written JSON (test_pipeline*.py); these check that real compiler
output — scalars, synthesized tables, field lists, stack operations — runs as p4c+BMv2 would.
"""

from pathlib import Path

import pytest
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from p4nic.nic.device import Device

from p4nic.compiler import driver

PROGRAM = Path(__file__).parent / "programs" / "p4" / "clone_stack.p4"


@pytest.fixture(scope="module")
def compiled():
    return driver.compile_file(str(PROGRAM)).bmv2_json


@pytest.fixture
def dev(compiled):
    d = Device()
    d.load(compiled)
    return d


def entry(dev, dst, action, *args):
    t = next(t for n, t in dev.state.tables.items() if n.endswith(".t") or n == "t")
    aid = next(i for i, a in dev.state.actions.items() if a.name.endswith(action))
    t.add([(dst,)], aid, args)


def ipv4_frame(dst_mac="00:00:00:00:00:01", labels=()):
    frame = Ether(dst=dst_mac, src="00:00:00:00:00:aa")
    for i, label in enumerate(labels):
        frame = frame / MPLS(label=label, s=1 if i == len(labels) - 1 else 0, ttl=9)
    return bytes(frame / IP(dst="10.0.0.1", ttl=20) / UDP() / b"data")


def test_push_label_and_checksum(dev):
    entry(dev, 1, "push_label", 100, 4)
    (port, data), = dev.process([(0, ipv4_frame())])
    assert port == 4
    got = Ether(data)
    assert got.type == 0x8847 and got[MPLS].label == 100 and got[MPLS].s == 1
    ip = IP(bytes(got[MPLS].payload))
    assert ip.ttl == 19
    sent = ip.chksum
    del ip.chksum
    assert IP(bytes(ip)).chksum == sent


def test_pop_label_keeps_the_rest_of_the_stack(dev):
    entry(dev, 1, "pop_label", 2)
    (port, data), = dev.process([(0, ipv4_frame(labels=(7, 8)))])
    got = Ether(data)
    assert port == 2 and got[MPLS].label == 8 and got[MPLS].s == 1


def test_clone_preserving_field_list(dev):
    dev.state.replication.create_session(5, [(9, 0)])
    entry(dev, 1, "mirror", 3)
    out = dict(dev.process([(0, ipv4_frame())]))
    assert sorted(out) == [3, 9]
    assert Ether(out[9]).src == "00:00:00:00:00:5a"  # meta.mark kept by field list 1
    assert Ether(out[3]).src == "00:00:00:00:00:aa"
    assert IP(bytes(Ether(out[9]).payload)).ttl == 20  # the clone is the packet as received


def test_multicast_rid_seen_in_egress(dev):
    dev.state.replication.create_group(3, [(1, 21), (2, 22)])
    entry(dev, 1, "flood")
    out = dev.process([(0, ipv4_frame())])
    assert [(p, Ether(d).src) for p, d in out] == [(1, "00:00:00:00:00:15"),
                                                    (2, "00:00:00:00:00:16")]


EMPTY_HEADER_PROGRAM = """
#include <core.p4>
#include <v1model.p4>
header marker_t { }
header byte_t { bit<8> v; }
struct headers { byte_t first; marker_t marker; byte_t second; }
struct metadata { }
parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.first); pkt.extract(hdr.marker); pkt.extract(hdr.second);
                  transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply {
        marker_t copy = hdr.marker;
        if (copy.isValid()) { sm.egress_spec = 2; }
        if (hdr.first.v == 1) { hdr.marker.setInvalid(); sm.egress_spec = 3; }
        hdr.second.v = (bit<8>)hdr.marker.minSizeInBits();
    }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) {
    apply { pkt.emit(hdr.first); pkt.emit(hdr.marker); pkt.emit(hdr.second); }
}
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


@pytest.mark.parametrize("traced", [False, True], ids=["plain", "traced"])
def test_header_without_fields(tmp_path, traced):
    # structure-valued-expr-ok-1-bmv2.p4 declares `header h0_t {}`: no bytes on the wire, but
    # a validity bit that isValid, copies and emit follow
    source = tmp_path / "empty_header.p4"
    source.write_text(EMPTY_HEADER_PROGRAM)
    d = Device(logger=(lambda *_: None) if traced else None)
    d.load(driver.compile_file(str(source)).bmv2_json)
    assert d.process([(0, bytes([0, 7, 0xAA]))]) == [(2, bytes([0, 0, 0xAA]))]
    assert d.process([(0, bytes([1, 7, 0xAA]))]) == [(3, bytes([1, 0, 0xAA]))]
