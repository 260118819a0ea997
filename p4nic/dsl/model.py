"""A checked `.nic` file as data: the NICs it names and, per NIC, what it wants installed.

This is the contract between the DSL's front end (grammar, checker, compiler: it builds these
objects), plan/apply (which converges a running NIC to `NicEntries`), and the offload engine
and `p4nic up` (which read `NicTarget` and the services policy). Nothing here parses or talks
to a NIC.

Ownership (docs/dsl.md, "What a file owns"): the DSL changes only what it owns on a NIC, so
flows written at run time (a guest, the offload manager, a p4runtime-shell session) are never
touched:

- table match entries and multicast groups carry `OWNER_COOKIE` at the start of their
  `metadata` bytes; those, and only those, are the DSL's;
- the default entry of every table in `managed_defaults` is the DSL's: one the file sets is
  in `entities`, the others are reset to the program's own default;
- every member and group of the action profiles in `managed_profiles` is the DSL's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from p4nic.compiler.errors import SourceLocation

OWNER_COOKIE = b"p4nic-dsl"


@dataclass(frozen=True)
class Origin:
    """Where a desired entity comes from, in the file's own words."""
    loc: SourceLocation               # the statement (file:line:column, with the line's text)
    statement: str                    # one line a person reads: "filter: tcp dport 80 -> queue 2"

    def __str__(self) -> str:
        return f"{self.loc.file}:{self.loc.line}: {self.statement}"


@dataclass(frozen=True)
class NicTarget:
    """One NIC a file names, and how to reach it over P4Runtime."""
    name: str
    kind: str                         # "vnic", "pnic" or "generic" (any P4Info)
    address: Optional[str]            # "host:port"; None: left to `p4nic up` or --target
    device_id: int = 0
    election_id: tuple = (0, 1)       # (high, low)
    role: str = ""                    # P4Runtime role name; "" is the default role
    p4info: object = None             # p4.config.v1.p4info_pb2.P4Info the entries are built for
    loc: Optional[SourceLocation] = None


@dataclass
class DesiredEntity:
    """One P4Runtime entity the file wants on a NIC."""
    entity: object                    # p4.v1.p4runtime_pb2.Entity
    origin: Origin
    positional: bool = False          # its priority comes from its rule's place in a block


@dataclass
class NicEntries:
    """Everything a file wants installed on one NIC, in a deterministic order."""
    target: NicTarget
    entities: list = field(default_factory=list)          # [DesiredEntity]
    managed_defaults: frozenset = frozenset()             # P4Info full table names
    managed_profiles: frozenset = frozenset()             # P4Info full action-profile names
