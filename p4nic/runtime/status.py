"""`p4nic status [HOST]`: what a host brought up by `p4nic up` is doing, per tier.

    p4nic status            # the host that is up: its flows, queues, filters and last moves
    p4nic status --watch    # the same, live
    p4nic status --json     # for scripts

The flows, their tiers, counters and moves come from the host's own account (status.json,
which `p4nic up` refreshes twice a second); the VNIC's filter counters are read from the VNIC
over P4Runtime, without taking it over from the host.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from p4nic.runtime.up import running_host

TIERS = ("guest", "vnic", "pnic")


def filter_counters(described: dict) -> list:
    """(rule, packets, bytes) of every VNIC filter, read from the VNIC."""
    from p4.v1 import p4runtime_pb2

    from p4nic.runtime.connection import Connection, P4RuntimeClientError
    from p4nic.runtime.describe import Describer
    from p4nic.runtime.entities import EntityBuilder
    vnic = described["nics"].get(described.get("vnic") or "")
    if vnic is None:
        return []
    builder = EntityBuilder(vnic["p4info"])
    describer = Describer(builder.p4info)
    query = p4runtime_pb2.TableEntry(table_id=builder.names.table("filters").preamble.id)
    query.counter_data.SetInParent()
    try:
        with Connection(vnic["p4runtime"], device_id=vnic["device_id"], arbitrate=False,
                        timeout=5) as conn:
            found = conn.read(query)
    except P4RuntimeClientError:
        return []
    return [(describer.describe(entity), entity.table_entry.counter_data.packet_count,
             entity.table_entry.counter_data.byte_count) for entity in found]


def collect(described: dict) -> dict:
    run_dir = Path(described["run_dir"])
    try:
        status = json.loads((run_dir / "status.json").read_text())
    except (OSError, json.JSONDecodeError):
        status = {"flows": [], "moves": [], "ports": {}}
    status["nics"] = described["nics"]
    status["filters"] = [{"rule": rule, "packets": p, "bytes": b}
                         for rule, p, b in filter_counters(described)]
    return status


def render(status: dict, described: dict) -> Group:
    tiers = Table(title=f"host {described['host']}: flows per tier")
    for tier in TIERS:
        tiers.add_column(tier, justify="right")
    tiers.add_row(*(str(sum(1 for f in status["flows"] if f["tier"] == t)) for t in TIERS))

    flows = Table(title="flows")
    for column in ("flow", "tier", "state", "packets →/←", "bytes →/←", "NAT", "moves",
                   "kept because"):
        flows.add_column(column)
    for flow in status["flows"]:
        nat = " / ".join(n for n in flow.get("nat", []) if n) or "-"
        flows.add_row(flow["flow"], flow["tier"], flow["state"],
                      "/".join(map(str, flow["packets"])), "/".join(map(str, flow["bytes"])),
                      nat, " → ".join(m["to"] for m in flow["moves"]) or "-",
                      flow.get("blocked") or "")

    queues = Table(title="ports (frames in / out)")
    for column in ("NIC", "port", "in", "out"):
        queues.add_column(column)
    for nic, ports in status.get("ports", {}).items():
        for port, ways in sorted(ports.items(), key=lambda item: int(item[0])):
            queues.add_row(nic, port, str(ways.get("in", [0])[0]), str(ways.get("out", [0])[0]))

    filters = Table(title="VNIC filters")
    filters.add_column("rule")
    filters.add_column("packets", justify="right")
    for row in status["filters"]:
        filters.add_row(row["rule"], str(row["packets"]))

    moves = Table(title="last moves")
    for column in ("flow", "from", "to", "why"):
        moves.add_column(column)
    for move in status.get("moves", [])[-10:]:
        moves.add_row(move["flow"], move["from"], move["to"], move["why"])
    return Group(tiers, flows, queues, filters, moves)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="p4nic status", description=__doc__.split("\n")[0])
    parser.add_argument("host", nargs="?", help="the host's name (default: the one that is up)")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument("--watch", action="store_true", help="refresh until Ctrl-C")
    options = parser.parse_args(argv)
    try:
        described = running_host(options.host)
    except ValueError as exc:
        print(f"p4nic status: {exc}", file=sys.stderr)
        return 1
    if options.json:
        print(json.dumps(collect(described), indent=2))
        return 0
    console = Console()
    if not options.watch:
        console.print(render(collect(described), described))
        return 0
    with Live(render(collect(described), described), console=console,
              refresh_per_second=2) as live:
        while True:
            time.sleep(0.5)
            try:
                described = running_host(options.host)
            except ValueError:
                console.print("the host went down")
                return 0
            live.update(render(collect(described), described))
