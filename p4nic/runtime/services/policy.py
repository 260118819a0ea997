"""A guest's service configuration and offload policy, as plain data.

The pipeline DSL's `services` statements compile to these objects (`p4nic.dsl`), the guest
service engine runs them (`p4nic.runtime.services`), and the offload manager reads
`OffloadPolicy`. Nothing here talks to a NIC.

Flow matches name fields the way the NIC flow key does (docs/pipelines.md, "Flow key"): IP
version, source and destination prefix, IP protocol, source and destination ports. A field
left as None matches anything. Ports are tuples of inclusive (low, high) ranges, so
`{80, 443}` is ((80, 80), (443, 443)) and `1024-65535` is ((1024, 65535),).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Optional, Tuple

PortRanges = Tuple[Tuple[int, int], ...]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class FlowMatch:
    """Which flows a service rule applies to; None fields are wildcards."""
    ip_ver: Optional[int] = None
    src: Optional[Network] = None
    dst: Optional[Network] = None
    proto: Optional[int] = None
    sport: Optional[PortRanges] = None
    dport: Optional[PortRanges] = None


@dataclass(frozen=True)
class FirewallRule:
    """First matching rule wins; `origin` is the rule in the file's words (file:line: text)."""
    match: FlowMatch
    verdict: str                      # "allow" or "deny"
    origin: str = ""


@dataclass(frozen=True)
class Firewall:
    rules: Tuple[FirewallRule, ...] = ()
    allow_established: bool = True    # packets of a tracked connection pass before any rule
    default: str = "allow"            # verdict when no rule matches: "allow" or "deny"


@dataclass(frozen=True)
class SourceNat:
    """Rewrite the source of matching new flows to `to_addr`, ports taken from `ports`."""
    match: FlowMatch
    to_addr: Address
    ports: Tuple[int, int] = (1024, 65535)
    origin: str = ""


@dataclass(frozen=True)
class DestinationNat:
    """Rewrite the destination of matching new flows to `to_addr` (and `to_port`, if given)."""
    match: FlowMatch
    to_addr: Address
    to_port: Optional[int] = None
    origin: str = ""


@dataclass(frozen=True)
class Backend:
    addr: Address
    port: int
    mac: str                          # "02:00:00:00:01:0a": the backend's next-hop MAC
    weight: int = 1


@dataclass(frozen=True)
class LoadBalancer:
    """New flows to vip:port (protocol proto) go to one backend, chosen once per flow."""
    vip: Address
    port: int
    proto: int                        # 6 TCP, 17 UDP
    backends: Tuple[Backend, ...]
    origin: str = ""


@dataclass(frozen=True)
class OffloadPolicy:
    """When a flow moves guest -> VNIC -> PNIC. None: never by that criterion."""
    to_vnic_after_packets: Optional[int] = 1
    to_vnic_when_established: bool = False
    to_pnic_after_packets: Optional[int] = None
    to_pnic_when_established: bool = False
    idle_timeout_s: float = 30.0      # a flow idle this long is ended on every tier
    vnic_capacity: int = 1024         # flows the VNIC may hold (its flow_table is larger)
    pnic_capacity: int = 1024


@dataclass(frozen=True)
class ServicePolicy:
    """Everything the guest's services do, in the order they apply to a new flow:
    firewall, then destination NAT or load balancing, then source NAT."""
    firewall: Firewall = field(default_factory=Firewall)
    dnat: Tuple[DestinationNat, ...] = ()
    snat: Tuple[SourceNat, ...] = ()
    load_balancers: Tuple[LoadBalancer, ...] = ()
    offload: OffloadPolicy = field(default_factory=OffloadPolicy)
