"""Connections as `services.flow_table` entries, and entries read back into connections.

The contract with the offload manager: a connection is one entry per side, keyed by the flow
key as the NIC sees that side's packets arrive at the services stage (original side: the key of
the connection's first packet; reply side: the other end's packets, i.e. the translated flow
reversed), with the action that does to them what the engine does:

    svc_deny()                                      the firewall denies this side
    svc_allow(ct_state)                             passes untouched
    svc_nat(ct_state, src_addr, dst_addr, sport, dport)   NAT: the addresses and ports after it
    svc_lb(ct_state, backend_mac, backend_addr, backend_port)  load-balanced original side

and the side's (packets, bytes) so far as the entry's starting direct counter. `FlowEntry` is
plain data: `entry.table_entry(builder)` is `builder.table_entry("services.flow_table",
entry.match, entry.action, entry.params, counter=entry.counter)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from p4nic.runtime.nicdefs import CT_STATE_ESTABLISHED, CT_STATE_NEW
from p4nic.runtime.services.conntrack import ORIGINAL, REPLY, Connection
from p4nic.runtime.services.flows import FlowKey, reply_of
from p4nic.runtime.services.packets import Rewrite
from p4nic.runtime.values import to_int

TABLE = "services.flow_table"
SIDES = ("original", "reply")
ACTIONS = ("svc_allow", "svc_deny", "svc_nat", "svc_lb")
PARAMS = {"svc_allow": ("ct_state",), "svc_deny": (),
          "svc_nat": ("ct_state", "src_addr", "dst_addr", "sport", "dport"),
          "svc_lb": ("ct_state", "backend_mac", "backend_addr", "backend_port")}


class NotOffloadable(ValueError):
    """The connection does something no flow-table action can do; it stays in the guest."""


@dataclass(frozen=True)
class FlowEntry:
    """One side of a connection as a `services.flow_table` entry."""
    side: str                 # "original" or "reply"
    match: dict               # ip_ver, src_addr, dst_addr, proto, sport, dport
    action: str
    params: dict
    counter: tuple = (0, 0)   # (packets, bytes)

    def table_entry(self, builder):
        """The P4Runtime TableEntry (builder: p4nic.runtime.entities.EntityBuilder)."""
        return builder.table_entry(TABLE, self.match, self.action, self.params,
                                   counter=self.counter)


def offload_blocker(conn: Connection) -> str:
    """Why no flow-table action reproduces the connection ("" when they all can)."""
    for side, key in ((ORIGINAL, conn.key), (REPLY, conn.reply_key)):
        rewrite = conn.rewrites[side]
        if rewrite is None or not conn.allowed[side]:
            continue
        if key.ip_ver != 4:
            return "svc_nat and svc_lb rewrite IPv4 only; this is IPv6 NAT"
        if rewrite.dmac is not None and (rewrite.src, rewrite.sport) != (key.src, key.sport):
            return ("svc_lb rewrites the destination only: load balancing combined with "
                    "source NAT has no action")
    return ""


def flow_entries(conn: Connection) -> list:
    """The connection's entries: the original side's, then the reply side's (a connection the
    firewall denied has only the original side's). NotOffloadable if no action fits."""
    if conn.blocker:
        raise NotOffloadable(f"{conn.key}: {conn.blocker}")
    entries = []
    for side, key in ((ORIGINAL, conn.key), (REPLY, conn.reply_key)):
        if key is not None:
            action, params = _action(conn, side)
            entries.append(FlowEntry(SIDES[side], key.match_fields(), action, params,
                                     conn.counters(side)))
    return entries


def _action(conn: Connection, side: int) -> tuple:
    if not conn.allowed[side]:
        return "svc_deny", {}
    rewrite, ct_state = conn.rewrites[side], conn.ct_state
    if rewrite is None:
        return "svc_allow", {"ct_state": ct_state}
    address = conn.key.address
    if rewrite.dmac is not None:
        mac = ":".join(f"{b:02x}" for b in rewrite.dmac.to_bytes(6, "big"))
        return "svc_lb", {"ct_state": ct_state, "backend_mac": mac,
                          "backend_addr": str(address(rewrite.dst)),
                          "backend_port": rewrite.dport}
    return "svc_nat", {"ct_state": ct_state, "src_addr": str(address(rewrite.src)),
                       "dst_addr": str(address(rewrite.dst)), "sport": rewrite.sport,
                       "dport": rewrite.dport}


class OffloadedFlow(NamedTuple):
    """What a connection's entries say about it (read_entries)."""
    key: FlowKey
    reply_key: FlowKey | None
    allowed: tuple
    rewrites: tuple
    ct_state: int
    counters: tuple           # ((packets, bytes) original, (packets, bytes) reply)


def read_entries(entries) -> OffloadedFlow:
    """A connection's FlowEntry objects (with the counters read from the NIC) decoded; a
    ValueError says what is wrong with entries that are not the two sides of one connection."""
    by_side: dict = {}
    for entry in entries:
        if entry.side not in SIDES or entry.side in by_side:
            raise ValueError(f"flow entries: side {entry.side!r} is unknown or given twice")
        if entry.action not in ACTIONS:
            raise ValueError(f"flow entries: {entry.action!r} is not a connection's action "
                             f"({', '.join(ACTIONS)})")
        missing = [name for name in PARAMS[entry.action] if name not in entry.params]
        if missing:
            raise ValueError(f"flow entries: {entry.action} needs {', '.join(missing)}")
        by_side[entry.side] = entry
    if "original" not in by_side:
        raise ValueError("flow entries: the original side's entry is missing")
    original, reply = by_side["original"], by_side.get("reply")
    key = FlowKey.from_fields(original.match)
    rewrites = [_rewrite(original, key), None]
    allowed = [original.action != "svc_deny", True]
    reply_key = None
    if reply is not None:
        reply_key = FlowKey.from_fields(reply.match)
        rewrites[REPLY] = _rewrite(reply, reply_key)
        allowed[REPLY] = reply.action != "svc_deny"
        expected = reply_of(translated_key(key, rewrites[ORIGINAL]))
        if reply_key != expected:
            raise ValueError(f"flow entries: the reply side is keyed {reply_key}, but the "
                             f"original side's replies arrive as {expected}")
    elif allowed[ORIGINAL]:
        raise ValueError("flow entries: only a denied connection has no reply side")
    states = [to_int(e.params["ct_state"], "ct_state") for e in (original, reply)
              if e is not None and "ct_state" in e.params]
    ct_state = CT_STATE_ESTABLISHED if CT_STATE_ESTABLISHED in states else CT_STATE_NEW
    counters = (tuple(original.counter), tuple(reply.counter) if reply else (0, 0))
    return OffloadedFlow(key, reply_key, tuple(allowed), tuple(rewrites), ct_state, counters)


def _rewrite(entry: FlowEntry, key: FlowKey) -> Rewrite | None:
    params = {name: to_int(value, f"{entry.action}({name})")
              for name, value in entry.params.items()}
    if entry.action == "svc_nat":
        return Rewrite(key.ip_ver, params["src_addr"], params["dst_addr"], params["sport"],
                       params["dport"])
    if entry.action == "svc_lb":
        return Rewrite(key.ip_ver, key.src, params["backend_addr"], key.sport,
                       params["backend_port"], params["backend_mac"])
    return None


def translated_key(key: FlowKey, rewrite: Rewrite | None) -> FlowKey:
    """The key of the original side's packets after the rewrite."""
    if rewrite is None:
        return key
    if key.has_ports:
        return key._replace(src=rewrite.src, dst=rewrite.dst, sport=rewrite.sport,
                            dport=rewrite.dport)
    return key._replace(src=rewrite.src, dst=rewrite.dst)

