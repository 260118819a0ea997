"""UDP, ICMP and other protocols: UNREPLIED until the reply side sends, then REPLIED, each
state with its timeout (injected clock); what is not tracked, and what is refused."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import ARP, Ether

from p4nic.runtime.nicdefs import (CT_STATE_ESTABLISHED, CT_STATE_INVALID, CT_STATE_NEW,
                                   CT_STATE_UNTRACKED)
from p4nic.runtime.services import Direction, GuestServices, Timeouts, Verdict
from p4nic.runtime.services.conntrack import DatagramState
from p4nic.runtime.services.packets import FRAGMENT, MALFORMED, NOT_IP
from p4nic.runtime.services.policy import ServicePolicy
from svc_helpers import Clock, icmp, tcp, udp

RX, TX = Direction.RX, Direction.TX
FORWARD, DROP = Verdict.FORWARD, Verdict.DROP


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def services(clock):
    return GuestServices(ServicePolicy(), clock=clock)


def test_udp_unreplied_then_replied(services):
    out = services.process(udp("10.0.0.2", "8.8.8.8", 5353, 53, b"query"), TX)
    conn = out.connection
    assert (out.verdict, out.ct_state, conn.state) == (FORWARD, CT_STATE_NEW,
                                                       DatagramState.UNREPLIED)
    assert out.frame == udp("10.0.0.2", "8.8.8.8", 5353, 53, b"query")
    again = services.process(udp("10.0.0.2", "8.8.8.8", 5353, 53, b"retry"), TX)
    assert again.connection is conn and again.ct_state == CT_STATE_NEW
    back = services.process(udp("8.8.8.8", "10.0.0.2", 53, 5353, b"answer"), RX)
    assert (back.connection, back.side, back.ct_state) == (conn, 1, CT_STATE_ESTABLISHED)
    assert conn.state == DatagramState.REPLIED
    assert conn.counters(0)[0] == 2 and conn.counters(1)[0] == 1


def test_udp_timeouts(services, clock):
    conn = services.process(udp("10.0.0.2", "8.8.8.8", 5353, 53), TX).connection
    assert conn.timeout == Timeouts().udp_unreplied
    clock.now += 31
    assert services.expire() == [conn]
    conn = services.process(udp("10.0.0.2", "8.8.8.8", 5353, 53), TX).connection
    services.process(udp("8.8.8.8", "10.0.0.2", 53, 5353), RX)
    assert conn.timeout == Timeouts().udp_replied
    clock.now += 100
    assert services.expire() == []
    services.process(udp("10.0.0.2", "8.8.8.8", 5353, 53), TX)      # refreshes it
    clock.now += 100
    assert services.expire() == []
    clock.now += 21
    assert services.expire() == [conn] and len(services) == 0


def test_an_expired_flow_opens_a_new_connection(services, clock):
    first = services.process(udp("10.0.0.2", "8.8.8.8", 5353, 53), TX).connection
    clock.now += 31
    second = services.process(udp("10.0.0.2", "8.8.8.8", 5353, 53), TX).connection
    assert second is not first and second.counters(0)[0] == 1 and len(services) == 1


def test_icmp_echo(services, clock):
    request = services.process(icmp("10.0.0.2", "10.0.0.1", type=8, ident=7), TX)
    conn = request.connection
    assert (request.verdict, request.ct_state) == (FORWARD, CT_STATE_NEW)
    assert (conn.key.sport, conn.key.dport, conn.reply_key.sport) == (8, 0, 0)
    reply = services.process(icmp("10.0.0.1", "10.0.0.2", type=0, ident=7), RX)
    assert (reply.connection, reply.side, reply.ct_state) == (conn, 1, CT_STATE_ESTABLISHED)
    assert conn.timeout == Timeouts().icmp
    clock.now += 31
    assert services.expire() == [conn]


def test_icmpv6_echo(services):
    request = services.process(icmp("2001:db8::2", "2001:db8::1", type=128), TX)
    conn = request.connection
    assert (conn.key.ip_ver, conn.key.proto, conn.key.sport, conn.reply_key.sport) == (6, 58,
                                                                                      128, 129)
    reply = services.process(icmp("2001:db8::1", "2001:db8::2", type=129), RX)
    assert reply.connection is conn and reply.ct_state == CT_STATE_ESTABLISHED


def test_icmp_answer_without_a_query_is_invalid(services):
    result = services.process(icmp("10.0.0.1", "10.0.0.2", type=0), RX)
    assert (result.verdict, result.connection, result.ct_state) == (DROP, None, CT_STATE_INVALID)
    assert "ICMP answer" in result.reason


def test_icmp_errors_and_other_protocols_are_their_own_flows(services, clock):
    unreachable = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(type=3, code=1))
    error = services.process(unreachable, RX)
    assert error.verdict is FORWARD and error.connection.key.sport == 3
    gre = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2", proto=47) / (b"\0" * 8))
    tunnel = services.process(gre, RX)
    conn = tunnel.connection
    assert (conn.key.proto, conn.key.sport, conn.key.dport, conn.timeout) == (
        47, 0, 0, Timeouts().other)
    back = bytes(Ether() / IP(src="10.0.0.2", dst="10.0.0.1", proto=47) / (b"\0" * 8))
    assert services.process(back, TX).ct_state == CT_STATE_ESTABLISHED


def test_non_ip_passes_untracked(services):
    arp = bytes(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="10.0.0.1"))
    result = services.process(arp, RX)
    assert (result.verdict, result.frame, result.connection, result.ct_state, result.reason) == (
        FORWARD, arp, None, CT_STATE_UNTRACKED, NOT_IP)
    assert len(services) == 0


def test_fragments_and_malformed_packets_are_dropped(services):
    whole = udp("10.0.0.1", "10.0.0.2", 1, 2, b"x" * 40)
    fragments = [bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2", flags="MF") / UDP() / b"x"),
                 bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2", frag=3, proto=17) / b"x")]
    for fragment in fragments:
        result = services.process(fragment, RX)
        assert (result.verdict, result.reason) == (DROP, FRAGMENT)
    for broken in (whole[:30], whole[:40], whole[:14 + 20 + 4],
                   tcp("10.0.0.1", "10.0.0.2", 1, 2)[:14 + 20 + 10]):
        result = services.process(broken, RX)
        assert (result.verdict, result.ct_state, result.reason) == (DROP, CT_STATE_INVALID,
                                                                   MALFORMED)
    assert len(services) == 0


def test_vlan_tagged_frames_are_tracked(services):
    out = services.process(udp("10.0.0.2", "8.8.8.8", 5353, 53, vlan=12), TX)
    back = services.process(udp("8.8.8.8", "10.0.0.2", 53, 5353), RX)
    assert back.connection is out.connection


def test_a_bad_direction_is_a_clear_error(services):
    for _ in range(2):                      # a new flow, then a tracked one
        with pytest.raises(ValueError, match="Direction.RX or Direction.TX"):
            services.process(udp("10.0.0.2", "8.8.8.8", 5353, 53), 7)
        services.process(udp("10.0.0.2", "8.8.8.8", 5353, 53), 1)


def test_frames_as_bytearray_or_memoryview(services):
    frame = udp("10.0.0.2", "8.8.8.8", 5353, 53)
    first = services.process(bytearray(frame), TX)
    again = services.process(memoryview(frame), TX)
    assert first.frame == again.frame == frame and again.connection is first.connection


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=120), ethertype=st.sampled_from([b"\x08\x00", b"\x86\xdd",
                                                                 b"\x81\x00", b"\x08\x06"]))
def test_any_bytes_get_a_verdict_never_an_exception(data, ethertype):
    services = GuestServices(ServicePolicy())
    frame_bytes = b"\x02" * 12 + ethertype + data
    for direction in (RX, TX):
        result = services.process(frame_bytes, direction)
        assert result.verdict in (FORWARD, DROP)
        assert (result.frame is None) == (result.verdict is DROP)
