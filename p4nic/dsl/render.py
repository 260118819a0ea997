"""Plans, apply results and stage chains as text: rich on a terminal, plain text elsewhere.

Everything is first laid out as lines of (text, style) segments; `plain()` joins the text
(what logs, pipes and tests see) and `emit()` prints rich styles when the stream is a
terminal. Plans read Terraform-style: per statement of the file (its `Origin`), the entities
it adds (+), modifies (~) or deletes (-), each named by table, fields, action and params.

Stage chains (`Model.stage_chains(nic)`): a list, one per flow profile, of objects or
mappings with `profile` (int), `flows` (what selects them, as the file says it) and `stages`
(each with `name` and `kind`: "fixed", "injected" or "bypassed"). Fixed stages print plain,
injected ones marked `+name`, bypassed ones struck (`~~name~~` in plain text).
"""
from __future__ import annotations

import sys

from p4nic.dsl.plan import ADD, DELETE, MODIFY
from p4nic.runtime.describe import Describer

STYLES = {"+": "green", "~": "yellow", "-": "red", "!": "bold red"}
STATUS_STYLES = {"applied": "green", "failed": "bold red", "not applied": "yellow",
                 "rolled back": "cyan", "unknown": "bold magenta"}
INDENT = "    "


def _part(obj, name, default=None):
    """An attribute or mapping key of a stage-chain item (see the module docstring)."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def nic_title(target, address=None) -> str:
    where = address or target.address or "no address"
    return f"{target.name} ({where}, device {target.device_id})"


# -- plans -----------------------------------------------------------------------------------

def plan_lines(plan, address=None, chains=None) -> list:
    """The plan of one NIC as lines; `chains` are its stage chains, if the file has any."""
    describe = Describer(plan.names)
    adds, modifies, deletes = (plan.count(a) for a in (ADD, MODIFY, DELETE))
    title = nic_title(plan.target, address)
    if plan.empty:
        summary = (f"no changes ({plan.unchanged} declared "
                   f"entit{'y' if plan.unchanged == 1 else 'ies'} installed as declared)")
    else:
        summary = (f"{adds} to add, {modifies} to change, {deletes} to delete, "
                   f"{plan.unchanged} unchanged")
    if plan.conflicts:
        summary += f"; {len(plan.conflicts)} conflict{'s' if len(plan.conflicts) > 1 else ''}"
    lines = [[(title, "bold"), (": " + summary, "")]]
    group = object()
    for change in plan.changes:
        if change.origin != group:
            group = change.origin
            header = str(change.origin) if change.origin else "no longer in the file"
            lines.append([("  " + header, "bold" if change.origin else "dim")])
        lines += change_lines(change, describe)
    for conflict in plan.conflicts:
        lines += conflict_lines(conflict, describe)
    for note in plan.notes:
        lines.append([("  note: " + note, "dim")])
    if chains:
        lines += chain_lines(chains)
    return lines


def change_lines(change, describe: Describer, prefix: str = "") -> list:
    """A change: its symbol and the entity's key, then the action (before and after)."""
    style = STYLES[change.symbol]
    lines = [[(INDENT + prefix, ""), (f"{change.symbol} {describe.key(change.entity)}", style)]]
    pad = INDENT + " " * len(prefix) + "    "
    if change.action == MODIFY and change.installed is not None:
        lines.append([(pad, ""), ("- " + describe.action(change.installed), "red")])
        lines.append([(pad, ""), ("+ " + describe.action(change.entity), "green")])
    elif change.action == MODIFY:
        lines.append([(pad, ""), ("+ " + describe.action(change.entity), "green")])
    else:
        shown = change.installed if change.action == DELETE else change.entity
        action = describe.action(shown)
        if action:
            lines.append([(pad + action, style)])
    return lines


def conflict_lines(conflict, describe: Describer) -> list:
    held = conflict.installed
    metadata = (held.table_entry.metadata if held.HasField("table_entry") else
                held.packet_replication_engine_entry.multicast_group_entry.metadata)
    return [
        [("  " + str(conflict.desired.origin), "bold")],
        [(INDENT, ""), ("! " + describe.key(conflict.desired.entity), STYLES["!"])],
        [(INDENT + "    the NIC holds this key with another controller's entry ("
          f"{describe.action(held)}, metadata {bytes(metadata)!r}): apply leaves it alone; "
          "delete it on the NIC or change the statement", "red")],
    ]


# -- stage chains ----------------------------------------------------------------------------

def chain_lines(chains) -> list:
    lines = [[("  stage chains (", "bold"), stage_segment("injected", "injected"), (", ", "bold"),
              stage_segment("bypassed", "bypassed"), ("):", "bold")]]
    for chain in chains:
        head = f"    profile {_part(chain, 'profile', '?')}  {_part(chain, 'flows', '')}"
        segments = [(head + "  ", "")]
        for index, stage in enumerate(_part(chain, "stages", ()) or ()):
            if index:
                segments.append((" > ", "dim"))
            name, kind = _part(stage, "name", str(stage)), _part(stage, "kind", "fixed")
            segments.append(stage_segment(name, kind))
        lines.append(segments)
    return lines


def stage_segment(name: str, kind: str) -> tuple:
    """(plain text, style) of one stage: rich strikes a bypassed stage; plain text marks it."""
    if kind == "injected":
        return (f"+{name}", "bold green")
    if kind == "bypassed":
        return StruckText(name), "strike dim"
    return (name, "")


class StruckText(str):
    """A bypassed stage's name: `~~name~~` in plain text, the bare name struck through in rich."""

    def __new__(cls, name: str):
        obj = super().__new__(cls, f"~~{name}~~")
        obj.name = name
        return obj


# -- apply results ---------------------------------------------------------------------------

def result_lines(result, address=None, verbose: bool = False) -> list:
    """One NIC's apply: a summary line; every change with its status when something failed
    (or `verbose`), so what is and is not on the NIC can be read off per update."""
    describe = Describer(result.plan.names)
    counts: dict = {}
    for outcome in result.outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    title = nic_title(result.plan.target, address)
    if not result.outcomes:
        summary = "nothing to do"
    elif result.ok:
        summary = f"{len(result.outcomes)} change{'s' if len(result.outcomes) > 1 else ''} applied"
    else:
        summary = "apply FAILED: " + ", ".join(f"{n} {status}" for status, n in counts.items())
        if result.rolled_back:
            summary += " (everything this apply wrote was undone)"
    summary += f" [{result.atomicity}]"
    lines = [[(title, "bold"), (": " + summary, "" if result.ok else "bold red")]]
    for note in result.notes:
        lines.append([("  note: " + note, "dim")])
    if result.ok and not verbose:
        return lines
    width = max(len(status) for status in STATUS_STYLES)
    group = object()
    for outcome in result.outcomes:
        change = outcome.change
        if change.origin != group:
            group = change.origin
            header = str(change.origin) if change.origin else "no longer in the file"
            lines.append([("  " + header, "bold" if change.origin else "dim")])
        status = f"{outcome.status:<{width}} "
        first, *rest = change_lines(change, describe)
        first[0] = (INDENT, "")
        lines.append([first[0], (status, STATUS_STYLES[outcome.status])] + first[1:])
        lines += [[(" " * (width + 1), "")] + line for line in rest]
        if outcome.error:
            lines.append([(INDENT + " " * (width + 1) + "  " + outcome.error, "red")])
        elif outcome.status == "not applied":
            lines.append([(INDENT + " " * (width + 1) + "  " + outcome.reason, "yellow")])
    return lines


# -- output ----------------------------------------------------------------------------------

def plain(lines: list) -> str:
    return "\n".join("".join(text for text, _ in line) for line in lines)


def emit(lines: list, stream=None, color=None) -> None:
    """Print lines: rich styles when `stream` is a terminal (or color=True), plain otherwise."""
    stream = stream or sys.stdout
    if color is None:
        color = hasattr(stream, "isatty") and stream.isatty()
    if not color:
        stream.write(plain(lines) + "\n")
        stream.flush()
        return
    from rich.console import Console
    from rich.text import Text
    console = Console(file=stream, highlight=False, soft_wrap=True, force_terminal=True)
    for line in lines:
        text = Text()
        for part, style in line:
            text.append(part.name if isinstance(part, StruckText) else part, style=style or None)
        console.print(text)
