"""`p4nic tables`, `p4nic table-dump` and `p4nic counters`: look at a running switch from the
shell, as simple_switch_CLI's show_tables / table_dump / counter_read do for BMv2.

They speak P4Runtime, not BMv2's Thrift protocol: P4Runtime is the switch's public control
API (p4nic has no Thrift server), the same commands then work on simple_switch_grpc and on any
P4Runtime target, and every name comes from the switch's own P4Info
(GetForwardingPipelineConfig), so no program files are needed. They only read, without
arbitration, so they never disturb the switch's controller.

    p4nic tables --grpc-addr 127.0.0.1:9559
    p4nic table-dump filters
    p4nic counters
"""
from __future__ import annotations

import argparse
import sys

from p4nic.proto import p4info_pb2
from p4nic.proto import p4runtime_pb2

from p4nic.runtime.p4info import P4InfoError, P4InfoNames

MATCH_KINDS = {kind: name.lower() for name, kind in p4info_pb2.MatchField.MatchType.items()}


def entries_text(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def hex_value(data: bytes, bitwidth: int) -> str:
    """A P4Runtime bytestring as hex padded to the field's width (BMv2's table_dump style)."""
    digits = max(1, (bitwidth + 3) // 4)
    return f"0x{int.from_bytes(data, 'big'):0{digits}x}"


def match_text(field_info, match) -> str:
    kind = match.WhichOneof("field_match_type")
    width = field_info.bitwidth
    if kind == "exact":
        return hex_value(match.exact.value, width)
    if kind == "lpm":
        return f"{hex_value(match.lpm.value, width)}/{match.lpm.prefix_len}"
    if kind == "ternary":
        return f"{hex_value(match.ternary.value, width)} &&& {hex_value(match.ternary.mask, width)}"
    if kind == "range":
        return f"{hex_value(match.range.low, width)} -> {hex_value(match.range.high, width)}"
    if kind == "optional":
        return hex_value(match.optional.value, width)
    return "?"


class SwitchView:
    """The switch's P4Info and read-only queries, names resolved through it."""

    def __init__(self, address: str, device_id: int):
        from p4nic.runtime.connection import Connection
        self.conn = Connection(address, device_id=device_id, arbitrate=False)
        try:
            p4info = self.conn.get_p4info()
        except Exception:
            self.conn.close()
            raise
        if not p4info.tables and not p4info.counters and not p4info.actions:
            self.conn.close()
            raise P4InfoError(f"the switch at {address} runs no P4 program yet (push one with "
                              "SetForwardingPipelineConfig, e.g. from p4runtime-shell)")
        self.names = P4InfoNames(p4info)
        self.p4info = p4info

    def close(self) -> None:
        self.conn.close()

    def entries(self, table, with_counter: bool) -> list:
        query = p4runtime_pb2.TableEntry(table_id=table.preamble.id)
        if with_counter:
            query.counter_data.SetInParent()
        return [e.table_entry for e in self.conn.read(query)]

    def default_entry(self, table):
        query = p4runtime_pb2.TableEntry(table_id=table.preamble.id, is_default_action=True)
        found = [e.table_entry for e in self.conn.read(query)]
        return found[0] if found else None

    def action_text(self, table_action) -> str:
        kind = table_action.WhichOneof("type")
        if kind == "action":
            action = self.names.by_id(table_action.action.action_id)
            widths = {p.id: (p.name, p.bitwidth) for p in action.params}
            params = ", ".join(f"{widths[p.param_id][0]}={hex_value(p.value, widths[p.param_id][1])}"
                               for p in table_action.action.params)
            return f"{action.preamble.name}({params})"
        if kind == "action_profile_member_id":
            return f"member {table_action.action_profile_member_id}"
        if kind == "action_profile_group_id":
            return f"group {table_action.action_profile_group_id}"
        return "(no action)"

    def entry_lines(self, table, entry) -> list[str]:
        fields = {f.id: f for f in table.match_fields}
        lines = [f"  {fields[m.field_id].name}: {match_text(fields[m.field_id], m)}"
                 for m in entry.match]
        lines.append(f"  action: {self.action_text(entry.action)}")
        if entry.HasField("counter_data"):
            data = entry.counter_data
            lines.append(f"  counter: {data.packet_count} packets, {data.byte_count} bytes")
        return lines


def tables(view: SwitchView, args) -> None:
    for table in sorted(view.p4info.tables, key=lambda t: t.preamble.name):
        keys = ", ".join(f"{f.name} ({MATCH_KINDS.get(f.match_type, 'other')}, {f.bitwidth})"
                         for f in table.match_fields) or "none"
        actions = ", ".join(view.names.by_id(ref.id).preamble.name for ref in table.action_refs)
        count = len(view.entries(table, with_counter=False))
        size = f"/{table.size}" if table.size else ""
        print(f"{table.preamble.name}: {count}{size} entries")
        print(f"  key: {keys}")
        print(f"  actions: {actions}")
        if table.const_default_action_id:
            print("  const default action")


def table_dump(view: SwitchView, args) -> None:
    table = view.names.table(args.table)
    counted = bool(table.direct_resource_ids) and any(
        c.direct_table_id == table.preamble.id for c in view.p4info.direct_counters)
    entries = view.entries(table, with_counter=counted)
    print(f"table {table.preamble.name}: {entries_text(len(entries))}")
    for number, entry in enumerate(entries):
        extra = f", priority {entry.priority}" if entry.priority else ""
        extra += ", const" if entry.is_const else ""
        print(f"entry {number}{extra}:")
        for line in view.entry_lines(table, entry):
            print(line)
    default = view.default_entry(table)
    if default is not None:
        print(f"default action: {view.action_text(default.action)}")


def counters(view: SwitchView, args) -> None:
    wanted = args.name
    shown = 0
    for counter in sorted(view.p4info.counters, key=lambda c: c.preamble.name):
        if wanted and _named(view, "counters", wanted) != counter.preamble.id:
            continue
        query = p4runtime_pb2.CounterEntry(counter_id=counter.preamble.id)
        if args.index is not None:
            query.index.index = args.index
        cells = [e.counter_entry for e in view.conn.read(query)]
        nonzero = [c for c in cells if args.all or c.data.packet_count or c.data.byte_count
                   or args.index is not None]
        print(f"counter {counter.preamble.name} ({counter.size} cells): "
              f"{len(nonzero)} shown" + ("" if args.all or args.index is not None else " (non-zero)"))
        for cell in nonzero:
            print(f"  [{cell.index.index}] {cell.data.packet_count} packets, "
                  f"{cell.data.byte_count} bytes")
        shown += 1
    for direct in sorted(view.p4info.direct_counters, key=lambda c: c.preamble.name):
        if wanted and _named(view, "direct_counters", wanted) != direct.preamble.id:
            continue
        table = view.names.by_id(direct.direct_table_id)
        entries = view.entries(table, with_counter=True)
        counted = [e for e in entries if args.all or e.counter_data.packet_count
                   or e.counter_data.byte_count]
        print(f"direct counter {direct.preamble.name} (table {table.preamble.name}, "
              f"{entries_text(len(entries))}): {len(counted)} shown"
              + ("" if args.all else " (non-zero)"))
        fields = {f.id: f for f in table.match_fields}
        for entry in counted:
            key = " ".join(f"{fields[m.field_id].name}={match_text(fields[m.field_id], m)}"
                           for m in entry.match) or "(keyless)"
            priority = f" priority {entry.priority}" if entry.priority else ""
            print(f"  {key}{priority}: {entry.counter_data.packet_count} packets, "
                  f"{entry.counter_data.byte_count} bytes")
        shown += 1
    if wanted and not shown:
        raise P4InfoError(f"no counter named '{wanted}'")


def _named(view: SwitchView, kind: str, name: str) -> int | None:
    """The id of object `name` of `kind`, or None when no object of that kind has that name."""
    try:
        return view.names.get(kind, name).preamble.id
    except P4InfoError:
        return None


def connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--grpc-addr", default="127.0.0.1:9559", metavar="HOST:PORT",
                        help="the switch's P4Runtime server (default 127.0.0.1:9559)")
    parser.add_argument("--device-id", type=int, default=0, metavar="N",
                        help="P4Runtime device id (default 0)")


def run(prog: str, command, configure, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=command.__doc__)
    connection_options(parser)
    configure(parser)
    args = parser.parse_args(argv)
    from p4nic.runtime.connection import P4RuntimeClientError
    try:
        view = SwitchView(args.grpc_addr, args.device_id)
    except (P4RuntimeClientError, P4InfoError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    try:
        command(view, args)
    except (P4RuntimeClientError, P4InfoError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    finally:
        view.close()
    return 0


tables.__doc__ = "List the tables of a running switch: entries, keys, actions (P4Runtime)."
table_dump.__doc__ = ("Print every entry of one table of a running switch: match key, priority, "
                      "action and data, direct counter; then the default action (P4Runtime).")
counters.__doc__ = ("Print the counters of a running switch: non-zero cells of indexed counters "
                    "and per-entry direct counters (P4Runtime).")


def tables_main(argv: list[str]) -> int:
    return run("p4nic tables", tables, lambda parser: None, argv)


def table_dump_main(argv: list[str]) -> int:
    def configure(parser):
        parser.add_argument("table", help="table name: full (VnicIngress.filters) or a unique "
                                          "suffix (filters)")
    return run("p4nic table-dump", table_dump, configure, argv)


def counters_main(argv: list[str]) -> int:
    def configure(parser):
        parser.add_argument("name", nargs="?", help="only this counter or direct counter")
        parser.add_argument("--index", type=int, metavar="I", help="only this cell")
        parser.add_argument("--all", action="store_true", help="zero cells and entries too")
    return run("p4nic counters", counters, configure, argv)
