"""Software NIC pipeline: BMv2 JSON programs run end to end through Device.process."""

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from p4nic.nic.device import Device
from p4nic.nic.program import ProgramError
from programs.v1model import (
    ETHERNET, V1Program, ethernet_ipv4, extract, fld, hexv, l3_router, prim, sm, valid,
)

MAC_A, MAC_B, MAC_NH = "00:00:00:00:00:0a", "00:00:00:00:00:0b", "00:00:00:00:00:99"


def mac(text):
    return int(text.replace(":", ""), 16)


def ip(text):
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


@pytest.fixture
def router():
    dev = Device()
    dev.load(l3_router().json())
    t = dev.state.tables["ipv4_lpm"]
    fwd = dev.state.action_ids["ipv4_forward"]
    t.add([(ip("10.0.0.0"), 8)], fwd, (mac(MAC_NH), 2))
    t.add([(ip("10.1.0.0"), 16)], fwd, (mac("00:00:00:00:01:01"), 3))
    return dev


def packet(dst, ttl=64, payload=b"x" * 10):
    return bytes(Ether(src=MAC_A, dst=MAC_B) / IP(src="192.168.0.1", dst=dst, ttl=ttl) /
                 UDP(sport=1, dport=2) / payload)


def test_router_forwards_by_longest_prefix(router):
    out = router.process([(1, packet("10.2.3.4")), (1, packet("10.1.2.3"))])
    assert [port for port, _ in out] == [2, 3]
    first = Ether(out[0][1])
    assert first.dst == MAC_NH and first.src == MAC_B
    assert first[IP].ttl == 63
    second = Ether(out[1][1])
    assert second.dst == "00:00:00:00:01:01"


def test_router_rewrites_ipv4_checksum(router):
    (port, data), = router.process([(1, packet("10.9.9.9", ttl=17))])
    got = Ether(data)
    assert got[IP].ttl == 16
    expected = got[IP].chksum
    del got[IP].chksum
    assert Ether(bytes(got))[IP].chksum == expected  # scapy recomputes it
    assert bytes(got[UDP].payload) == b"x" * 10


def test_router_drops_on_miss_and_non_ipv4(router):
    arp_like = bytes(Ether(src=MAC_A, dst=MAC_B, type=0x0806) / (b"\0" * 28))
    # non-IPv4 is not dropped by this program: egress_spec stays 0, so it leaves on port 0
    out = router.process([(1, packet("192.168.1.1")), (1, arp_like)])
    assert out == [(0, arp_like)]


def test_router_keeps_payload_and_length(router):
    data = packet("10.0.0.1", payload=b"hello world" * 5)
    (port, got), = router.process([(4, data)])
    assert len(got) == len(data)
    assert got[14 + 20:] == data[14 + 20:]


def test_truncated_ipv4_header_is_a_parser_error_not_an_exception(router):
    data = packet("10.0.0.1")[:20]  # Ethernet + 6 bytes of IPv4
    out = router.process([(1, data)])
    # parser stops with PacketTooShort; ipv4 invalid -> no table; leaves on port 0 unchanged
    assert out == [(0, data)]


def test_load_rejects_malformed_json_with_a_clear_message():
    dev = Device()
    prog = l3_router().json()
    prog["headers"][1]["header_type"] = "nope_t"
    with pytest.raises(ProgramError, match="header 'ethernet': unknown header type 'nope_t'"):
        dev.load(prog)
    with pytest.raises(ProgramError, match="not valid JSON"):
        dev.load("{not json")
    bad = l3_router().json()
    bad["actions"][1]["primitives"][0]["op"] = "frobnicate"
    with pytest.raises(ProgramError, match="action 'drop'.*unsupported primitive"):
        dev.load(bad)


def test_empty_pipelines_forward_to_port_zero():
    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header("ethernet", "ethernet_t")
    p.state("start", [extract("ethernet")])
    dev = Device()
    dev.load(p.json())
    frame = bytes(range(20))
    assert dev.process([(3, frame)]) == [(0, frame)]
    assert Device().process([(3, frame)]) == []  # nothing loaded: dropped


def test_checksum_with_payload_matches_udp():
    p = V1Program()
    ethernet_ipv4(p, ipv4_next="parse_udp")
    p.header_type("udp_t", [["sport", 16], ["dport", 16], ["len", 16], ["checksum", 16]])
    p.header("udp", "udp_t")
    p.state("parse_udp", [extract("udp")])
    p.calculations.append({"name": "udp_csum", "id": 0, "algo": "csum16", "input": [
        fld("ipv4", "srcAddr"), fld("ipv4", "dstAddr"),
        {"type": "hexstr", "value": "0x00", "bitwidth": 8}, fld("ipv4", "protocol"),
        fld("udp", "len"), fld("udp", "sport"), fld("udp", "dport"), fld("udp", "len"),
        {"type": "payload", "value": None}]})
    p.checksums.append({"name": "c", "id": 0, "target": ["udp", "checksum"], "type": "generic",
                        "calculation": "udp_csum", "verify": False, "update": True,
                        "if_cond": valid("udp")})
    fwd = p.action("fwd", [], [prim("assign", sm("egress_spec"), hexv(1)),
                               prim("assign", fld("udp", "dport"), hexv(4242))])
    p.table("ingress", "t", [], [fwd], default=(fwd, []))
    dev = Device()
    dev.load(p.json())
    sent = packet("10.0.0.1", payload=b"odd-length payload")
    (port, data), = dev.process([(0, sent)])
    got = Ether(data)
    assert got[UDP].dport == 4242
    ours = got[UDP].chksum
    del got[UDP].chksum
    assert Ether(bytes(got))[UDP].chksum == ours


def test_bytearray_and_memoryview_packets_are_accepted(router):
    data = packet("10.0.0.1")
    out = router.process([(1, bytearray(data)), (1, memoryview(data))])
    assert [port for port, _ in out] == [2, 2]
    assert all(type(d) is bytes for _, d in out)


def test_a_rejected_load_keeps_the_running_program(router):
    bad = l3_router().json()
    bad["pipelines"][0]["init_table"] = "nowhere"
    with pytest.raises(ProgramError, match="unknown next node 'nowhere'"):
        router.load(bad)
    assert [port for port, _ in router.process([(1, packet("10.1.2.3"))])] == [3]
