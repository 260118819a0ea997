"""What the offload manager gets from the engine: flow entries, readiness per OffloadPolicy,
connections marked as offloaded, restored from a NIC's entries (falling back) and ended."""
import dataclasses
import ipaddress

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from p4nic.runtime.nicdefs import CT_STATE_ESTABLISHED, CT_STATE_NEW
from p4nic.runtime.services import Direction, FlowEntry, GuestServices, Verdict
from p4nic.runtime.services.conntrack import DatagramState
from p4nic.runtime.services.policy import (Backend, DestinationNat, Firewall, FlowMatch,
                                           LoadBalancer, OffloadPolicy, ServicePolicy,
                                           SourceNat)
from p4nic.runtime.services.tcp import TcpState
from svc_helpers import Clock, TcpTalk, tcp, udp

RX, TX = Direction.RX, Direction.TX
ip = ipaddress.ip_address
DNAT = DestinationNat(FlowMatch(dst=ipaddress.ip_network("10.0.0.2/32")), ip("192.168.1.2"), 8080)
SNAT = SourceNat(FlowMatch(src=ipaddress.ip_network("10.0.0.0/24")), ip("198.51.100.7"),
                 (20000, 20001))


def established(services, **kwargs) -> TcpTalk:
    talk = TcpTalk(services, **kwargs)
    for who, flags in (("client", "S"), ("server", "SA"), ("client", "A")):
        assert getattr(talk, who)(flags).verdict is Verdict.FORWARD
    return talk


def test_entries_of_an_allowed_flow_follow_its_state_and_counters():
    services = GuestServices(ServicePolicy())
    talk = TcpTalk(services)
    syn = talk.client("S")
    original, reply = services.flow_entries(syn.connection)
    assert original == FlowEntry("original", {"ip_ver": 4, "src_addr": "10.0.0.1",
                                              "dst_addr": "10.0.0.2", "proto": 6,
                                              "sport": 40000, "dport": 80},
                                 "svc_allow", {"ct_state": CT_STATE_NEW}, (1, len(tcp(
                                     "10.0.0.1", "10.0.0.2", 40000, 80))))
    assert reply.match == {"ip_ver": 4, "src_addr": "10.0.0.2", "dst_addr": "10.0.0.1",
                           "proto": 6, "sport": 80, "dport": 40000}
    assert reply.counter == (0, 0)
    talk.server("SA")
    talk.client("A")
    original, reply = services.flow_entries(syn.connection)
    assert original.params == reply.params == {"ct_state": CT_STATE_ESTABLISHED}
    assert (original.counter[0], reply.counter[0]) == (2, 1)


@pytest.mark.parametrize("offload, ready_at", [
    (OffloadPolicy(), [True, True, True]),
    (OffloadPolicy(to_vnic_after_packets=2), [False, True, True]),
    (OffloadPolicy(to_vnic_after_packets=None, to_vnic_when_established=True),
     [False, False, True]),
    (OffloadPolicy(to_vnic_after_packets=None), [False, False, False]),
])
def test_readiness_follows_the_offload_policy(offload, ready_at):
    services = GuestServices(ServicePolicy(offload=offload))
    talk = TcpTalk(services)
    ready = [talk.client("S").offload_ready, talk.server("SA").offload_ready,
             talk.client("A").offload_ready]
    assert ready == ready_at


def test_to_pnic_criteria_and_tiers():
    services = GuestServices(ServicePolicy(offload=OffloadPolicy(to_pnic_after_packets=4)))
    talk = established(services)
    conn = talk.connection
    assert services.ready_to_offload(conn, "pnic") is False
    services.offloaded(conn, "vnic")
    result = talk.server("PA", b"moved")            # still in flight to the guest: served
    assert result.verdict is Verdict.FORWARD and result.offload_ready is False
    assert services.ready_to_offload(conn, "pnic") is True
    services.offloaded(conn, "pnic")
    assert conn.tier == "pnic"
    with pytest.raises(ValueError, match="tier must be one of vnic, pnic"):
        services.offloaded(conn, "smartnic")


def test_a_finishing_connection_is_not_offered_for_offload():
    services = GuestServices(ServicePolicy())
    talk = established(services)
    talk.client("FA")
    assert talk.server("FA").offload_ready is True       # LAST_ACK: packets still to come
    assert talk.client("A").offload_ready is False       # TIME_WAIT


def test_offloaded_connections_do_not_time_out_in_the_guest():
    clock = Clock()
    services = GuestServices(ServicePolicy(), clock=clock)
    offloaded = services.process(udp("10.0.0.2", "8.8.8.8", 1, 53), TX).connection
    here = services.process(udp("10.0.0.2", "8.8.8.8", 2, 53), TX).connection
    services.offloaded(offloaded, "vnic")
    clock.now += 3600
    assert services.expire() == [here]
    assert services.find(offloaded.key) is offloaded


def nic_counts(entries, *counts):
    """The entries as the manager reads them back: the NIC's counters in place."""
    return [dataclasses.replace(e, counter=c) for e, c in zip(entries, counts)]


def test_a_flow_falls_back_with_its_nic_state():
    clock = Clock()
    services = GuestServices(ServicePolicy(dnat=(DNAT,)), clock=clock)
    talk = established(services, server=("10.0.0.2", 80))
    before = talk.client("PA", b"over the guest")
    entries = services.flow_entries(talk.connection)
    services.offloaded(talk.connection, "vnic")
    # the NIC served 40 more packets each way; then the guest restarts and the flow falls back
    on_nic = nic_counts(entries, (43, 5000), (41, 6000))
    fresh = GuestServices(ServicePolicy(dnat=(DNAT,)), clock=clock)
    conn = fresh.restore(on_nic)
    assert (conn.state, conn.ct_state, conn.tier) == (TcpState.ESTABLISHED, CT_STATE_ESTABLISHED,
                                                      "guest")
    assert (conn.counters(0), conn.counters(1)) == ((43, 5000), (41, 6000))
    assert fresh.find(entries[1].match) is conn
    # no sequence history on a NIC: the next segments are picked up, translated as before
    later = fresh.process(tcp("10.0.0.1", "10.0.0.2", 40000, 80, "PA", 777777, 888888,
                              payload=b"after"), RX)
    assert later.verdict is Verdict.FORWARD
    assert Ether(later.frame)[IP].dst == Ether(before.frame)[IP].dst == "192.168.1.2"
    assert fresh.flow_entries(conn)[0].params == entries[0].params
    assert fresh.flow_entries(conn)[0].counter == (44, 5000 + len(tcp(
        "10.0.0.1", "10.0.0.2", 40000, 80, payload=b"after")))


def test_a_flow_offloaded_at_its_syn_falls_back_established():
    """The NIC never moves the ct_state it was written with: its counters say the handshake
    went on there, so the server's data is accepted after the fall-back."""
    services = GuestServices(ServicePolicy(dnat=(DNAT,)))
    syn = TcpTalk(services, server=("10.0.0.2", 80)).client("S")
    entries = services.flow_entries(syn.connection)
    assert entries[0].params["ct_state"] == CT_STATE_NEW
    conn = services.restore(nic_counts(entries, (3, 180), (2, 130)))
    assert conn.state == TcpState.ESTABLISHED
    data = services.process(tcp("192.168.1.2", "10.0.0.1", 8080, 40000, "PA", 5001, 1001,
                                payload=b"response"), TX)
    assert data.verdict is Verdict.FORWARD and Ether(data.frame)[TCP].sport == 80
    half_open = services.restore(nic_counts(entries, (1, 60), (1, 60)))
    assert half_open.state == TcpState.SYN_RECV


def test_a_restored_flow_takes_its_snat_port_back():
    services = GuestServices(ServicePolicy(snat=(SNAT,)))
    first = services.process(udp("10.0.0.2", "1.1.1.1", 20000, 53), TX)
    entries = services.flow_entries(first.connection)
    services.end(first.connection)                       # e.g. the guest forgot it
    conn = services.restore(nic_counts(entries, (5, 500), (4, 400)))
    assert conn.snat is not None and conn.snat.port == 20000
    assert conn.state == DatagramState.REPLIED           # the reply side had packets
    other = services.process(udp("10.0.0.3", "1.1.1.1", 20000, 53), TX)
    assert Ether(other.frame)[IP].src == "198.51.100.7" and other.frame[34:36] == b"\x4e\x21"
    full = services.process(udp("10.0.0.4", "1.1.1.1", 20000, 53), TX)
    assert full.verdict is Verdict.DROP                  # both ports taken


def test_restore_replaces_what_the_engine_still_had():
    services = GuestServices(ServicePolicy(snat=(SNAT,)))
    old = services.process(udp("10.0.0.2", "1.1.1.1", 20000, 53), TX).connection
    entries = services.flow_entries(old)
    conn = services.restore(nic_counts(entries, (9, 900), (0, 0)))
    assert conn is not old and old.tier == "ended" and len(services) == 1
    assert conn.state == DatagramState.UNREPLIED and conn.snat.port == 20000


def test_a_restored_load_balanced_flow_keeps_its_backend():
    backend = Backend(ip("192.168.1.5"), 8080, "02:00:00:00:01:05")
    policy = ServicePolicy(load_balancers=(LoadBalancer(ip("10.0.0.100"), 80, 6, (backend,)),))
    services = GuestServices(policy)
    conn = services.process(tcp("172.16.0.1", "10.0.0.100", 40000, 80), RX).connection
    fresh = GuestServices(policy)
    restored = fresh.restore(services.flow_entries(conn))
    assert restored.backend is backend
    assert restored.state == TcpState.SYN_SENT           # ct NEW, no reply seen
    answer = fresh.process(tcp("192.168.1.5", "172.16.0.1", 8080, 40000, "SA", 5, 1), TX)
    assert answer.verdict is Verdict.FORWARD and Ether(answer.frame)[TCP].sport == 80
    assert restored.state == TcpState.SYN_RECV


def test_a_denied_flow_falls_back_denied():
    policy = ServicePolicy(firewall=Firewall(default="deny"))
    services = GuestServices(policy)
    conn = services.process(udp("1.1.1.1", "10.0.0.2", 1, 2), RX).connection
    restored = GuestServices(policy).restore(nic_counts(services.flow_entries(conn), (7, 70)))
    assert restored.denied and restored.reply_key is None and restored.counters(0) == (7, 70)


@pytest.mark.parametrize("change, message", [
    (lambda o, r: [r], "the original side's entry is missing"),
    (lambda o, r: [o, dataclasses.replace(r, side="original")], "given twice"),
    (lambda o, r: [dataclasses.replace(o, action="svc_to_guest"), r], "not a connection's action"),
    (lambda o, r: [dataclasses.replace(o, params={}), r], "svc_nat needs ct_state"),
    (lambda o, r: [o, dataclasses.replace(r, match={**r.match, "dport": 1})],
     "the reply side is keyed"),
    (lambda o, r: [o], "only a denied connection has no reply side"),
    (lambda o, r: [dataclasses.replace(o, match={**o.match, "ip_ver": 5}), r], "ip_ver"),
    (lambda o, r: [dataclasses.replace(o, match={"ip_ver": 4}), r], "missing src_addr"),
])
def test_entries_that_are_not_one_connection_are_refused_clearly(change, message):
    services = GuestServices(ServicePolicy(dnat=(DNAT,)))
    conn = services.process(tcp("10.0.0.1", "10.0.0.2", 40000, 80), RX).connection
    with pytest.raises(ValueError, match=message):
        services.restore(change(*services.flow_entries(conn)))
    assert services.find(conn.key) is conn               # nothing changed


def test_ending_a_connection_found_by_a_close_digest():
    services = GuestServices(ServicePolicy(snat=(SNAT,)))
    conn = established(services, client=("10.0.0.2", 20001), server=("1.1.1.1", 443),
                       direction=TX).connection
    digest = {"event": 1, "ip_ver": 4, "src_addr": int(ip("1.1.1.1")),
              "dst_addr": int(ip("198.51.100.7")), "proto": 6, "sport": 443, "dport": 20001}
    assert services.find(digest) is conn
    ended = services.end(services.find(digest))
    assert ended.tier == "ended" and ended.counters(0)[0] == 2 and len(services) == 0
    assert conn.snat is None
    again = services.process(udp("10.0.0.9", "1.1.1.1", 20001, 53), TX)
    assert again.frame[34:36] == b"\x4e\x21"             # port 20001 is free again
