"""What the checker makes of a NIC's statements, before it becomes P4Runtime messages.

An `Entry` is one table entry in P4Info names with resolved numbers, tagged with the `Rule` it
came from, so the analysis (duplicate keys, rules that can never match, table sizes) can
speak of lines of the file, and compile.py only has to encode. A `CheckedNic` holds one NIC's
entries, action-profile members and groups, multicast groups, services policy and stage
chains.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from p4nic.compiler.errors import SourceLocation
from p4nic.dsl.errors import location
from p4nic.dsl.model import NicTarget, Origin


def origin(loc, statement: str) -> Origin:
    """An Origin (whose place is a real SourceLocation) for a statement at `loc`."""
    return Origin(location(loc), statement)


@dataclass(eq=False)
class Rule:
    """One statement of the file that produces entries (compared by identity)."""
    loc: SourceLocation
    origin: Origin
    ordered: bool = True       # first-match order of its block decides its priority
    user: bool = True          # written by the user (analysed), not made by the compiler


@dataclass
class Entry:
    """One table entry: `match` maps P4Info match-field names to (value, care) cubes, or to
    ("range", low, high) for range fields; absent fields are wildcards."""
    table: str                 # P4Info full table name
    match: dict
    priority: Optional[int]
    action: str                # P4Info full action name
    params: dict               # parameter name -> int
    rule: Rule
    default: bool = False      # the table's default entry (match empty)
    group_id: Optional[int] = None   # indirect tables: the entry points at a group


@dataclass
class Member:
    profile: str               # P4Info full action-profile name
    member_id: int
    action: str
    params: dict
    rule: Rule


@dataclass
class Group:
    profile: str
    group_id: int
    members: list              # member ids
    rule: Rule


@dataclass
class Multicast:
    group_id: int
    ports: list                # egress ports
    rule: Rule


@dataclass
class ChainStage:
    """One stage of a flow profile's pipeline: kind "fixed", "injected" or "bypassed"."""
    name: str
    kind: str


@dataclass
class StageChain:
    """The pipeline one flow profile's packets go through (what `plan` prints)."""
    profile: int
    bypass: int
    flows: str                 # which flows, in the file's words
    stages: list               # [ChainStage]


@dataclass
class CheckedNic:
    target: NicTarget
    names: object              # runtime.p4info.P4InfoNames of the NIC's program
    entries: list = field(default_factory=list)
    members: list = field(default_factory=list)
    groups: list = field(default_factory=list)
    multicast: list = field(default_factory=list)
    managed_defaults: set = field(default_factory=set)
    managed_profiles: set = field(default_factory=set)
    positional: dict = field(default_factory=dict)   # table -> priorities given by position
    services: object = None    # runtime.services.policy.ServicePolicy, VNICs only
    chains: list = field(default_factory=list)
    host_queues: list = field(default_factory=list)
    queues: int = 1            # a VNIC's RX queues (ports 1..queues)
