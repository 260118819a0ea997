"""The guest service engine is the reference the P4 tier must match, held against p4src/vnic.p4
running as a `p4nic switch` process.

For random flows through NAT, load-balancing and firewall policies, the engine serves the
flow's first packet and hands over its flow-table entries; those are written to the VNIC over
P4Runtime under the guest's role — the only entries on the VNIC, so any difference can only
come from the services stage. Then every further packet of the flow, both ways, goes through
the engine and through the VNIC: the frames that come out (or the drops) must be equal byte for
byte, RX (uplink → guest queue 1) and TX (guest queue 1 → uplink), and the entries' direct
counters must end where the engine's counters are.
"""
import ipaddress
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from p4nic.runtime.nicdefs import PORT_FIRST_QUEUE, PORT_UPLINK
from p4nic.runtime.services import Direction, GuestServices, Verdict
from p4nic.runtime.services.policy import (Backend, DestinationNat, Firewall, FirewallRule,
                                           FlowMatch, LoadBalancer, ServicePolicy, SourceNat)
from svc_helpers import icmp, tcp, udp

SERVICES = ("allow", "deny", "deny_reply", "snat", "dnat", "snat_dnat", "lb")
TCP, UDP, ICMP = 6, 17, 1

addresses = st.integers(0x01000000, 0xDFFFFFFF).map(lambda n: str(ipaddress.IPv4Address(n)))
addresses6 = st.integers(1, 2 ** 128 - 1).map(lambda n: str(ipaddress.IPv6Address(n)))
ports = st.integers(1, 65535)
payloads = st.binary(max_size=200)
macs = st.integers(0, 2 ** 48 - 1).map(lambda n: ":".join(f"{b:02x}" for b in n.to_bytes(6, "big")))


def host(address: str):
    return ipaddress.ip_network(address)


@dataclass
class Flow:
    """A drawn flow: its policy, endpoints, the side its first packet comes from, and how
    its packets look (VLAN tag, IP fields, checksums on input, TCP options, payloads)."""
    service: str
    policy: ServicePolicy
    proto: int
    client: tuple
    server: tuple
    direction: Direction
    shape: dict = field(default_factory=dict)
    payloads: list = field(default_factory=list)


@st.composite
def flows(draw):
    service = draw(st.sampled_from(SERVICES))
    proto = draw(st.sampled_from([TCP, UDP] if service == "lb" else [TCP, UDP, ICMP]))
    # the NIC translates IPv4 only; flows it just passes or drops may be IPv6
    family = addresses if "nat" in service or service == "lb" else draw(
        st.sampled_from([addresses, addresses6]))
    client, server = draw(family), draw(family)
    assume(client != server)
    sport, dport = draw(ports), draw(ports)
    policy = ServicePolicy()
    if service == "deny":
        policy = ServicePolicy(firewall=Firewall(rules=(
            FirewallRule(FlowMatch(dst=host(server)), "deny", "test: deny the server"),)))
    elif service == "deny_reply":
        policy = ServicePolicy(firewall=Firewall(
            rules=(FirewallRule(FlowMatch(src=host(client)), "allow"),),
            allow_established=False, default="deny"))
    elif service in ("snat", "dnat", "snat_dnat"):
        snat = dnat = ()
        if "snat" in service:
            low = draw(st.integers(1024, 65535))
            high = draw(st.integers(low, min(65535, low + 5000)))
            snat = (SourceNat(FlowMatch(src=host(client)),
                              ipaddress.ip_address(draw(addresses)), (low, high)),)
        if "dnat" in service:
            dnat = (DestinationNat(FlowMatch(dst=host(server), proto=proto),
                                   ipaddress.ip_address(draw(addresses)),
                                   draw(st.none() | ports)),)
        policy = ServicePolicy(snat=snat, dnat=dnat)
    elif service == "lb":
        backends = tuple(Backend(ipaddress.ip_address(draw(addresses)), draw(ports), draw(macs),
                                 draw(st.integers(1, 5)))
                         for _ in range(draw(st.integers(1, 4))))
        policy = ServicePolicy(load_balancers=(
            LoadBalancer(ipaddress.ip_address(server), dport, proto, backends),))
    shape = {"vlan": draw(st.none() | st.integers(1, 4094)),
             "tos": draw(st.integers(0, 255)), "ttl": draw(st.integers(1, 255)),
             "id": draw(st.integers(0, 65535)), "ip_flags": draw(st.sampled_from([0, 2])),
             "ip_chksum": draw(st.none() | st.integers(0, 65535))}
    if proto == TCP:
        shape["options"] = draw(st.sampled_from([(), (("MSS", 1460),),
                                                 (("MSS", 1400), ("NOP", None), ("WScale", 7)),
                                                 (("Timestamp", (12345, 0)),)]))
        shape["window"] = draw(st.integers(200, 65535))    # room for every payload
    if proto != ICMP:
        shape["chksum"] = draw(st.none() | st.just(0) | st.integers(0, 65535))
    return Flow(service, policy, proto, (client, sport), (server, dport),
                draw(st.sampled_from(list(Direction))), shape,
                [draw(payloads) for _ in range(4)])


def port_of(direction: Direction) -> int:
    return PORT_UPLINK if direction == Direction.RX else PORT_FIRST_QUEUE


def packet(flow: Flow, src: tuple, dst: tuple, step: str, payload: bytes) -> bytes:
    """One packet of the flow; `step` says which (TCP: its place in the conversation, whose
    sequence numbers follow from the data the two ends sent before)."""
    shape = dict(flow.shape)
    if flow.proto == TCP:
        sent, answered = len(flow.payloads[2]), len(flow.payloads[3])
        seq, ack, flags = {"syn": (1000, 0, "S"), "syn_ack": (5000, 1001, "SA"),
                           "data": (1001, 5001, "PA"), "answer": (5001, 1001 + sent, "PA"),
                           "fin": (1001 + sent, 5001 + answered, "FA")}[step]
        return tcp(src[0], dst[0], src[1], dst[1], flags, seq, ack, payload=payload, **shape)
    if flow.proto == UDP:
        return udp(src[0], dst[0], src[1], dst[1], payload, **shape)
    v6 = ipaddress.ip_address(src[0]).version == 6
    answer, request = (129, 128) if v6 else (0, 8)
    return icmp(src[0], dst[0], type=answer if step == "answer" else request,
                ident=flow.client[1], payload=payload, vlan=shape["vlan"])


def first_packet(flow: Flow) -> bytes:
    """The packet that opens the connection (the conversation sends it again)."""
    return packet(flow, flow.client, flow.server, "syn" if flow.proto == TCP else "request",
                  b"" if flow.proto == TCP else flow.payloads[0])


def conversation(flow: Flow, reply_src: tuple, reply_dst: tuple) -> list:
    """(direction, frame) of every packet after the first, as the flow's policy lets it run."""
    back = Direction.TX if flow.direction == Direction.RX else Direction.RX
    out, there = flow.direction, (flow.client, flow.server)
    answer = (reply_src, reply_dst)
    if flow.proto == TCP:
        steps = [(out, there, "syn", b""), (back, answer, "syn_ack", b""),
                 (out, there, "data", flow.payloads[2]),
                 (back, answer, "answer", flow.payloads[3]), (out, there, "fin", b"")]
    else:
        steps = [(out, there, "request", flow.payloads[0]),
                 (back, answer, "answer", flow.payloads[1]),
                 (out, there, "request", flow.payloads[2]),
                 (back, answer, "answer", flow.payloads[3])]
    if flow.service == "deny":
        steps = steps[:1]               # the other end never hears of the flow
    elif flow.service == "deny_reply" and flow.proto == TCP:
        steps = steps[:2]               # with its SYN-ACK dropped, a TCP flow goes no further
    return [(d, packet(flow, *ends, step, data)) for d, ends, step, data in steps]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow=flows())
def test_vnic_with_the_engines_entries_outputs_what_the_engine_outputs(vnic, flow):
    services = GuestServices(flow.policy)
    first = services.process(first_packet(flow), flow.direction)
    conn = first.connection
    assert conn is not None, first.reason
    assert (first.verdict is Verdict.DROP) == (flow.service == "deny")
    entries = services.flow_entries(conn)
    assert [e.side for e in entries] == (["original"] if flow.service == "deny"
                                         else ["original", "reply"])
    written = [entry.table_entry(vnic.guest.p4) for entry in entries]
    try:
        vnic.guest.insert(*written)
        reply = conn.reply_key
        reply_ends = ((str(reply.address(reply.src)), reply.sport),
                      (str(reply.address(reply.dst)), reply.dport)) if reply else None
        for direction, frame in conversation(flow, *(reply_ends or (None, None))):
            expected = services.process(frame, direction)
            leaving = vnic.exchange(port_of(direction), frame)
            if expected.verdict is Verdict.FORWARD:
                away = Direction.TX if direction == Direction.RX else Direction.RX
                assert leaving == [(port_of(away), expected.frame)], expected
            else:
                assert leaving == [], expected
        for entry, table_entry in zip(entries, written):
            side = 0 if entry.side == "original" else 1
            assert vnic.host.direct_counter(table_entry) == conn.counters(side), entry.side
    finally:
        vnic.guest.restore()


@pytest.mark.parametrize("service", ["snat", "lb"])
def test_the_services_stage_rewrites_what_it_should(vnic, service):
    """The differential test above is not vacuous: the engine's rewrite changes the frame, and
    the VNIC makes exactly that change only once the entries are there."""
    client, server = ("10.1.0.5", 40001), ("192.0.2.80", 80)
    if service == "snat":
        policy = ServicePolicy(snat=(SourceNat(FlowMatch(), ipaddress.ip_address("198.51.100.1"),
                                               (20000, 20000)),))
    else:
        policy = ServicePolicy(load_balancers=(LoadBalancer(
            ipaddress.ip_address(server[0]), 80, TCP,
            (Backend(ipaddress.ip_address("10.9.0.1"), 8080, "02:00:00:00:01:0a"),)),))
    services = GuestServices(policy)
    syn = tcp(client[0], server[0], client[1], server[1], "S", 1000)
    result = services.process(syn, Direction.TX)
    assert result.frame != syn
    assert vnic.exchange(PORT_FIRST_QUEUE, syn) == [(PORT_UPLINK, syn)]     # no entry: untouched
    try:
        vnic.guest.insert(*[e.table_entry(vnic.guest.p4)
                            for e in services.flow_entries(result.connection)])
        assert vnic.exchange(PORT_FIRST_QUEUE, syn) == [(PORT_UPLINK, result.frame)]
    finally:
        vnic.guest.restore()
