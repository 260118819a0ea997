"""The syntax tree of a `.nic` file, as the parser builds it: what was written, where.

Every node has `loc` (a `Pos`: file:line:column of its first word, and the line's text)
and `text` where a person will read it back (a rule as written, for plan output and
`Origin`s). Nothing here is checked yet: values are still words (`Value`), names may be
misspelt. p4nic/dsl/check.py gives them meaning.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from p4nic.compiler.errors import SourceLocation


class Pos:
    """Where a node starts. Reads like a SourceLocation (file, line, column, text) but costs
    little to make, since a big file has a node per word; `location()` is the real thing."""

    __slots__ = ("file", "line", "column", "_lines")

    def __init__(self, file: str, line: int, column: int, lines: list):
        self.file, self.line, self.column, self._lines = file, line, column, lines

    @property
    def text(self) -> str:
        return self._lines[self.line - 1]

    def location(self) -> SourceLocation:
        return SourceLocation(self.file, self.line, self.column, self.text)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def __eq__(self, other) -> bool:
        return (self.file, self.line, self.column) == (
            getattr(other, "file", None), getattr(other, "line", None),
            getattr(other, "column", None))

    def __hash__(self) -> int:
        return hash((self.file, self.line, self.column))


def location(loc):
    """A SourceLocation for a Pos (or a SourceLocation, or None)."""
    return loc.location() if isinstance(loc, Pos) else loc


@dataclass
class Value:
    """One value word: kind is "value" (80, 10.0.0.0/8, 00:11:..., 1024-65535), "name"
    (tcp, arp, established), "var" ($web, `text` without the $) or "masked" (`mask` set)."""
    kind: str
    text: str
    loc: SourceLocation
    mask: Optional["Value"] = None

    def __str__(self) -> str:
        if self.kind == "var":
            return "$" + self.text
        if self.kind == "masked":
            return f"{self.text}&&&{self.mask}"
        return self.text


@dataclass
class Values:
    """Alternatives of one field: `a|b|c`, a set `{a, b}`, or a single value."""
    items: list
    loc: SourceLocation
    is_set: bool = False

    def __str__(self) -> str:
        inner = ", ".join(str(v) for v in self.items)
        return "{" + inner + "}" if self.is_set else "|".join(str(v) for v in self.items)


@dataclass
class Field:
    """`dport 80`, `daddr 10.0.0.0/8`; `uplink` has no values."""
    name: str
    values: Optional[Values]
    loc: SourceLocation


@dataclass
class MatchItem:
    """`ip saddr X daddr Y`, `tcp dport 80`, `rx`: a selector and its fields."""
    selector: str
    fields: list
    loc: SourceLocation


@dataclass
class Match:
    """The conjunction of match items; no items (`any`) matches every packet."""
    items: list
    loc: SourceLocation
    text: str


@dataclass
class Port:
    """Where a packet goes: kind "vf" (value: the VF), "uplink", or "port" (value: the port)."""
    kind: str
    value: Optional[Value]
    loc: SourceLocation

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind} {self.value}"


@dataclass
class Action:
    """The right side of a rule. kind: queue, rss, drop, allow, mark, dscp, dmac, cpu, bypass,
    vcpu, forward, flood, snat, dnat; `args` holds its values by name."""
    kind: str
    args: dict
    loc: SourceLocation
    text: str


@dataclass
class Rule:
    """`MATCH -> ACTION [priority N]`; `default -> ACTION` has match None."""
    match: Optional[Match]
    action: Action
    priority: Optional[Value]
    loc: SourceLocation
    text: str


# ---- statements ----

@dataclass
class Define:
    name: str
    values: Values
    loc: SourceLocation


@dataclass
class Include:
    path: str
    loc: SourceLocation


@dataclass
class Setting:
    """`device 0`, `election 1`, `role guest`, `p4info "f"`, `program "f.p4"`, `queues 4`,
    `vfs 2`, and `p4runtime ADDRESS` (name "p4runtime"). `value` is a Value or a str (a
    string literal, quotes removed)."""
    name: str
    value: object
    loc: SourceLocation


@dataclass
class Block:
    """A block of rules: kind "filters", "firewall" or "nat"."""
    kind: str
    rules: list
    loc: SourceLocation


@dataclass
class NumaNode:
    node: Value
    vcpus: list           # [Value], each a number or a range
    queues: list
    loc: SourceLocation


@dataclass
class RssOver:
    vcpus: list
    loc: SourceLocation


@dataclass
class Pin:
    match: Match
    action: Action
    loc: SourceLocation
    text: str


@dataclass
class Numa:
    nodes: list
    rss: list             # [RssOver]
    pins: list
    loc: SourceLocation


@dataclass
class Stage:
    """An injected stage: `stage NAME before|after FIXED [for MATCH] { rules }`; `append stage
    NAME ...` has where "append" and anchor None."""
    name: str
    where: str            # "before", "after" or "append"
    anchor: Optional[str]
    anchor_loc: Optional[SourceLocation]
    selection: Optional[Match]
    rules: list
    loc: SourceLocation
    name_loc: SourceLocation


@dataclass
class Bypass:
    """`bypass STAGE, STAGE for MATCH`."""
    stages: list          # [(name, loc)]
    selection: Match
    loc: SourceLocation
    text: str


@dataclass
class Pipeline:
    statements: list      # Stage | Bypass, in file order
    loc: SourceLocation


@dataclass
class Special:
    """Sender-side criteria: items are (criterion name, loc) or (Match, loc) for `flow`."""
    items: list
    loc: SourceLocation


@dataclass
class Backend:
    address: Value
    options: dict         # "mac" / "weight" -> Value
    option_locs: dict
    loc: SourceLocation


@dataclass
class LoadBalancer:
    vip: Value
    proto: str
    proto_loc: SourceLocation
    backends: list
    loc: SourceLocation
    text: str


@dataclass
class OffloadStatement:
    """kind: after (tier, value), established (tier), never (tier), idle (value),
    capacity (tier, value)."""
    kind: str
    tier: Optional[str]
    value: Optional[Value]
    loc: SourceLocation


@dataclass
class Services:
    firewall: list        # [Block]
    nat: list             # [Block]
    balancers: list       # [LoadBalancer]
    offload: list         # [[OffloadStatement]] per offload block
    loc: SourceLocation


@dataclass
class VfVni:
    vf: Value
    vni: Value
    loc: SourceLocation
    text: str


@dataclass
class Tunnel:
    vni: Value
    mac: Value
    kind: str
    options: dict         # local/remote/smac/dmac -> Value
    option_locs: dict
    loc: SourceLocation
    text: str


@dataclass
class Network:
    name: str
    vni: Value
    rules: list
    loc: SourceLocation


@dataclass
class Arg:
    name: Optional[str]   # None: positional
    value: Value
    loc: SourceLocation


@dataclass
class Call:
    action: str
    args: list
    loc: SourceLocation
    text: str


@dataclass
class TableRule:
    """`FIELD VALUES ... -> action(args) [priority N]`; `default -> action(args)` has keys None."""
    keys: Optional[list]  # [(field name, Values, loc)]
    call: Call
    priority: Optional[Value]
    loc: SourceLocation
    text: str


@dataclass
class Table:
    name: str
    rules: list
    loc: SourceLocation


@dataclass
class Nic:
    kind: str             # "vnic", "pnic" or "nic"
    name: str
    statements: list
    loc: SourceLocation
    host: Optional[str] = None


@dataclass
class Link:
    vf: Value
    loc: SourceLocation


@dataclass
class Host:
    name: str
    nics: list
    links: list
    loc: SourceLocation


@dataclass
class File:
    """One parsed file; `path` as given (includes are resolved against its directory)."""
    path: str
    items: list = field(default_factory=list)   # Define | Include | Nic | Host
