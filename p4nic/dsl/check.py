"""The checker: a parsed file's statements, given meaning on each NIC's P4Info.

Every statement is checked against what the NIC has: tables and fields in its P4Info, queues
(`queues N`), VFs (`vfs N`), NUMA nodes and their vCPUs; values against their fields. What
passes becomes `checked.Entry`s (and members, groups, multicast groups) in P4Info names. The
checker carries on after an error, so every independent mistake is reported at once.

Priorities: within a block, rules apply in the order written (the first that matches wins):
the first rule of a table gets PRIORITY_BASE, the next one less, and so on through the file
(P4Runtime: a larger priority wins). A block may instead give every rule `priority N`, used
as written; a block mixing the two is refused, since no reading of it is obvious.
"""
from __future__ import annotations

from pathlib import Path

from p4nic.compiler.errors import SourceLocation
from p4nic.dsl import ast, values
from p4nic.dsl import fields as F
from p4nic.dsl.checked import CheckedNic, Entry, Rule, origin
from p4nic.dsl.errors import location
from p4nic.dsl.match import describe_allowed, resolve
from p4nic.dsl.model import NicTarget
from p4nic.dsl.values import BadValue
from p4nic.runtime.p4info import P4InfoError, P4InfoNames

PRIORITY_BASE = 1_000_000
MAX_PORT = 254                 # ports 1..254: port 255 is the NICs' CPU port

# Tables a vnic/pnic block's statements write; the file owns their default entries.
MANAGED = {
    "vnic": ("filters", "rx_default", "classify", "slot_after_classify", "slot_after_filter",
             "slot_after_acl", "slot_after_services", "slot_after_qselect", "slot_after_encap",
             "services.flow_table", "steering.flow_affinity", "steering.rss_indirection",
             "steering.vcpu_node", "steering.numa_queues", "marking.special_criteria",
             "encap.tunnel"),
    "pnic": ("vf_vni", "special_path", "policy", "services.flow_table",
             "steering.flow_affinity", "steering.rss_indirection", "steering.vcpu_node",
             "steering.numa_queues", "marking.special_criteria", "encap.tunnel"),
}
SELECTOR = "steering.numa_queues"

STATEMENTS = {        # statement -> NIC kinds it belongs to
    "filters": ("vnic",), "pipeline": ("vnic",), "services": ("vnic",), "queues": ("vnic",),
    "vfs": ("pnic",), "vf": ("pnic",), "network": ("pnic",), "special-path": ("pnic",),
    "numa": ("vnic", "pnic"), "special": ("vnic", "pnic"), "tunnel": ("vnic", "pnic"),
}


class NicChecker:
    """Checks one NIC block; `run()` returns its CheckedNic (None if its P4Info is unusable)."""

    def __init__(self, nic: ast.Nic, defines: values.Defines, errors, p4info, target: NicTarget):
        self.nic = nic
        self.defines = defines
        self.errors = errors
        self.names = P4InfoNames(p4info)
        self.out = CheckedNic(target, self.names)
        self.kind = nic.kind
        self.queues = 1
        self.vfs = 1
        self._order = {}               # table -> ordered rules so far
        self._missing = set()
        self._tables = {}
        self._actions = {}
        self._table_fields = {}
        self.nodes = {}                # NUMA node -> (vcpus, queues)
        self.vcpu_node = {}
        self.host_queues = set()
        self.claimed = {}              # table -> statement kind that writes it
        self.defaults_set = {}         # table -> where the file sets its default
        self.networks = {}             # network name -> ast.Network
        self.network_vnis = {}         # VNI -> network name
        self.floods = {}               # sorted ports -> multicast group id

    # -- helpers used by the statement checkers ------------------------------------------------

    def error(self, message: str, loc) -> None:
        self.errors.error(message, loc)

    def table(self, short: str, loc):
        """The P4Info table `short` (a unique suffix), or None after one error per table."""
        found = self._tables.get(short)
        if found is not None:
            return found
        try:
            found = self._tables[short] = self.names.table(short)
            return found
        except P4InfoError:
            if short not in self._missing:
                self._missing.add(short)
                self.error(f"{self.nic.name}'s P4 program has no table '{short}' (needed here)",
                           loc)
            return None

    def action(self, table, short: str, loc):
        key = (table.preamble.id, short)
        found = self._actions.get(key)
        if found is not None:
            return found
        try:
            found = self._actions[key] = self.names.table_action(table, short)[0].preamble.name
            return found
        except P4InfoError as exc:
            self.error(str(exc), loc)
            return None

    def fields_of(self, table) -> dict:
        """DSL field -> P4Info match-field name, for the fields this table matches."""
        found = self._table_fields.get(table.preamble.id)
        if found is None:
            found = {}
            for mf in table.match_fields:
                short = mf.name.rsplit(".", 1)[-1]
                if short in F.FIELDS:
                    found[short] = mf.name
            self._table_fields[table.preamble.id] = found
        return found

    def integer(self, value, what: str, low: int, high: int):
        try:
            return values.integer(value, self.defines, what, low, high)
        except BadValue as exc:
            self.error(exc.message, (exc.value or value).loc)
            return None

    def read(self, reader, value, what: str):
        """Run a values.py reader (mac, ipv4, endpoint, ...), reporting a bad value."""
        try:
            return reader(value, self.defines, what)
        except BadValue as exc:
            self.error(exc.message, (exc.value or value).loc)
            return None

    def match(self, match, table, what: str, drop=()):
        """A rule's match resolved and checked against what `table` can match."""
        vf_ports = {vf: vf for vf in range(1, self.vfs + 1)} if self.kind == "pnic" else None
        resolved = resolve(match, self.defines, self.errors, vf_ports)
        if resolved is None or table is None:
            return None
        allowed = {f: p for f, p in self.fields_of(table).items() if f not in drop}
        bad = [name for name in resolved.fields if name not in allowed]
        if bad:
            name = bad[0]
            self.error(f"{what} cannot match {F.FIELDS[name].words}: it matches "
                       f"{describe_allowed(allowed)}", resolved.locs[name])
            return None
        return resolved

    def claim(self, table, statement: str, loc) -> bool:
        """One kind of statement per table, so generic `table` blocks cannot fight others."""
        if table is None:
            return False
        name = table.preamble.name
        first = self.claimed.setdefault(name, (statement, loc))
        if first[0] != statement and "table" in (statement, first[0]):
            self.error(f"table {name} is already written by the {first[0]} statement at line "
                       f"{first[1].line}; put these rules there", loc)
            return False
        return True

    def priorities(self, rules: list, table_name: str):
        """Each rule's priority (ordered or explicit), refusing blocks that mix the two."""
        explicit = [r for r in rules if r.priority is not None]
        ordered = [r for r in rules if r.priority is None and not _is_default(r)]
        if explicit and ordered:
            first_ordered = ordered[0]
            self.error("this block mixes rules with `priority N` and rules ordered by "
                       "position: give every rule a priority, or none (then the first "
                       f"matching rule wins); line {explicit[0].loc.line} has a priority",
                       first_ordered.loc)
            return None
        found = []
        for rule in rules:
            if _is_default(rule):
                found.append(None)
            elif rule.priority is not None:
                found.append(self.integer(rule.priority, "priority", 1, 2 ** 31 - 1))
            else:
                found.append(self.next_priority(table_name))
        return found

    def next_priority(self, table_name: str) -> int:
        n = self._order.get(table_name, 0)
        self._order[table_name] = n + 1
        self.out.positional.setdefault(table_name, set()).add(PRIORITY_BASE - n)
        return PRIORITY_BASE - n

    def add(self, table, resolved, priority, action, params, rule, extra=None):
        """The entries of one rule: one per combination of its fields' alternatives."""
        names = self.fields_of(table)
        full = table.preamble.name
        for combo in resolved.expand():
            match = {p4: combo[f] for f, p4 in names.items() if f in combo and combo[f][1]}
            if extra:
                match.update(extra)
            self.out.entries.append(Entry(full, match, priority, action, params, rule))

    def set_default(self, table, action, params, rule):
        self.out.entries.append(Entry(table.preamble.name, {}, None, action, params, rule,
                                      default=True))

    def rule_of(self, node, statement: str, ordered: bool = True) -> Rule:
        return Rule(node.loc, origin(node.loc, statement), ordered)

    def statement_allowed(self, name: str, loc) -> bool:
        kinds = STATEMENTS.get(name)
        if kinds is None or self.kind in kinds:
            return True
        where = " or ".join(f"a {k} block" for k in kinds)
        self.error(f"`{name}` belongs in {where} ({self.nic.name} is a "
                   f"{'generic nic' if self.kind == 'nic' else self.kind})", loc)
        return False

    # -- the NIC ----------------------------------------------------------------------------

    def run(self) -> CheckedNic:
        from p4nic.dsl import pipeline, service_policy, statements
        counts = [s for s in self.nic.statements if isinstance(s, ast.Setting)]
        for setting in counts:
            if setting.name == "queues" and self.statement_allowed("queues", setting.loc):
                found = self.integer(setting.value, "queues", 1, MAX_PORT)
                self.queues = found or self.queues
            elif setting.name == "vfs" and self.statement_allowed("vfs", setting.loc):
                found = self.integer(setting.value, "vfs", 1, MAX_PORT)
                self.vfs = found or self.vfs
        numa = [s for s in self.nic.statements if isinstance(s, ast.Numa)]
        for block in numa:       # first: queues and VFs are known, vCPUs needed by others
            if self.statement_allowed("numa", block.loc):
                statements.numa(self, block)
        for statement in self.nic.statements:
            if isinstance(statement, (ast.Numa,)):
                continue
            if isinstance(statement, ast.Setting):
                if statement.name == "special-path" and self.statement_allowed(
                        "special-path", statement.loc):
                    statements.special_path(self, statement)
            elif isinstance(statement, ast.Block):
                if self.statement_allowed("filters", statement.loc):
                    statements.filters(self, statement)
            elif isinstance(statement, ast.Pipeline):
                if self.statement_allowed("pipeline", statement.loc):
                    pipeline.compile_pipeline(self, statement)
            elif isinstance(statement, ast.Special):
                if self.statement_allowed("special", statement.loc):
                    statements.special(self, statement)
            elif isinstance(statement, ast.Services):
                if self.statement_allowed("services", statement.loc):
                    service_policy.services(self, statement)
            elif isinstance(statement, ast.VfVni):
                if self.statement_allowed("vf", statement.loc):
                    statements.vf_vni(self, statement)
            elif isinstance(statement, ast.Tunnel):
                if self.statement_allowed("tunnel", statement.loc):
                    statements.tunnel(self, statement)
            elif isinstance(statement, ast.Network):
                if self.statement_allowed("network", statement.loc):
                    statements.network(self, statement)
            elif isinstance(statement, ast.Table):
                statements.table(self, statement)
        self._managed()
        self.out.host_queues = sorted(self.host_queues)
        self.out.queues = self.queues
        return self.out

    def _managed(self):
        wanted = set(MANAGED.get(self.kind, ()))
        wanted |= {name for name, (kind, _) in self.claimed.items() if kind == "table"}
        for short in wanted:
            try:
                table = self.names.table(short)
            except P4InfoError:
                continue
            if table.const_default_action_id or table.implementation_id:
                continue                 # its default cannot be written over P4Runtime
            self.out.managed_defaults.add(table.preamble.name)
        if self.kind in MANAGED:
            try:
                profile = self.names.action_profile(SELECTOR)
                self.out.managed_profiles.add(profile.preamble.name)
            except P4InfoError:
                pass


def _is_default(rule) -> bool:
    """`default -> ...` (a Rule without a match, or a TableRule without keys)."""
    return (rule.keys if isinstance(rule, ast.TableRule) else rule.match) is None


# ------------------------------------------------------------------------------- targets

def nic_target(nic: ast.Nic, defines, errors, p4info) -> NicTarget:
    """The NIC's name, kind and P4Runtime settings (`p4runtime`, `device`, `election`, `role`)."""
    seen = {}
    address, device, election, role = None, 0, (0, 1), ""
    for setting in nic.statements:
        if not isinstance(setting, ast.Setting) or setting.name in ("special-path",):
            continue
        if setting.name in seen:
            errors.error(f"{setting.name} is set twice (first at line {seen[setting.name].line})",
                         setting.loc)
            continue
        seen[setting.name] = setting.loc
        value = setting.value
        try:
            if setting.name == "p4runtime":
                address = _address(value, defines, setting.loc)
            elif setting.name == "device":
                device = values.integer(value, defines, "device id", 0, 2 ** 64 - 1)
            elif setting.name == "election":
                number = values.integer(value, defines, "election id", 1, 2 ** 128 - 1)
                election = (number >> 64, number & (2 ** 64 - 1))
            elif setting.name == "role":
                role = value if isinstance(value, str) else defines.scalar(value).text
        except BadValue as exc:
            errors.error(exc.message, (exc.value or value).loc)
    return NicTarget(nic.name, nic.kind, address, device, election, role, p4info,
                     location(nic.loc))


def _address(value, defines, loc) -> str:
    text = value if isinstance(value, str) else defines.scalar(value).text
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadValue(f"p4runtime wants HOST:PORT such as 127.0.0.1:9559, not '{text}'",
                       value if not isinstance(value, str) else _Place(loc))
    return text


class _Place:
    def __init__(self, loc: SourceLocation):
        self.loc = loc


def program_setting(nic: ast.Nic):
    """The `p4info "..."` or `program "..."` setting of a NIC, if any (the last one)."""
    found = None
    for setting in nic.statements:
        if isinstance(setting, ast.Setting) and setting.name in ("p4info", "program"):
            found = setting
    return found


def relative(path: str, loc: SourceLocation) -> Path:
    """A path written in a file, taken relative to that file's directory."""
    written = Path(path)
    return written if written.is_absolute() else Path(loc.file).parent / written
