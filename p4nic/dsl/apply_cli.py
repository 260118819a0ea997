"""`p4nic plan FILE` and `p4nic apply FILE`: converge the NICs a `.nic` file names to it.

    p4nic plan host.nic [--target vm1=127.0.0.1:9559] [--detailed-exitcode]
    p4nic apply host.nic [--target ...] [--atomic]

`plan` only reads (it does not arbitrate, so it never takes mastership from a running
controller); `apply` connects as the primary controller of each NIC with the file's device id,
election id and role, plans every NIC first (nothing is written if any NIC cannot be planned
or has conflicts), then applies NIC by NIC in file order. With `--atomic` a failure on one
NIC undoes what this apply wrote on it and on the NICs before it.

The file is read by `p4nic.dsl.load` (the DSL front end); `run()` is the command once the file
is loaded, taking {nic name: NicEntries} and {nic name: stage chains}.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import sys

from p4nic.dsl.apply import apply, plan, undo
from p4nic.dsl.plan import PlanError
from p4nic.dsl.render import emit, nic_title, plan_lines, result_lines
from p4nic.runtime.connection import Connection, P4RuntimeClientError

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
ADDRESS = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[^\s:\[\]]+):(\d{1,5})$")


class CommandError(Exception):
    """A problem with the command line, the file or a NIC, said in one message."""


def parser(command: str) -> argparse.ArgumentParser:
    what = {"plan": "show what `p4nic apply` would change on the NICs a .nic file names",
            "apply": "make the NICs a .nic file names hold what it declares"}[command]
    p = argparse.ArgumentParser(prog=f"p4nic {command}", description=what)
    p.add_argument("file", metavar="FILE", help="the .nic file")
    p.add_argument("--target", action="append", default=[], metavar="NAME=HOST:PORT",
                   help="reach NIC NAME at HOST:PORT instead of the file's address "
                        "(repeatable)")
    if command == "plan":
        p.add_argument("--detailed-exitcode", action="store_true",
                       help="exit 0 when nothing would change, 2 when something would, "
                            "1 on errors")
    else:
        p.add_argument("--atomic", action="store_true",
                       help="all or nothing: Write batches go out DATAPLANE_ATOMIC or "
                            "ROLLBACK_ON_ERROR where the NIC offers it, and a failure undoes "
                            "everything this apply wrote")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="rich output: on a terminal (auto), always or never")
    return p


def parse_targets(values: list) -> dict:
    """--target NAME=HOST:PORT values as {name: "host:port"}."""
    targets = {}
    for value in values:
        name, sep, address = value.partition("=")
        if not sep or not name or not ADDRESS.match(address) or int(address.rsplit(":", 1)[1]) > 65535:
            raise CommandError(f"--target {value}: expected NAME=HOST:PORT, e.g. "
                               "vm1=127.0.0.1:9559")
        targets[name] = address
    return targets


def load_file(path: str):
    """({nic name: NicEntries}, {nic name: stage chains}) of a .nic file."""
    from p4nic.dsl import DslError, load
    try:
        model = load(path)
        entries = model.entries()
        chains = {nic.name: model.stage_chains(nic.name) for nic in model.nics}
    except (DslError, OSError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    return entries, chains


def main(command: str, argv: list, out=None) -> int:
    options = parser(command).parse_args(argv)
    out = out or sys.stdout
    try:
        entries, chains = load_file(options.file)
    except CommandError as exc:
        print(f"p4nic {command}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return run(command, entries, chains, options, out)


def plan_main(argv: list) -> int:
    return main("plan", argv)


def apply_main(argv: list) -> int:
    return main("apply", argv)


# -- the command, once the file is loaded ------------------------------------------------------

def run(command: str, entries: dict, chains: dict, options, out=None) -> int:
    """`plan` or `apply` over the NICs of a loaded file; returns the exit status."""
    out = out or sys.stdout
    color = {"always": True, "never": False}.get(getattr(options, "color", "auto"))
    try:
        nics = with_targets(entries, parse_targets(options.target))
    except CommandError as exc:
        print(f"p4nic {command}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    connections = {}
    try:
        plans, failed = {}, False
        for name, nic_entries in nics.items():
            try:
                connections[name] = connect(nic_entries.target, primary=command == "apply")
                plans[name] = plan(nic_entries, connections[name])
            except (CommandError, PlanError, P4RuntimeClientError) as exc:
                print(f"p4nic {command}: {nic_title(nic_entries.target)}: {exc}", file=sys.stderr)
                failed = True
                continue
            emit(plan_lines(plans[name], chains=chains.get(name)), out, color)
            failed |= bool(plans[name].conflicts)
        if command == "plan":
            if failed:
                return EXIT_ERROR
            changes = any(not p.empty for p in plans.values())
            return EXIT_CHANGES if changes and options.detailed_exitcode else EXIT_OK
        if failed:
            print("p4nic apply: nothing was applied", file=sys.stderr)
            return EXIT_ERROR
        return apply_all(plans, connections, options.atomic, out, color)
    finally:
        for connection in connections.values():
            connection.close()


def with_targets(entries: dict, targets: dict) -> dict:
    """The NICs with their --target addresses; every NIC needs an address by now."""
    unknown = sorted(set(targets) - set(entries))
    if unknown:
        raise CommandError(f"--target {unknown[0]}: the file names no NIC '{unknown[0]}' "
                           f"(its NICs: {', '.join(entries) or 'none'})")
    nics = {}
    for name, nic_entries in entries.items():
        address = targets.get(name, nic_entries.target.address)
        if not address:
            raise CommandError(f"NIC '{name}' has no P4Runtime address in the file: give "
                               f"--target {name}=HOST:PORT")
        target = dataclasses.replace(nic_entries.target, address=address)
        nics[name] = dataclasses.replace(nic_entries, target=target)
    return nics


def connect(target, primary: bool) -> Connection:
    """A connection to the NIC; for apply, as its primary controller (or CommandError)."""
    connection = Connection(target.address, device_id=target.device_id,
                            election_id=target.election_id, role=target.role,
                            arbitrate=primary)
    if primary and not connection.is_primary:
        connection.close()
        raise CommandError(f"another controller is primary (this file's election id is "
                           f"{tuple(target.election_id)}{', role ' + target.role if target.role else ''}"
                           "); apply needs to be the primary")
    return connection


def apply_all(plans: dict, connections: dict, atomic: bool, out, color) -> int:
    """Apply the plans NIC by NIC; stop at the first NIC that fails (undoing, if atomic)."""
    done = []
    for name, the_plan in plans.items():
        result = apply(the_plan, connections[name], atomic=atomic)
        emit(result_lines(result), out, color)
        if result.ok:
            done.append((name, result))
            continue
        if atomic:
            for earlier, earlier_result in reversed(done):
                errors = [e for _, e in undo(earlier_result.applied, connections[earlier]) if e]
                state = (f"undo failed for {len(errors)} update(s): {errors[0]}" if errors
                         else "everything this apply wrote was undone")
                emit([[(nic_title(earlier_result.plan.target) + ": " + state,
                        "bold red" if errors else "")]], out, color)
        skipped = [n for n in plans if n not in {d[0] for d in done} and n != name]
        if skipped:
            print(f"p4nic apply: not applied to {', '.join(skipped)} (stopped at {name})",
                  file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK
