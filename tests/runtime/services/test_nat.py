"""Source and destination NAT: rewrites and their checksums, reverse mapping of replies, SNAT
port allocation, exhaustion and release, collisions, ICMP and IPv6."""
import ipaddress

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from p4nic.runtime.services import Direction, GuestServices, NotOffloadable, Verdict
from p4nic.runtime.services.policy import (DestinationNat, FlowMatch, ServicePolicy,
                                           SourceNat)
from svc_helpers import Clock, icmp, tcp, udp

RX, TX = Direction.RX, Direction.TX
FORWARD, DROP = Verdict.FORWARD, Verdict.DROP
ip = ipaddress.ip_address
net = ipaddress.ip_network
PUBLIC = "198.51.100.7"


def snat(low=20000, high=20003, **match):
    return SourceNat(FlowMatch(**match), ip(PUBLIC), (low, high), "nat:1: snat")


def checksums_valid(frame: bytes) -> bool:
    """scapy recomputes every checksum of the frame the same as it carries."""
    packet = Ether(frame)
    fresh = packet.copy()
    for layer in (IP, TCP, UDP, ICMP):
        if layer in fresh:
            del fresh[layer].chksum
    if IPv6 in fresh:
        for layer in (TCP, UDP):
            if layer in fresh:
                del fresh[layer].chksum
    return bytes(Ether(bytes(fresh))) == frame


def test_snat_rewrites_the_source_and_maps_replies_back():
    services = GuestServices(ServicePolicy(snat=(snat(src=net("10.0.0.0/24")),)))
    out = services.process(tcp("10.0.0.2", "1.1.1.1", 20001, 443, "S", 1000), TX)
    sent = Ether(out.frame)
    assert (sent[IP].src, sent[TCP].sport, sent[IP].dst, sent[TCP].dport) == (PUBLIC, 20001,
                                                                              "1.1.1.1", 443)
    assert checksums_valid(out.frame)
    back = services.process(tcp("1.1.1.1", PUBLIC, 443, 20001, "SA", 5000, 1001), RX)
    received = Ether(back.frame)
    assert back.connection is out.connection and back.verdict is FORWARD
    assert (received[IP].src, received[IP].dst, received[TCP].sport, received[TCP].dport) == (
        "1.1.1.1", "10.0.0.2", 443, 20001)
    assert checksums_valid(back.frame)


def test_snat_keeps_the_source_port_when_it_can_and_allocates_otherwise():
    services = GuestServices(ServicePolicy(snat=(snat(),)))
    ports = []
    for host, sport in (("10.0.0.2", 20002), ("10.0.0.3", 20002), ("10.0.0.4", 5555)):
        result = services.process(udp(host, "1.1.1.1", sport, 53), TX)
        ports.append(Ether(result.frame)[UDP].sport)
    assert ports[0] == 20002 and len(set(ports)) == 3 and all(20000 <= p <= 20003 for p in ports)


def test_snat_port_exhaustion_and_release():
    services = GuestServices(ServicePolicy(snat=(snat(20000, 20001),)))
    a = services.process(udp("10.0.0.2", "1.1.1.1", 1000, 53), TX)
    b = services.process(udp("10.0.0.3", "1.1.1.1", 1000, 53), TX)
    full = services.process(udp("10.0.0.4", "1.1.1.1", 1000, 53), TX)
    assert (a.verdict, b.verdict) == (FORWARD, FORWARD)
    assert (full.verdict, full.connection) == (DROP, None)
    assert full.reason == "nat:1: snat: no free port in 20000-20001 (2 of 2 in use)"
    assert services.process(tcp("10.0.0.4", "1.1.1.1", 1000, 53), TX).verdict is FORWARD  # TCP pool
    freed = Ether(a.frame)[UDP].sport
    services.end(a.connection)
    again = services.process(udp("10.0.0.4", "1.1.1.1", 1000, 53), TX)
    assert again.verdict is FORWARD and Ether(again.frame)[UDP].sport == freed


def test_an_expired_connection_gives_its_port_back():
    clock = Clock()
    services = GuestServices(ServicePolicy(snat=(snat(20000, 20000),)), clock=clock)
    assert services.process(udp("10.0.0.2", "1.1.1.1", 1, 53), TX).verdict is FORWARD
    assert services.process(udp("10.0.0.3", "1.1.1.1", 1, 53), TX).verdict is DROP
    clock.now += 31
    assert services.process(udp("10.0.0.3", "1.1.1.1", 1, 53), TX).verdict is FORWARD


def test_snat_never_hands_out_a_reply_key_in_use():
    # the guest itself already talks from PUBLIC:20000 to the same server
    services = GuestServices(ServicePolicy(snat=(snat(src=net("10.0.0.0/24")),)))
    own = services.process(udp(PUBLIC, "1.1.1.1", 20000, 53), TX)
    natted = services.process(udp("10.0.0.2", "1.1.1.1", 20000, 53), TX)
    assert own.frame == udp(PUBLIC, "1.1.1.1", 20000, 53)
    assert Ether(natted.frame)[UDP].sport == 20001


def test_dnat_with_and_without_a_port():
    services = GuestServices(ServicePolicy(dnat=(
        DestinationNat(FlowMatch(dst=net("10.0.0.2/32"), proto=6, dport=((80, 80),)),
                       ip("192.168.1.2"), 8080, "nat:3"),
        DestinationNat(FlowMatch(dst=net("10.0.0.2/32")), ip("192.168.1.3"), None, "nat:4"))))
    web = Ether(services.process(tcp("1.1.1.1", "10.0.0.2", 40000, 80), RX).frame)
    dns = Ether(services.process(udp("1.1.1.1", "10.0.0.2", 40000, 53), RX).frame)
    assert (web[IP].dst, web[TCP].dport, dns[IP].dst, dns[UDP].dport) == (
        "192.168.1.2", 8080, "192.168.1.3", 53)
    back = services.process(tcp("192.168.1.2", "1.1.1.1", 8080, 40000, "SA", 1, 1), TX)
    assert (Ether(back.frame)[IP].src, Ether(back.frame)[TCP].sport) == ("10.0.0.2", 80)
    assert checksums_valid(back.frame)


def test_dnat_then_snat_on_one_flow():
    services = GuestServices(ServicePolicy(
        dnat=(DestinationNat(FlowMatch(dst=net("10.0.0.2/32")), ip("192.168.1.2"), 8080),),
        snat=(SourceNat(FlowMatch(dst=net("192.168.1.0/24")), ip("192.168.1.1"),
                        (30000, 30000)),)))
    result = services.process(tcp("1.1.1.1", "10.0.0.2", 40000, 80), RX)
    sent = Ether(result.frame)
    assert (sent[IP].src, sent[TCP].sport, sent[IP].dst, sent[TCP].dport) == (
        "192.168.1.1", 30000, "192.168.1.2", 8080)
    entries = services.flow_entries(result.connection)
    assert entries[0].params == {"ct_state": 1, "src_addr": "192.168.1.1",
                                 "dst_addr": "192.168.1.2", "sport": 30000, "dport": 8080}
    assert entries[1].match == {"ip_ver": 4, "src_addr": "192.168.1.2",
                                "dst_addr": "192.168.1.1", "proto": 6, "sport": 8080,
                                "dport": 30000}
    assert entries[1].params == {"ct_state": 1, "src_addr": "10.0.0.2", "dst_addr": "1.1.1.1",
                                 "sport": 80, "dport": 40000}


def test_icmp_snat_rewrites_addresses_only():
    services = GuestServices(ServicePolicy(snat=(snat(),)))
    ping = services.process(icmp("10.0.0.2", "1.1.1.1", type=8, ident=99), TX)
    sent = Ether(ping.frame)
    assert (sent[IP].src, sent[ICMP].id, sent[ICMP].type) == (PUBLIC, 99, 8)
    assert checksums_valid(ping.frame)
    pong = services.process(icmp("1.1.1.1", PUBLIC, type=0, ident=99), RX)
    assert Ether(pong.frame)[IP].dst == "10.0.0.2" and pong.connection is ping.connection
    # a second host pinging the same server would have the same reply key: refused
    other = services.process(icmp("10.0.0.3", "1.1.1.1", type=8, ident=5), TX)
    assert other.verdict is DROP and "already uses" in other.reason


def test_udp_checksum_zero_on_input_is_computed_on_output():
    services = GuestServices(ServicePolicy(snat=(snat(),)))
    result = services.process(udp("10.0.0.2", "1.1.1.1", 20000, 53, b"q", chksum=0), TX)
    assert Ether(result.frame)[UDP].chksum != 0 and checksums_valid(result.frame)


def test_ipv6_nat_runs_in_software_only():
    services = GuestServices(ServicePolicy(snat=(SourceNat(FlowMatch(), ip("2001:db8::99"),
                                                           (20000, 20010)),)))
    result = services.process(tcp("2001:db8::2", "2001:db8:1::1", 20005, 443, "S", 9), TX)
    sent = Ether(result.frame)
    assert (sent[IPv6].src, sent[TCP].sport) == ("2001:db8::99", 20005)
    assert checksums_valid(result.frame)
    assert not result.offload_ready and "IPv6" in result.connection.blocker
    with pytest.raises(NotOffloadable, match="IPv6"):
        services.flow_entries(result.connection)
    ping = services.process(icmp("2001:db8::2", "2001:db8:1::1", type=128), TX)
    assert Ether(ping.frame)[IPv6].src == "2001:db8::99" and checksums_valid(ping.frame)


def test_a_rule_of_the_other_family_is_skipped():
    services = GuestServices(ServicePolicy(snat=(snat(),)))
    result = services.process(udp("2001:db8::2", "2001:db8::1", 1, 2), TX)
    assert result.frame == udp("2001:db8::2", "2001:db8::1", 1, 2)


@pytest.mark.parametrize("ports", [(0, 10), (10, 5), (1, 70000)])
def test_a_bad_port_range_is_a_clear_error(ports):
    with pytest.raises(ValueError, match="port range"):
        GuestServices(ServicePolicy(snat=(SourceNat(FlowMatch(), ip(PUBLIC), ports),)))
