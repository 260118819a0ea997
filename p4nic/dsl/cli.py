"""`p4nic check FILE...` and `p4nic entries FILE`: the DSL front end on the command line.

check   parses and checks; prints every error (file:line:column, the line, a caret) and
        warning; exit 0 when clean (warnings allowed), 1 on errors.
entries prints what a file asks each NIC for, as P4Runtime text format or JSON, without
        reaching any NIC: for review and golden tests.

Neither ever prints a traceback: a bad file is an error message, and so is a bug (reported as
an internal error, exit 1).
"""
from __future__ import annotations

import argparse
import json
import sys

from google.protobuf import json_format, text_format

from p4nic.dsl.errors import DslError, suggest


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"p4nic {prog}", description=description)
    parser.add_argument("--p4info", metavar="FILE",
                        help="P4Info of every generic `nic` block that names no program")
    return parser


def _load(path: str, p4info):
    from p4nic.dsl import load
    return load(path, p4info=p4info)


def check_main(argv) -> int:
    parser = _parser("check", "Parse and check .nic pipeline files.")
    parser.add_argument("files", nargs="+", metavar="FILE")
    options = parser.parse_args(argv)
    status = 0
    for path in options.files:
        try:
            model = _load(path, options.p4info)
        except DslError as exc:
            for warning in exc.warnings:
                print(warning, file=sys.stderr)
            print(exc, file=sys.stderr)
            print(f"{path}: {_count(len(exc.errors), 'error', 'errors')}"
                  + (" (stopped there)" if exc.truncated else ""), file=sys.stderr)
            status = 1
            continue
        except Exception as exc:        # a bug, not the user's fault: no traceback either
            print(f"p4nic check: internal error on {path}: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            status = 1
            continue
        for warning in model.warnings:
            print(warning, file=sys.stderr)
        parts = [f"{t.name} ({t.kind}): {_count(model.entity_count(t.name), 'entity', 'entities')}"
                 for t in model.nics]
        note = f", {_count(len(model.warnings), 'warning', 'warnings')}" if model.warnings else ""
        print(f"{path}: ok{note}" + (" — " + "; ".join(parts) if parts else ""))
    return status


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def entries_main(argv) -> int:
    parser = _parser("entries", "Print the P4Runtime entities a .nic file asks each NIC for.")
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--json", action="store_true", help="JSON instead of text format")
    parser.add_argument("--nic", metavar="NAME", help="only this NIC")
    options = parser.parse_args(argv)
    try:
        model = _load(options.file, options.p4info)
    except DslError as exc:
        print(exc, file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"p4nic entries: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    for warning in model.warnings:
        print(warning, file=sys.stderr)
    entries = model.entries()
    if options.nic is not None:
        if options.nic not in entries:
            print(f"p4nic entries: {options.file} has no NIC named '{options.nic}'"
                  + suggest(options.nic, entries), file=sys.stderr)
            return 1
        entries = {options.nic: entries[options.nic]}
    if options.json:
        json.dump({"nics": [_as_json(e, model.summaries(name)) for name, e in entries.items()]},
                  sys.stdout, indent=1)
        print()
    else:
        for name, nic in entries.items():
            sys.stdout.write(_as_text(nic, model.summaries(name)))
    return 0


def _target_line(target) -> str:
    where = target.address or "no address (given by `p4nic up` or --target)"
    high, low = target.election_id
    election = low if not high else f"{high}:{low}"
    role = f", role {target.role}" if target.role else ""
    return (f"nic {target.name} ({target.kind}): p4runtime {where}, device "
            f"{target.device_id}, election {election}{role}")


def _as_text(nic, summaries) -> str:
    lines = [f"# {_target_line(nic.target)}"]
    for title, names in (("default entries owned", nic.managed_defaults),
                         ("action profiles owned", nic.managed_profiles)):
        if names:
            lines.append(f"# {title}: {', '.join(sorted(names))}")
    for desired, summary in zip(nic.entities, summaries):
        lines.append(f"# {desired.origin}")
        lines.append(f"#   {summary}")
        lines.append(text_format.MessageToString(desired.entity).rstrip())
    return "\n".join(lines) + "\n\n"


def _as_json(nic, summaries) -> dict:
    target = nic.target
    return {
        "name": target.name, "kind": target.kind, "address": target.address,
        "device_id": target.device_id, "election_id": list(target.election_id),
        "role": target.role,
        "managed_defaults": sorted(nic.managed_defaults),
        "managed_profiles": sorted(nic.managed_profiles),
        "entities": [{"origin": str(d.origin), "summary": summary,
                      "entity": json_format.MessageToDict(d.entity,
                                                          preserving_proto_field_name=True)}
                     for d, summary in zip(nic.entities, summaries)],
    }
