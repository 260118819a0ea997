"""The load balancer: backend choice by weight, affinity per flow, the backend's MAC, replies
mapped back to the virtual address."""
import ipaddress
from collections import Counter

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from p4nic.runtime.services import Direction, GuestServices, NotOffloadable, Verdict
from p4nic.runtime.services.policy import (Backend, FlowMatch, LoadBalancer, ServicePolicy,
                                           SourceNat)
from svc_helpers import tcp, udp

RX, TX = Direction.RX, Direction.TX
ip = ipaddress.ip_address
VIP = "10.0.0.100"


def backend(n, weight=1):
    return Backend(ip(f"192.168.1.{n}"), 8000 + n, f"02:00:00:00:01:{n:02x}", weight)


def balancer(*backends, proto=6):
    return LoadBalancer(ip(VIP), 80, proto, tuple(backends), "lb:1: web")


def spread(services, flows=4000, proto=6):
    """How many of `flows` distinct client flows each backend address got. The frames are one
    scapy frame with the client's address and port patched in (checksums do not matter)."""
    template = bytearray((tcp if proto == 6 else udp)("172.16.0.1", VIP, 10000, 80))
    chosen = Counter()
    for n in range(flows):
        template[26:30] = bytes((172, 16, n // 250, n % 250 + 1))
        template[34:36] = (10000 + n).to_bytes(2, "big")
        result = services.process(bytes(template), RX)
        chosen[result.frame[30:34]] += 1
    return {str(ipaddress.IPv4Address(address)): count for address, count in chosen.items()}


def test_the_flow_goes_to_its_backend_with_the_backends_mac():
    services = GuestServices(ServicePolicy(load_balancers=(balancer(backend(1)),)))
    result = services.process(tcp("172.16.0.1", VIP, 40000, 80, "S", 1), RX)
    sent = Ether(result.frame)
    assert (sent.dst, sent[IP].dst, sent[TCP].dport) == ("02:00:00:00:01:01", "192.168.1.1", 8001)
    assert (sent[IP].src, sent[TCP].sport) == ("172.16.0.1", 40000)
    assert result.connection.backend == backend(1)
    answer = tcp("192.168.1.1", "172.16.0.1", 8001, 40000, "SA", 9, 2)
    returned = Ether(services.process(answer, TX).frame)
    assert (returned[IP].src, returned[TCP].sport) == (VIP, 80)
    assert returned.dst == Ether(answer).dst         # svc_nat leaves the MACs alone
    original, reply = services.flow_entries(result.connection)
    assert (original.action, original.params) == ("svc_lb", {
        "ct_state": 1, "backend_mac": "02:00:00:00:01:01", "backend_addr": "192.168.1.1",
        "backend_port": 8001})
    assert reply.action == "svc_nat" and reply.params["src_addr"] == VIP


def test_weights_share_the_flows():
    services = GuestServices(ServicePolicy(load_balancers=(
        balancer(backend(1, 1), backend(2, 3), backend(3, 0)),)))
    chosen = spread(services)
    assert set(chosen) == {"192.168.1.1", "192.168.1.2"}           # weight 0: no new flows
    share = chosen["192.168.1.2"] / sum(chosen.values())
    assert 0.70 < share < 0.80, chosen


def test_equal_weights_share_evenly_for_udp_too():
    services = GuestServices(ServicePolicy(load_balancers=(
        balancer(backend(1, 2), backend(2, 2), backend(3, 2), proto=17),)))
    chosen = spread(services, 3000, proto=17)
    assert all(850 < count < 1150 for count in chosen.values()), chosen


def test_affinity_per_flow():
    services = GuestServices(ServicePolicy(load_balancers=(
        balancer(*[backend(n) for n in range(1, 9)]),)))
    first = services.process(tcp("172.16.0.9", VIP, 5000, 80, "S", 1), RX)
    conn = first.connection
    for _ in range(3):
        again = services.process(tcp("172.16.0.9", VIP, 5000, 80, "S", 1), RX)
        assert again.connection is conn and again.frame == first.frame
    services.end(conn)
    reopened = services.process(tcp("172.16.0.9", VIP, 5000, 80, "S", 77), RX)
    assert reopened.connection.backend == conn.backend            # the same flow, the same backend
    others = {services.process(tcp("172.16.0.9", VIP, port, 80, "S", 1), RX).connection.backend
              for port in range(5001, 5101)}
    assert len(others) > 4                                        # other flows spread


def test_no_backend_with_weight_drops_new_flows():
    services = GuestServices(ServicePolicy(load_balancers=(balancer(backend(1, 0)),)))
    result = services.process(tcp("172.16.0.1", VIP, 40000, 80), RX)
    assert (result.verdict, result.connection) == (Verdict.DROP, None)
    assert result.reason == "lb:1: web: no backend has a weight above 0"


def test_other_ports_and_protocols_of_the_vip_are_not_balanced():
    services = GuestServices(ServicePolicy(load_balancers=(balancer(backend(1)),)))
    for frame in (tcp("172.16.0.1", VIP, 40000, 81), udp("172.16.0.1", VIP, 40000, 80)):
        assert services.process(frame, RX).frame == frame


def test_load_balancing_with_source_nat_stays_in_the_guest():
    services = GuestServices(ServicePolicy(
        load_balancers=(balancer(backend(1)),),
        snat=(SourceNat(FlowMatch(), ip("192.168.1.254"), (30000, 30010)),)))
    result = services.process(tcp("172.16.0.1", VIP, 40000, 80), RX)
    sent = Ether(result.frame)
    assert (sent[IP].src, sent[IP].dst, sent.dst) == ("192.168.1.254", "192.168.1.1",
                                                      "02:00:00:00:01:01")
    assert not result.offload_ready
    with pytest.raises(NotOffloadable, match="svc_lb rewrites the destination only"):
        services.flow_entries(result.connection)


@pytest.mark.parametrize("bad, message", [
    (LoadBalancer(ip(VIP), 80, 1, (backend(1),)), "protocol must be 6"),
    (LoadBalancer(ip(VIP), 80, 6, (Backend(ip("2001:db8::1"), 80, "02:00:00:00:00:01"),)),
     "is not IPv4"),
    (LoadBalancer(ip(VIP), 80, 6, (Backend(ip("10.0.0.1"), 80, "not a mac"),)), "MAC"),
    (LoadBalancer(ip(VIP), 80, 6, (backend(1, -1),)), "negative weight"),
])
def test_a_bad_load_balancer_is_a_clear_error(bad, message):
    with pytest.raises(ValueError, match=message):
        GuestServices(ServicePolicy(load_balancers=(bad,)))
