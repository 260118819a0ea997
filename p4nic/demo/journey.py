"""`p4nic demo`, the main job: stateful service offload running by itself on a whole host.

It brings the host of `examples/host.nic` up (a VNIC and a PNIC as `p4nic switch` processes,
the file applied, the guest's services and the offload manager running, as `p4nic up` does),
opens TCP and UDP conversations through it from the physical network, and shows each flow's
journey — which tier served every packet (the guest's software, the VNIC, the PNIC), its NAT,
its counters — then a summary. Exit 0 only if every conversation was answered correctly, every
flow made the journey its policy promises, its counters equal what was sent, and a closed
connection left no entry behind on either NIC.
"""
from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from p4nic import pipelines
from p4nic.runtime.traffic import Conversation, Traffic, uplink_of
from p4nic.runtime.up import RunningHost
from p4nic.runtime.wire import PacketWire

HOST_FILE = "host.nic"
EXCHANGES = 4                  # data exchanges per conversation
SETTLE_S = 0.3                 # time for the manager (it looks every 0.1 s) to act on a round
PASS, FAIL = "[bold green]PASS[/]", "[bold red]FAIL[/]"
TIER_STYLE = {"guest": "yellow", "vnic": "cyan", "pnic": "magenta", "ended": "dim"}


def _tier(name: str) -> str:
    return f"[{TIER_STYLE.get(name, 'white')}]{name}[/]"


class Journey:
    """What one conversation's flow did, round by round."""

    def __init__(self, conversation: Conversation, label: str):
        self.conversation = conversation
        self.label = label
        self.rows: list = []           # (packet, served by, counted →/←)
        self.final: dict | None = None

    def tiers(self) -> list:
        """Where the flow has been: the guest, then every tier the manager moved it to."""
        moves = self.final["moves"] if self.final else []
        return ["guest"] + [move["to"] for move in moves]


def _flow(snapshot: dict, conversation: Conversation) -> dict | None:
    wanted = f":{conversation.sport} "
    for flow in snapshot["flows"]:
        if wanted in flow["flow"] and flow["flow"].startswith(conversation.proto):
            return flow
    return None


def run(console: Console, build_dir: Path | None, quiet: bool = False) -> int:
    """The demo; with `quiet`, only the summary (and the host's facts) is printed."""
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        run_dir = (build_dir or Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="p4nic-demo-")))) / "h1"
        pipelines.p4src_dir()                   # a broken install says so first
        path = pipelines.examples_dir() / HOST_FILE
        console.print(f"[bold]p4nic demo[/]: stateful services offloaded by themselves — "
                      f"guest → VNIC → PNIC — on the host of {escape(str(path.name))}\n")
        host = RunningHost(path, bmv2=False, run_dir=run_dir, register=False)
        stack.callback(host.stop)
        host.start()
        described = host.describe()
        _print_host(console, described, time.monotonic() - started)
        uplink = uplink_of(host.model, host.pnic, host.vf)
        wire = stack.enter_context(PacketWire(described["nics"][host.pnic]["packet_socket"]))
        conversations = [Conversation("tcp", 42000, 80), Conversation("tcp", 42001, 443),
                         Conversation("udp", 42002, 53)]
        journeys = {id(c): Journey(c, f"{c.proto} {uplink.peer_ip}:{c.sport} → "
                                      f"{uplink.guest_ip}:{c.dport}")
                    for c in conversations}
        traffic = Traffic(wire, uplink)
        before = host.manager.snapshot()       # where each flow is as its next round goes out
        for sent in traffic.rounds(conversations, EXCHANGES):
            time.sleep(SETTLE_S)
            after = host.manager.snapshot()
            for conversation, what in sent:
                served = _flow(before, conversation)
                counted = _flow(after, conversation)
                journeys[id(conversation)].rows.append((
                    what, served["tier"] if served else "guest",
                    "/".join(map(str, counted["packets"])) if counted else "-"))
            before = after
        time.sleep(SETTLE_S)
        final = host.manager.snapshot()
        for journey in journeys.values():
            journey.final = _flow(final, journey.conversation)
            if not quiet:
                _print_journey(console, journey)
        leftovers = _flow_entries(host)
        ok = _summary(console, list(journeys.values()), leftovers, host,
                      time.monotonic() - started)
        if build_dir is not None:
            console.print(f"The host's programs, switch logs and state are in {run_dir}/")
    return 0 if ok else 1


def _print_host(console: Console, described: dict, seconds: float) -> None:
    table = Table(title=f"host {described['host']} up in {seconds:.1f} s "
                        "(p4nic up: switches, pipelines, file, guest, offload manager)",
                  title_justify="left")
    for column in ("NIC", "kind", "P4Runtime", "packet socket"):
        table.add_column(column, no_wrap=True)
    for name, nic in described["nics"].items():
        table.add_row(name, nic["kind"], nic["p4runtime"], nic["packet_socket"])
    console.print(table)


def _print_journey(console: Console, journey: Journey) -> None:
    nat = " / ".join(n for n in journey.final["nat"] if n) if journey.final else ""
    console.print(f"\n[bold]{escape(journey.label)}[/]" + (f"   NAT: {escape(nat)}" if nat else ""))
    table = Table()
    for column in ("#", "the peer sends", "served by", "packets counted →/←"):
        table.add_column(column)
    for number, (what, tier, counted) in enumerate(journey.rows, 1):
        table.add_row(str(number), what, _tier(tier), counted)
    for move in journey.final["moves"] if journey.final else []:
        table.add_row("", f"[dim]moved {move['from']} → {move['to']}: {escape(move['why'])}[/]",
                      "", "")
    console.print(table)


def _flow_entries(host: RunningHost) -> dict:
    """How many services.flow_table entries each NIC still holds."""
    from p4.v1 import p4runtime_pb2

    from p4nic.runtime.entities import EntityBuilder
    counts = {}
    for name, nic in host.host.nics.items():
        builder = EntityBuilder(nic.p4info_path)
        table = builder.names.table("services.flow_table").preamble.id
        counts[name] = len(host.host.controller(name).read(
            p4runtime_pb2.TableEntry(table_id=table)))
    return counts


def _summary(console: Console, journeys: list, leftovers: dict, host: RunningHost,
             seconds: float) -> bool:
    table = Table(title=f"Summary ({seconds:.1f} s)", title_justify="left")
    for column in ("flow", "journey", "sent", "answered", "counted", "result"):
        table.add_column(column)
    ok = True
    for journey in journeys:
        conversation = journey.conversation
        tiers = journey.tiers()
        expected = ["guest", "vnic", "pnic"] + (["guest"] if conversation.proto == "tcp" else [])
        counted = journey.final["packets"] if journey.final else None
        sent_per_side = [len(journey.rows), conversation.answered]
        checks = [conversation.lost == 0, conversation.wrong == 0, tiers == expected,
                  counted == sent_per_side]
        passed = all(checks)
        ok &= passed
        table.add_row(journey.label, " → ".join(_tier(t) for t in tiers),
                      str(len(journey.rows)), f"{conversation.answered}"
                      + (f" ({conversation.wrong} wrong)" if conversation.wrong else ""),
                      "/".join(map(str, counted)) if counted else "-", PASS if passed else FAIL)
    console.print(table)
    closed = all(count <= _open_entries(host) for count in leftovers.values())
    console.print(f"flow-table entries left on the NICs: {leftovers}  "
                  f"{PASS if closed else FAIL}")
    return ok and closed


def _open_entries(host: RunningHost) -> int:
    """Entries the flows still open may hold: two per side on the VNIC (entry and pass-through)."""
    return sum(4 for flow in host.manager.snapshot()["flows"] if flow["tier"] in ("vnic", "pnic"))
