"""The offload method changes where a flow is served, never what happens to its packets.

Three hosts from the same file, differing only in their offload policy: one keeps every flow in
the guest's software, one hands flows to the VNIC, one on to the PNIC. Random conversations
(hypothesis) go through all three; every frame the guest receives and every frame that leaves
on the uplink must be the same, byte for byte, and so must the counters."""
import itertools
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from p4nic.runtime.traffic import uplink_of
from p4nic.runtime.up import RunningHost
from p4nic.runtime.wire import PacketWire

HOST = """
host {name} {{
    link vf 1
    vnic vm1 {{
        queues 4
        filters {{
            tcp dport {{80, 443}}  -> queue 2
            udp dport 53         -> queue 3
            default              -> rss
        }}
        tunnel vni 5001 to 02:00:00:00:0b:01 geneve
            local 192.0.2.1 remote 192.0.2.2 smac 02:00:00:00:00:01 dmac 02:00:00:00:00:02
        services {{
            firewall {{
                ct state established -> allow
                tcp dport 23         -> deny
                default              -> allow
            }}
            nat {{
                ip daddr 10.0.0.2 tcp dport 80 -> dnat 10.0.0.20
                ip daddr 10.0.0.2 udp dport 53 -> dnat 10.0.0.53
            }}
            offload {{
                {offload}
                idle 60s
            }}
        }}
    }}
    pnic nic0 {{
        vfs 2
        vf 1 vni 5001
        tunnel vni 5001 to 02:00:00:00:0b:01 geneve
            local 192.0.2.1 remote 192.0.2.2 smac 02:00:00:00:00:01 dmac 02:00:00:00:00:02
        network blue vni 5001 {{
            rx ether daddr 02:00:00:00:0a:01 -> vf 1
            tx in vf 1                        -> uplink
        }}
    }}
}}
"""
POLICIES = {
    "guest": "to vnic never\n                to pnic never",
    "vnic": "to vnic after 1 packets\n                to pnic never",
    "pnic": "to vnic after 1 packets\n                to pnic after 2 packets",
}
SETTLE_S = 0.25          # the manager looks every 0.1 s
ports = itertools.count(30000)


class Observed:
    """A host with a record of every frame its guest received."""

    def __init__(self, tmp_path, tier):
        path = tmp_path / f"{tier}.nic"
        path.write_text(HOST.format(name=f"d{tier}", offload=POLICIES[tier]))
        self.host = RunningHost(path, bmv2=False, run_dir=tmp_path / tier, register=False)
        self.host.start()
        self.received = []
        vswitch, app = self.host.host.vswitch, self.host.guest_app
        for port in range(1, 5):
            vswitch.tap("vm1", port, lambda frame, port=port: self._guest(port, frame, app))
        nic = self.host.describe()["nics"]["nic0"]
        self.uplink = PacketWire(nic["packet_socket"])
        self.peer = uplink_of(self.host.model, "nic0", 1)

    def _guest(self, port, frame, app):
        self.received.append((port, frame))
        app.receive(port, frame)

    def exchange(self, inner: bytes):
        """Send `inner` from the peer; (what the guest got, what came back on the uplink)."""
        before = len(self.received)
        self.uplink.send(0, self.peer.wrap(inner))
        answer = self.uplink.expect(port=0, timeout=10)
        time.sleep(SETTLE_S)
        return self.received[before:], answer[1] if answer else None

    def flow(self, sport):
        for flow in self.host.manager.snapshot()["flows"]:
            if f":{sport} " in flow["flow"]:
                return flow
        return None

    def close(self):
        self.uplink.close()
        self.host.stop()


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    made = {}
    try:
        for tier in POLICIES:
            made[tier] = Observed(tmp_path_factory.mktemp(tier), tier)
        yield made
    finally:
        for host in made.values():
            host.close()


def conversation(proto, sport, dport, payloads):
    """The peer's frames: a TCP handshake, data and close (the guest answers each), or UDP
    datagrams (echoed)."""
    base = Ether(src="02:00:00:00:0b:01", dst="02:00:00:00:0a:01") / IP(src="10.0.0.1",
                                                                        dst="10.0.0.2")
    if proto == "udp":
        return [bytes(base / UDP(sport=sport, dport=dport) / p) for p in payloads]
    return [("S", b""), *(("PA", p) for p in payloads), ("FA", b"")], base


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(proto=st.sampled_from(["tcp", "udp"]), dport_choice=st.sampled_from(["nat", "plain"]),
       payloads=st.lists(st.binary(min_size=1, max_size=200), min_size=2, max_size=4))
def test_output_is_the_same_whichever_tier_serves_the_flow(hosts, proto, dport_choice,
                                                          payloads):
    sport = next(ports)
    dport = {("tcp", "nat"): 80, ("tcp", "plain"): 443, ("udp", "nat"): 53,
             ("udp", "plain"): 5353}[(proto, dport_choice)]
    seen = {}
    for tier, host in hosts.items():
        seen[tier] = run_conversation(host, proto, sport, dport, payloads)
    assert seen["vnic"] == seen["guest"]
    assert seen["pnic"] == seen["guest"]
    reached = {tier: [m["to"] for m in (hosts[tier].flow(sport) or {"moves": []})["moves"]]
               for tier in hosts}
    assert reached["guest"] == []
    assert reached["vnic"][:1] == ["vnic"]
    assert reached["pnic"][:2] == ["vnic", "pnic"]


def run_conversation(host, proto, sport, dport, payloads):
    """Every frame the guest received and every answer on the uplink, and the counters."""
    frames = []
    if proto == "udp":
        for frame in conversation(proto, sport, dport, payloads):
            frames.append(host.exchange(frame))
    else:
        steps, base = conversation(proto, sport, dport, payloads)
        seq, ack = 1000, 0
        for flags, payload in steps:
            frame = bytes(base / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack,
                                     window=65535) / payload)
            got, answer = host.exchange(frame)
            frames.append((got, answer))
            if answer is None:
                break
            reply = Ether(host.peer.unwrap(answer))[TCP]
            seq = reply.ack
            ack = reply.seq + len(bytes(reply.payload)) + (1 if int(reply.flags) & 0x03 else 0)
    flow = host.flow(sport)
    return frames, flow["packets"] if flow else None
