"""Runs parsed STF commands against a Device in-process and checks the expected packets.

Semantics follow p4c's backends/bmv2/bmv2stf.py, which drives simple_switch:
- names are resolved as bmv2stf does: a table or action by exact name, else by a unique suffix;
  a key field by name, `name$`, `name.$valid$`, `h.valid` for `h.$valid$`, or a unique suffix;
- ternary values mask exactly the digits written (`0x0a**` is value 0x0a00, mask 0xff00), lpm
  values without `/LEN` take one prefix bit per bit written (`*` digits excluded);
- STF priorities are larger-wins, as our tables' are (bmv2stf turns p into BMv2's 10000 - p);
- packets are processed in file order; at the end, each port's output is compared with that
  port's `expect` lines in order, and output on a port the file never names is ignored (BMv2
  has no interface there). `*` in an expectation matches any nibble, a final `$` demands the
  exact length, otherwise a longer packet passes.
"""
from dataclasses import dataclass, field

from p4nic.nic.tables import LPM, OPTIONAL, RANGE, TERNARY, MatchTable, TableError
from p4nic.stf.parser import Command, Masked


class STFRunError(Exception):
    """A command that cannot be applied to the loaded program (unknown name, bad value)."""


@dataclass
class Expectation:
    pattern: str | None  # upper-case hex with `*` wildcards; None: any packet
    exact_length: bool
    line: int


@dataclass
class Outcome:
    """What a run produced: `failures` empty means every expectation held."""

    failures: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def parse_number(text: str, where: str) -> int:
    """An STF number without wildcards: 0x.., 0b.. or decimal."""
    if "*" in text:
        raise STFRunError(f"{where}: wildcard value {text} is only allowed for ternary and lpm keys")
    lowered = text.lower()
    try:
        if lowered.startswith("0x"):
            return int(lowered[2:], 16)
        if lowered.startswith("0b"):
            return int(lowered[2:], 2)
        return int(text, 10)
    except ValueError:
        raise STFRunError(f"{where}: '{text}' is not an integer") from None


def wildcard_value(text: str) -> tuple[int, int, int]:
    """(value, mask of the digits written, bits written) of 0x/0b text with `*` digits."""
    base_bits = 4 if text[:2].lower() == "0x" else 1
    digits = text[2:]
    all_ones = (1 << base_bits) - 1
    value = mask = 0
    for digit in digits:
        value <<= base_bits
        mask <<= base_bits
        if digit != "*":
            value |= int(digit, 16)
            mask |= all_ones
    return value, mask, base_bits * len(digits)


def pick(candidates: dict, wanted: str, what: str, where: str):
    """bmv2stf's lookup: exact name, else the one name ending with `wanted`. A suffix that is a
    whole name component (`t` in `ingress.t`) is preferred, so a short name is not made
    ambiguous by unrelated names that merely end in the same letters (`tbl_act`)."""
    if wanted in candidates:
        return candidates[wanted]
    components = [name for name in candidates if name.endswith("." + wanted)]
    if len(components) == 1:
        return candidates[components[0]]
    matches = components or [name for name in candidates if name.endswith(wanted)]
    if len(matches) == 1:
        return candidates[matches[0]]
    if matches:
        raise STFRunError(f"{where}: {what} '{wanted}' is ambiguous: {', '.join(sorted(matches))}")
    raise STFRunError(f"{where}: no {what} '{wanted}'")


def key_field_index(table, wanted: str, where: str) -> int:
    """Which key field an STF `FIELD:VALUE` names (bmv2stf's TableKeyInstance.set)."""
    names = [k.name for k in table.key]
    head, dollar, rest = wanted.partition("$")
    if dollar and rest[:1].isdigit():  # `stack$0.f` spells `stack[0].f`
        index = "".join(c for c in rest if c.isdigit())
        wanted = f"{head}[{index}]{rest[len(index):]}"
    tries = [wanted, wanted + "$", wanted + ".$valid$"]
    if wanted.endswith(".valid"):
        tries.append(wanted[:-len("valid")] + "$valid$")
    for name in tries:
        if name in names:
            return names.index(name)
    suffixed = [i for i, name in enumerate(names)
                if name.endswith("." + wanted) or name.endswith("." + wanted + "$")
                or (wanted == "valid" and name.endswith(".$valid$"))]
    if len(suffixed) == 1:
        return suffixed[0]
    if wanted == "valid" and "$valid$" in names:
        return names.index("$valid$")
    raise STFRunError(f"{where}: table {table.name} has no key field '{wanted}' "
                      f"(key: {', '.join(names) or 'none'})")


def match_value(kind: str, bitwidth: int, value, where: str):
    """An STF key value as the MatchValue our tables take for a field of `kind`."""
    if isinstance(value, Masked):  # VALUE&&&MASK
        if kind != TERNARY:
            raise STFRunError(f"{where}: VALUE&&&MASK is only for ternary keys")
        mask = parse_number(value.mask, where) & ((1 << bitwidth) - 1)
        return parse_number(value.value, where) & mask, mask
    if isinstance(value, tuple):  # VALUE/LEN
        if kind != LPM:
            raise STFRunError(f"{where}: VALUE/LEN is only for lpm keys")
        return parse_number(value[0], where), min(parse_number(value[1], where), bitwidth)
    wild = value[:2].lower() in ("0x", "0b")
    if kind == TERNARY:
        if not wild:
            return parse_number(value, where), (1 << bitwidth) - 1
        number, mask, _ = wildcard_value(value)
        return number, mask
    if kind == LPM:
        if not wild:
            return parse_number(value, where), bitwidth
        number, mask, written = wildcard_value(value)
        return number, min(bin(mask).count("1"), bitwidth, written)
    number = parse_number(value, where)
    if kind == RANGE:
        return number, number
    return (number,)  # exact, optional, valid


def default_match(key):
    """What bmv2stf puts for a key field the STF line leaves out (TableKeyInstance.__init__)."""
    if key.match_type in (TERNARY, LPM):
        return 0, 0
    if key.match_type == OPTIONAL:
        return None
    if key.match_type == RANGE:
        return 0, (1 << key.bitwidth) - 1
    return (0,)


class STFRunner:
    """Applies STF commands to `device` (a loaded Device) and collects its output packets."""

    def __init__(self, device):
        self.device = device
        self.state = device.state
        self.outcome = Outcome()
        self.named_entries: dict[str, tuple] = {}  # `= NAME` of add -> (table, handle)
        self.ports_named: set[int] = set()
        self.expected: dict[int, list[Expectation]] = {}
        self.received: dict[int, list[bytes]] = {}
        self.mc_nodes: list[tuple[int, list[int]]] = []  # node handle (index) -> (rid, ports)
        self.mc_groups: dict[int, list[int]] = {}  # group -> node handles, in association order

    def run(self, commands: list[Command], filename: str = "<stf>") -> Outcome:
        for command in commands:
            where = f"{filename}:{command.line}"
            handler = getattr(self, "do_" + command.name, None)
            if handler is None:
                self.outcome.failures.append(f"{where}: '{command.name}' is not supported yet")
                return self.outcome
            try:
                handler(command, where)
            except (STFRunError, TableError) as e:
                message = str(e) if str(e).startswith(where) else f"{where}: {e}"
                self.outcome.failures.append(message)
                return self.outcome
        self.compare()
        return self.outcome

    # ---- tables ------------------------------------------------------------------------------

    def table_and_action(self, command: Command, where: str):
        table = pick(self.state.tables, command.args["table"], "table", where)
        actions = {spec.name: spec for spec in table.actions.values()}
        spec = pick(actions, command.args["action"], f"action of table {table.name}", where)
        given = dict(command.args["action_args"])
        unknown = set(given) - set(spec.param_names)
        if unknown:
            raise STFRunError(f"{where}: action {spec.name} has no parameter '{sorted(unknown)[0]}'")
        missing = [p for p in spec.param_names if p not in given]
        if missing:
            raise STFRunError(f"{where}: action {spec.name} needs parameter '{missing[0]}'")
        args = tuple(parse_number(given[p], where) for p in spec.param_names)
        return table, spec.id, args

    def do_add(self, command: Command, where: str) -> None:
        table, action_id, args = self.table_and_action(command, where)
        match = [default_match(key) for key in table.key]
        for name, value in command.args["matches"]:
            i = key_field_index(table, name, where)
            key = table.key[i]
            match[i] = match_value(key.match_type, key.bitwidth, value, where)
        priority = command.args["priority"]
        if table.needs_priority:
            if priority is None:
                raise STFRunError(f"{where}: table {table.name} needs an entry priority")
            priority += 1  # P4Runtime priorities start at 1; order is unchanged
        else:
            priority = None
        handle = table.add(match, action_id, args, priority=priority)
        if command.args["entry_name"]:
            self.named_entries[command.args["entry_name"]] = (table, handle)

    def do_setdefault(self, command: Command, where: str) -> None:
        table, action_id, args = self.table_and_action(command, where)
        table.set_default(action_id, args)

    def do_remove_all(self, command: Command, where: str) -> None:
        for table in self.state.tables.values():
            if not table.is_const:
                table.clear()
        self.named_entries.clear()

    # ---- packets -----------------------------------------------------------------------------

    def do_packet(self, command: Command, where: str) -> None:
        port = command.args["port"]
        self.ports_named.add(port)
        try:
            out = self.device.process([(port, command.args["data"])])
        except Exception as e:  # a NIC bug is a failed test, reported like any other
            raise STFRunError(f"{where}: the NIC failed on this packet: {type(e).__name__}: {e}") from None
        for out_port, packet in out:
            self.received.setdefault(out_port, []).append(packet)

    def do_expect(self, command: Command, where: str) -> None:
        port = command.args["port"]
        self.ports_named.add(port)
        self.expected.setdefault(port, []).append(
            Expectation(command.args["pattern"], command.args["exact_length"], command.line))

    def do_no_packet(self, command: Command, where: str) -> None:
        """Nothing to record: any packet on a named port without an expectation fails anyway."""

    def do_wait(self, command: Command, where: str) -> None:
        """Packets are processed synchronously, so there is never anything to wait for."""

    def compare(self) -> None:
        failures = self.outcome.failures
        for port in sorted(self.ports_named):
            expected = self.expected.get(port, [])
            got = self.received.get(port, [])
            for i, (want, packet) in enumerate(zip(expected, got)):
                problem = packet_mismatch(want, packet)
                if problem:
                    failures.append(f"port {port}, packet {i + 1} (expect on line {want.line}): "
                                    f"{problem}\n  expected {format_pattern(want)}\n"
                                    f"  received {packet.hex().upper()}")
            if len(got) != len(expected):
                lines = [f"port {port}: expected {len(expected)} packet(s), received {len(got)}"]
                lines += [f"  missing:    {format_pattern(w)} (line {w.line})" for w in expected[len(got):]]
                lines += [f"  unexpected: {p.hex().upper()}" for p in got[len(expected):]]
                failures.append("\n".join(lines))
        ignored = sorted(set(self.received) - self.ports_named)
        if ignored:
            self.outcome.log.append(
                "note: output on port(s) " + ", ".join(map(str, ignored))
                + " not checked: the test names no such port (as with BMv2's interfaces)")

    # ---- multicast and mirroring, as simple_switch_CLI's mc_* and mirroring_* commands --------

    def numbers(self, command: Command, where: str) -> list[int]:
        return [parse_number(v, where) for v in command.args["values"]]

    def do_mc_mgrp_create(self, command: Command, where: str) -> None:
        (group,) = self.numbers(command, where)
        self.state.replication.create_group(group)
        self.mc_groups[group] = []

    def do_mc_node_create(self, command: Command, where: str) -> None:
        rid, *ports = self.numbers(command, where)
        self.mc_nodes.append((rid, ports))
        self.outcome.log.append(f"node was created with handle {len(self.mc_nodes) - 1}")

    def node(self, handle: int, where: str) -> tuple[int, list[int]]:
        if not 0 <= handle < len(self.mc_nodes):
            raise STFRunError(f"{where}: no multicast node with handle {handle}")
        return self.mc_nodes[handle]

    def do_mc_node_update(self, command: Command, where: str) -> None:
        handle, *ports = self.numbers(command, where)
        rid, _ = self.node(handle, where)
        self.mc_nodes[handle] = (rid, ports)
        for group, handles in self.mc_groups.items():
            if handle in handles:
                self.sync_group(group)

    def do_mc_node_associate(self, command: Command, where: str) -> None:
        group, handle = self.numbers(command, where)
        self.node(handle, where)
        if group not in self.mc_groups:
            raise STFRunError(f"{where}: multicast group {group} was not created")
        self.mc_groups[group].append(handle)
        self.sync_group(group)

    def sync_group(self, group: int) -> None:
        """Gives the replication engine the group's replicas: node by node, ports ascending."""
        replicas = [(port, rid) for handle in self.mc_groups[group]
                    for rid, ports in [self.mc_nodes[handle]] for port in sorted(ports)]
        self.state.replication.modify_group(group, replicas)

    def set_session(self, session: int, replicas: list, multicast_group: int = 0) -> None:
        replication = self.state.replication
        if session in replication.clone_sessions:
            replication.modify_session(session, replicas, multicast_group=multicast_group)
        else:
            replication.create_session(session, replicas, multicast_group=multicast_group)

    def do_mirroring_add(self, command: Command, where: str) -> None:
        session, port = self.numbers(command, where)
        self.set_session(session, [(port, 0)])

    def do_mirroring_add_mc(self, command: Command, where: str) -> None:
        """The session refers to the group, resolved per packet, so later changes to the group
        apply; like sswitch_CLI.py's mirroring_add_mc it need not exist yet."""
        session, group = self.numbers(command, where)
        self.set_session(session, [], multicast_group=group)

    def do_mirroring_delete(self, command: Command, where: str) -> None:
        (session,) = self.numbers(command, where)
        self.state.replication.delete_session(session)

    def do_mirroring_get(self, command: Command, where: str) -> None:
        (session,) = self.numbers(command, where)
        self.outcome.log.append(str(self.state.replication.get_session(session)))

    # ---- counters, registers, meters -----------------------------------------------------------

    def extern(self, kind: str, name: str, where: str):
        return pick(getattr(self.state, kind), name, kind[:-1], where)

    def read_counter(self, name: str, index: str, where: str) -> tuple[int, int]:
        """(bytes, packets) of counter `name` at `index`: a cell of a counter array, or the
        direct counter of a table entry given by handle or by `$NAME` from `add ... = NAME`."""
        if index.startswith("$"):
            if index[1:] not in self.named_entries:
                raise STFRunError(f"{where}: no entry was added with '= {index[1:]}'")
            table, handle = self.named_entries[index[1:]]
            return table.direct_counter(handle)
        counters = {**self.state.counters, **self.state.direct_counters}
        counter = pick(counters, name, "counter", where)
        if isinstance(counter, MatchTable):
            return counter.direct_counter(parse_number(index, where))
        return counter.read(parse_number(index, where))

    def do_check_counter(self, command: Command, where: str) -> None:
        nbytes, packets = self.read_counter(command.args["counter"], command.args["index"], where)
        actual = packets if command.args["kind"] == "packets" else nbytes
        wanted = parse_number(command.args["value"], where)
        comparison = command.args["comparison"]
        holds = {"==": actual == wanted, "!=": actual != wanted, "<": actual < wanted,
                 "<=": actual <= wanted, ">": actual > wanted, ">=": actual >= wanted}[comparison]
        if not holds:
            self.outcome.failures.append(
                f"{where}: counter {command.args['counter']}({command.args['index']}) "
                f"{command.args['kind']} is {actual}, expected {comparison} {wanted}")

    def do_counter_read(self, command: Command, where: str) -> None:
        name, index = command.args["values"]
        nbytes, packets = self.read_counter(name, index, where)
        self.outcome.log.append(f"{name}[{index}]= (packets={packets}, bytes={nbytes})")

    def do_counter_write(self, command: Command, where: str) -> None:
        """simple_switch_CLI's argument order: NAME INDEX PACKETS BYTES."""
        name, index, packets, nbytes = command.args["values"]
        self.extern("counters", name, where).write(
            parse_number(index, where), parse_number(nbytes, where), parse_number(packets, where))

    def do_register_read(self, command: Command, where: str) -> None:
        name, index = command.args["values"]
        value = self.extern("registers", name, where).read(parse_number(index, where))
        self.outcome.log.append(f"{name}[{index}]= {value}")

    def do_register_write(self, command: Command, where: str) -> None:
        name, index, value = command.args["values"]
        self.extern("registers", name, where).write(parse_number(index, where),
                                                    parse_number(value, where))

    def do_register_reset(self, command: Command, where: str) -> None:
        self.extern("registers", command.args["values"][0], where).reset()

    def meter_rates(self, pairs: list, where: str) -> list[tuple[float, int]]:
        """RATE:BURST pairs as simple_switch_CLI takes them (units per microsecond, units), as
        our meters take them (units per second, units)."""
        return [((float(rate) if "." in rate else parse_number(rate, where)) * 1e6,
                 parse_number(burst, where)) for rate, burst in pairs]

    def do_meter_set_rates(self, command: Command, where: str) -> None:
        name, index, pairs = command.args["values"][0], command.args["values"][1], command.args["values"][2:]
        self.extern("meters", name, where).set_rates(parse_number(index, where),
                                                      self.meter_rates(pairs, where))

    def do_meter_array_set_rates(self, command: Command, where: str) -> None:
        name, pairs = command.args["values"][0], command.args["values"][1:]
        meters = self.extern("meters", name, where)
        rates = self.meter_rates(pairs, where)
        for index in range(meters.size):
            meters.set_rates(index, rates)

    def do_meter_get_rates(self, command: Command, where: str) -> None:
        """Prints the rates as simple_switch_CLI does: units per microsecond, burst in units."""
        name, index = command.args["values"]
        rates = self.extern("meters", name, where).get_rates(parse_number(index, where))
        if rates is None:
            self.outcome.log.append(f"{name}[{index}]: not configured")
        for i, (rate, burst) in enumerate(rates or ()):
            self.outcome.log.append(f"{name}[{index}] {i}: info rate = {rate / 1e6:g}, burst size = {burst}")


def packet_mismatch(want: Expectation, packet: bytes) -> str | None:
    """Why `packet` does not meet `want` (p4c's tools/testutils.py compare_pkt), or None."""
    if want.pattern is None:
        return None
    got = packet.hex().upper()
    if want.exact_length and len(got) > len(want.pattern):
        return f"packet too long: {len(got) // 2} bytes, expected exactly {len(want.pattern) / 2:g}"
    if len(got) < len(want.pattern):
        return f"packet too short: {len(got) // 2} bytes, expected at least {len(want.pattern) / 2:g}"
    for i, nibble in enumerate(want.pattern):
        if nibble != "*" and nibble != got[i]:
            return f"differs at byte {i // 2} (nibble {i}): expected {nibble}, got {got[i]}"
    return None


def format_pattern(want: Expectation) -> str:
    if want.pattern is None:
        return "(any packet)"
    return want.pattern + ("$" if want.exact_length else "")
