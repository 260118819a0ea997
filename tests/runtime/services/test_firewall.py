"""The stateful firewall: rule order, default verdict, allow established, and what a denied
flow leaves behind (a connection that drops its packets, offloadable as svc_deny)."""
import ipaddress

import pytest

from p4nic.runtime.services import Direction, GuestServices, Verdict
from p4nic.runtime.services.policy import Firewall, FirewallRule, FlowMatch, ServicePolicy
from svc_helpers import icmp, tcp, udp

RX, TX = Direction.RX, Direction.TX
FORWARD, DROP = Verdict.FORWARD, Verdict.DROP
net = ipaddress.ip_network


def services_with(*rules, default="allow", allow_established=True):
    return GuestServices(ServicePolicy(firewall=Firewall(rules=tuple(rules), default=default,
                                                         allow_established=allow_established)))


def rule(verdict, origin, **match):
    return FirewallRule(FlowMatch(**match), verdict, origin)


def test_first_matching_rule_wins():
    services = services_with(rule("allow", "fw:1: allow ssh from admin", src=net("10.9.0.0/16"),
                                  proto=6, dport=((22, 22),)),
                             rule("deny", "fw:2: deny ssh", proto=6, dport=((22, 22),)),
                             rule("allow", "fw:3: allow ssh (never reached)", proto=6))
    admin = services.process(tcp("10.9.1.1", "10.0.0.2", 40000, 22), RX)
    other = services.process(tcp("10.8.1.1", "10.0.0.2", 40000, 22), RX)
    web = services.process(tcp("10.8.1.1", "10.0.0.2", 40000, 80), RX)
    assert (admin.verdict, other.verdict, web.verdict) == (FORWARD, DROP, FORWARD)
    assert other.reason == "fw:2: deny ssh"


def test_default_verdict():
    services = services_with(rule("allow", "fw:1", proto=17, dport=((53, 53),)), default="deny")
    assert services.process(udp("10.0.0.2", "8.8.8.8", 5353, 53), TX).verdict is FORWARD
    denied = services.process(udp("10.0.0.2", "8.8.8.8", 5353, 54), TX)
    assert (denied.verdict, denied.reason) == (DROP, "firewall default (deny)")


def test_port_ranges_prefixes_and_protocols():
    services = services_with(rule("allow", "fw:1", ip_ver=4, dst=net("10.0.0.0/24"), proto=6,
                                  sport=((1024, 65535),), dport=((80, 80), (443, 443))),
                             default="deny")
    verdict = lambda *a: services.process(tcp(*a), RX).verdict
    assert verdict("1.1.1.1", "10.0.0.7", 1024, 443) is FORWARD
    assert verdict("1.1.1.1", "10.0.0.7", 1023, 443) is DROP
    assert verdict("1.1.1.1", "10.0.0.7", 2000, 8080) is DROP
    assert verdict("1.1.1.1", "10.0.1.7", 2000, 80) is DROP
    assert services.process(udp("1.1.1.1", "10.0.0.7", 2000, 80), RX).verdict is DROP


def test_a_network_of_the_other_family_never_matches():
    services = services_with(rule("deny", "fw:1", src=net("::/0")))
    assert services.process(tcp("10.0.0.1", "10.0.0.2", 1, 2), RX).verdict is FORWARD
    assert services.process(tcp("2001:db8::1", "2001:db8::2", 1, 2), RX).verdict is DROP


def test_icmp_rules_see_type_and_code_in_the_port_fields():
    services = services_with(rule("deny", "fw:1: no pings", proto=1, sport=((8, 8),)))
    assert services.process(icmp("10.0.0.1", "10.0.0.2", type=8), RX).verdict is DROP
    assert services.process(icmp("10.0.0.1", "10.0.0.2", type=13), RX).verdict is FORWARD


def test_allow_established_lets_replies_through_a_default_deny():
    services = services_with(rule("allow", "fw:1: guest may connect out", src=net("10.0.0.2/32")),
                             default="deny")
    out = services.process(tcp("10.0.0.2", "1.1.1.1", 40000, 443, "S", 1000), TX)
    back = services.process(tcp("1.1.1.1", "10.0.0.2", 443, 40000, "SA", 7000, 1001), RX)
    assert (out.verdict, back.verdict, back.connection) == (FORWARD, FORWARD, out.connection)
    # the same packet from the outside, with no connection, is a new flow: denied
    services.end(out.connection)
    assert services.process(tcp("1.1.1.1", "10.0.0.2", 443, 40000, "S", 7000), RX).verdict is DROP


def test_without_allow_established_the_reply_side_meets_the_rules():
    services = services_with(rule("allow", "fw:1", src=net("10.0.0.2/32")), default="deny",
                             allow_established=False)
    out = services.process(udp("10.0.0.2", "1.1.1.1", 5000, 53), TX)
    back = services.process(udp("1.1.1.1", "10.0.0.2", 53, 5000), RX)
    assert (out.verdict, back.verdict) == (FORWARD, DROP)
    assert back.connection is out.connection and back.reason == "firewall default (deny)"
    assert out.connection.counters(1) == (1, len(udp("1.1.1.1", "10.0.0.2", 53, 5000)))
    assert [(e.side, e.action) for e in services.flow_entries(out.connection)] == [
        ("original", "svc_allow"), ("reply", "svc_deny")]


def test_a_denied_flow_is_remembered_counted_and_offloadable_as_a_deny():
    services = services_with(rule("deny", "fw:1: deny telnet", proto=6, dport=((23, 23),)))
    syn = tcp("1.1.1.1", "10.0.0.2", 40000, 23)
    first = services.process(syn, RX)
    again = services.process(syn, RX)
    conn = first.connection
    assert (first.verdict, again.verdict, again.connection) == (DROP, DROP, conn)
    assert conn.denied and conn.reply_key is None and conn.counters(0) == (2, 2 * len(syn))
    assert first.offload_ready                 # offload after 1 packet: the NIC drops it then
    [entry] = services.flow_entries(conn)
    assert (entry.side, entry.action, entry.params) == ("original", "svc_deny", {})
    assert entry.match["dport"] == 23 and entry.counter == (2, 2 * len(syn))


@pytest.mark.parametrize("verdict", ["permit", "DENY", ""])
def test_a_bad_verdict_is_a_clear_error(verdict):
    with pytest.raises(ValueError, match="verdict must be 'allow' or 'deny'"):
        services_with(rule(verdict, "fw.nic:4: permit all"))
