"""The NIC statements other than the pipeline and services, checked into entries: RX filters,
NUMA steering, sender-side special criteria and the PNIC's special path, VF networks,
tunnels, logical-network policy, and generic `table` blocks.

Each function takes the NicChecker (check.py), which holds the NIC's P4Info, its queues and
VFs, and the error list.
"""
from __future__ import annotations

from p4.config.v1 import p4info_pb2

from p4nic.dsl import values
from p4nic.dsl.checked import Entry, Group, Member, Multicast, Rule, origin
from p4nic.dsl.errors import suggest
from p4nic.dsl.fields import FIELDS
from p4nic.dsl.values import BadValue
from p4nic.runtime.p4info import P4InfoError, P4InfoNames

RSS_BUCKETS = 128                # steering.rss_indirection: rss_bucket = flow_hash[6:0]
MAX_VCPU = 2 ** 16 - 1
SPECIAL_PATHS = {"cpu": "special_to_cpu", "host-queues": "special_to_host_queues",
                 "fast-path": "special_fast_path"}
CRITERIA = {"first-packet": "is_first", "arp": "is_arp", "nd": "is_nd", "dhcp": "is_dhcp"}
PIN_FIELDS = ("ip_ver", "src_addr", "dst_addr", "proto", "sport", "dport")
PIN_WORDS = {"ip_ver": "ip/ip6", "src_addr": "saddr", "dst_addr": "daddr",
             "proto": "a protocol (tcp, udp, ...)", "sport": "sport", "dport": "dport"}


def _span(numbers) -> str:
    numbers = sorted(numbers)
    if len(numbers) > 1 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}-{numbers[-1]}"
    return ", ".join(str(n) for n in numbers) or "none"


# ------------------------------------------------------------------------------- ports

def queue(ck, value):
    """A VNIC RX queue (port q), which must be one of `queues N`."""
    q = ck.integer(value, "queue", 0, 511)
    if q is None:
        return None
    if not 1 <= q <= ck.queues:
        ck.error(f"queue {q} does not exist: {ck.nic.name} has queues {_span(range(1, ck.queues + 1))}"
                 f" (set `queues N`)", value.loc)
        return None
    return q


def vf(ck, value):
    n = ck.integer(value, "VF", 0, 511)
    if n is None:
        return None
    if not 1 <= n <= ck.vfs:
        ck.error(f"VF {n} does not exist: {ck.nic.name} has VFs {_span(range(1, ck.vfs + 1))} "
                 "(set `vfs N`)", value.loc)
        return None
    return n


def port(ck, target):
    """A PNIC port: the uplink (0), a VF, or one of the host's NUMA queues."""
    if target.kind == "uplink":
        return 0
    if target.kind == "vf":
        return vf(ck, target.value)
    n = ck.integer(target.value, "port", 0, 511)
    if n is None:
        return None
    if n != 0 and not 1 <= n <= ck.vfs and n not in ck.host_queues:
        ck.error(f"port {n} is neither the uplink (0), a VF (1-{ck.vfs}) nor a host queue of "
                 "the numa block", target.value.loc)
        return None
    return n


# ------------------------------------------------------------------------------- filters

def filters(ck, block):
    """RX filters (US11277382B2): prioritised rules choosing the guest's RX queue."""
    table = ck.table("filters", block.loc)
    if table is None or not ck.claim(table, "filters", block.loc):
        return
    rules = block.rules
    for i, rule in enumerate(rules):
        if rule.match is None and i != len(rules) - 1:
            ck.error("`default` must be the last rule of a filters block: the rules after it "
                     "would still apply before it", rule.loc)
    found = ck.priorities(rules, table.preamble.name)
    for rule, priority in zip(rules, found or [None] * len(rules)):
        if rule.match is None:
            _filters_default(ck, rule)
            continue
        resolved = ck.match(rule.match, table, "a filter")
        act = rule.action
        action, params = None, {}
        if act.kind == "queue":
            q = queue(ck, act.args["queue"])
            action, params = ("filter_to_queue", {"queue": q}) if q is not None else (None, {})
        elif act.kind in ("rss", "drop"):
            action = "filter_to_rss" if act.kind == "rss" else "filter_drop"
        else:
            ck.error(f"a filter's action is `queue N`, `rss` or `drop`, not `{act.text}`",
                     act.loc)
        if resolved is None or action is None or priority is None:
            continue
        name = ck.action(table, action, act.loc)
        if name:
            ck.add(table, resolved, priority, name, params,
                   ck.rule_of(rule, f"filter: {rule.text}"))


def _filters_default(ck, rule):
    table = ck.table("rx_default", rule.loc)
    if table is None:
        return
    if table.preamble.name in ck.defaults_set:
        ck.error(f"filters have a default already (line {ck.defaults_set[table.preamble.name].line})",
                 rule.loc)
        return
    ck.defaults_set[table.preamble.name] = rule.loc
    act = rule.action
    if act.kind == "queue":
        q = queue(ck, act.args["queue"])
        if q is None:
            return
        action, params = "default_queue", {"queue": q}
    elif act.kind == "rss":
        action, params = "default_rss", {}
    else:
        ck.error(f"the filters default is `queue N` or `rss`, not `{act.text}`", act.loc)
        return
    name = ck.action(table, action, act.loc)
    if name:
        ck.set_default(table, name, params, ck.rule_of(rule, f"filters: {rule.text}"))


# ------------------------------------------------------------------------------- NUMA

def numa(ck, block):
    """NUMA-aware steering (US11340932B2): vCPUs and queues per node, RSS, flow pins."""
    node_of = ck.table("steering.vcpu_node", block.loc)
    queues_of = ck.table("steering.numa_queues", block.loc)
    if node_of is None or queues_of is None:
        return
    where = "queue" if ck.kind == "vnic" else "host queue"
    seen_queue = {}
    for node in block.nodes:
        n = ck.integer(node.node, "NUMA node", 0, 255)
        if n is None:
            continue
        if n in ck.nodes:
            ck.error(f"node {n} is declared twice (first at line {ck.nodes[n][2].line})",
                     node.loc)
            continue
        vcpus = _integers(ck, node.vcpus, "vCPU", 0, MAX_VCPU)
        queues = _integers(ck, node.queues, where, 0, 511)
        if vcpus is None or queues is None:
            continue
        good = []
        for vcpu, value in vcpus:
            if vcpu in ck.vcpu_node:
                ck.error(f"vCPU {vcpu} is on node {ck.vcpu_node[vcpu]} already", value.loc)
            else:
                ck.vcpu_node[vcpu] = n
                good.append(vcpu)
        ports = []
        for q, value in queues:
            if ck.kind == "vnic" and not 1 <= q <= ck.queues:
                ck.error(f"queue {q} does not exist: {ck.nic.name} has queues "
                         f"{_span(range(1, ck.queues + 1))} (set `queues N`)", value.loc)
            elif ck.kind == "pnic" and (q == 0 or q <= ck.vfs or q > 254):
                ck.error(f"host queue {q} must be a port of its own: not the uplink (0), not a "
                         f"VF (1-{ck.vfs}), not the CPU port (255)", value.loc)
            elif q in seen_queue:
                ck.error(f"{where} {q} is on node {seen_queue[q]} already", value.loc)
            else:
                seen_queue[q] = n
                ports.append(q)
        if not vcpus:
            ck.error(f"node {n} has no vCPUs: write `vcpus 0-3`", node.loc)
        if not queues:
            ck.error(f"node {n} has no {where}s: its vCPUs' packets would have nowhere to go "
                     f"(write `queues 1, 2`)", node.loc)
        ck.nodes[n] = (good, ports, node.loc)
        if ck.kind == "pnic":
            ck.host_queues.update(ports)
    _numa_entries(ck, block, node_of, queues_of)
    for pin in block.pins:
        _pin(ck, pin)


def _integers(ck, items, what, low, high):
    """[(number, the word it came from)], ranges expanded; None after an error."""
    found = []
    try:
        for item in items:
            words = ck.defines.expand(item) if item.kind == "var" else [item]
            for word in words:
                for n in values.integers([word], ck.defines, what, low, high):
                    found.append((n, word))
    except BadValue as exc:
        ck.error(exc.message, (exc.value or items[0]).loc)
        return None
    return found


def _numa_entries(ck, block, node_of, queues_of):
    set_node = ck.action(node_of, "set_node", block.loc)
    profile = ck.names.action_profile(queues_of.preamble.name).preamble.name
    member_id = 0
    for n, (vcpus, ports, loc) in sorted(ck.nodes.items()):
        rule = Rule(loc, origin(loc, f"numa: node {n}"), ordered=False)
        for vcpu in vcpus:
            if set_node:
                ck.out.entries.append(Entry(node_of.preamble.name,
                                            {_key(node_of, "vcpu"): (vcpu, 0xFFFF)}, None,
                                            set_node, {"node": n}, rule))
        members = []
        for q in ports:
            member_id += 1
            members.append(member_id)
            ck.out.members.append(Member(profile, member_id, _full_action(ck, "set_queue"),
                                         {"port": q}, rule))
        if members:
            ck.out.groups.append(Group(profile, n + 1, members, rule))
            ck.out.entries.append(Entry(queues_of.preamble.name,
                                        {_key(queues_of, "numa_node"): (n, 0xFF)}, None, "",
                                        {}, rule, group_id=n + 1))
    _rss(ck, block)


def _full_action(ck, short):
    try:
        return ck.names.action(short).preamble.name
    except P4InfoError as exc:
        ck.error(str(exc), ck.nic.loc)
        return short


def _key(table, short):
    return P4InfoNames.match_field(table, short).name


def _rss(ck, block):
    table = ck.table("steering.rss_indirection", block.loc)
    if table is None:
        return
    if len(block.rss) > 1:
        ck.error(f"rss is spread twice (first at line {block.rss[0].loc.line})", block.rss[1].loc)
    if block.rss:
        statement = block.rss[0]
        found = _integers(ck, statement.vcpus, "vCPU", 0, MAX_VCPU)
        if found is None:
            return
        vcpus = []
        for vcpu, word in found:
            if vcpu not in ck.vcpu_node:
                ck.error(f"vCPU {vcpu} is on no NUMA node (nodes: "
                         f"{_span(ck.nodes) if ck.nodes else 'none'}); add it to a node's vcpus",
                         word.loc)
            elif vcpu not in vcpus:
                vcpus.append(vcpu)
        loc, text = statement.loc, "numa: rss over vcpus " + ", ".join(
            str(v) for v in statement.vcpus)
    else:
        vcpus = [v for n in sorted(ck.nodes) for v in ck.nodes[n][0]]
        loc, text = block.loc, "numa: rss over every vCPU of the nodes"
    if not vcpus:
        return
    set_vcpu = ck.action(table, "set_vcpu", loc)
    if not set_vcpu:
        return
    rule = Rule(loc, origin(loc, text), ordered=False)
    field = _key(table, "rss_bucket")
    for bucket in range(RSS_BUCKETS):
        ck.out.entries.append(Entry(table.preamble.name, {field: (bucket, 0x7F)}, None,
                                    set_vcpu, {"vcpu": vcpus[bucket % len(vcpus)]}, rule))


def _pin(ck, pin):
    table = ck.table("steering.flow_affinity", pin.loc)
    if table is None:
        return
    resolved = ck.match(pin.match, table, "a pin")
    act = pin.action
    vcpu = None
    if act.kind != "vcpu":
        ck.error(f"a pin's action is `vcpu N`, not `{act.text}`", act.loc)
    else:
        vcpu = ck.integer(act.args["vcpu"], "vCPU", 0, MAX_VCPU)
        if vcpu is not None and vcpu not in ck.vcpu_node:
            ck.error(f"vCPU {vcpu} is on no NUMA node; add it to a node's vcpus",
                     act.args["vcpu"].loc)
            vcpu = None
    if resolved is None:
        return
    missing = [f for f in PIN_FIELDS if f not in resolved.fields]
    if missing:
        ck.error("a pin names whole flows: it needs ip saddr and daddr (or ip6), a protocol, "
                 "sport and dport, each one value; missing: "
                 + ", ".join(PIN_WORDS[f] for f in missing), pin.match.loc)
        return
    for name in PIN_FIELDS:
        for value, care in resolved.fields[name]:
            if not single(name, care):
                ck.error(f"a pin names whole flows: {PIN_WORDS[name]} must be single values, "
                         "not prefixes, ranges or masks", resolved.locs[name])
                return
    if vcpu is None:
        return
    action = ck.action(table, "set_vcpu", act.loc)
    if action:
        ck.add(table, resolved, None, action, {"vcpu": vcpu},
               Rule(pin.loc, origin(pin.loc, f"numa: pin {pin.text}"), ordered=False))


def single(name: str, care: int) -> bool:
    """A cube naming one value (an IPv4 address in a 128-bit field cares about 32 bits)."""
    width = FIELDS[name].width
    return care == (1 << width) - 1 or (name in ("src_addr", "dst_addr") and care == 0xFFFFFFFF)


# ------------------------------------------------------------------------------- special

def special(ck, block):
    """Sender-side marking (US10965601B2): which packets get the special-processing flag."""
    table = ck.table("marking.special_criteria", block.loc)
    if table is None or not ck.claim(table, "special", block.loc):
        return
    action = ck.action(table, "mark_special", block.loc)
    names = ck.fields_of(table)
    for item, loc in block.items:
        if isinstance(item, str):
            field = names.get(CRITERIA[item])
            if field is None or not action:
                continue
            ck.out.entries.append(Entry(table.preamble.name, {field: (1, 1)},
                                        ck.next_priority(table.preamble.name), action, {},
                                        Rule(loc, origin(loc, f"special: {item}"))))
            continue
        resolved = ck.match(item, table, "a special flow")
        if resolved is not None and action:
            ck.add(table, resolved, ck.next_priority(table.preamble.name), action, {},
                   Rule(loc, origin(loc, f"special: flow {item.text}")))


def special_path(ck, setting):
    """Where the PNIC sends flagged packets: the CPU, the host's NUMA queues or the fast path."""
    table = ck.table("special_path", setting.loc)
    word = setting.value
    paths = SPECIAL_PATHS
    if word.text not in paths:
        ck.error(f"special-path is cpu, host-queues or fast-path, not '{word.text}'"
                 + suggest(word.text, paths), word.loc)
        return
    if table is None:
        return
    if table.preamble.name in ck.defaults_set:
        ck.error(f"special-path is set twice (first at line "
                 f"{ck.defaults_set[table.preamble.name].line})", setting.loc)
        return
    ck.defaults_set[table.preamble.name] = setting.loc
    if word.text == "host-queues" and not ck.host_queues:
        ck.error("special-path host-queues needs the host's queues: add a numa block whose "
                 "nodes list them (`node 0 { vcpus 0-3 queues 5 }`)", word.loc)
        return
    action = ck.action(table, paths[word.text], word.loc)
    if action:
        ck.set_default(table, action, {},
                       Rule(setting.loc, origin(setting.loc, f"special-path {word.text}")))


# ------------------------------------------------------------------------------- PNIC networks

def vf_vni(ck, statement):
    """The VNI of plain frames a VF transmits."""
    table = ck.table("vf_vni", statement.loc)
    n = vf(ck, statement.vf)
    vni = ck.integer(statement.vni, "VNI", 1, 2 ** 24 - 1)
    if table is None or n is None or vni is None:
        return
    action = ck.action(table, "set_vni", statement.loc)
    if action:
        ck.out.entries.append(Entry(table.preamble.name, {_key(table, "in_port"): (n, 0x1FF)},
                                    None, action, {"vni": vni},
                                    Rule(statement.loc, origin(statement.loc, statement.text),
                                         ordered=False)))


def tunnel(ck, statement):
    """A Geneve/VXLAN endpoint in encap.tunnel: frames of VNI v for MAC m are encapsulated.

    On a VNIC the key's VNI is 0 (a guest's frames arrive with none); the encapsulation
    carries the statement's VNI either way."""
    table = ck.table("encap.tunnel", statement.loc)
    vni = ck.integer(statement.vni, "VNI", 1, 2 ** 24 - 1)
    mac = ck.read(values.mac, statement.mac, "the inner destination MAC")
    params = {"vni": vni}
    ok = vni is not None and mac is not None
    for name in ("local", "remote", "smac", "dmac"):
        locs = statement.option_locs.get(name, [])
        if len(locs) > 1:
            ck.error(f"tunnel option `{name}` is given twice", locs[1])
            ok = False
        if not locs:
            ck.error(f"a tunnel needs `{name} ...` (local and remote IPv4 addresses, smac and "
                     "dmac of the outer frame)", statement.loc)
            ok = False
            continue
        value = statement.options[name]
        if name in ("local", "remote"):
            found = ck.read(values.ipv4, value, f"tunnel {name}")
            params["sip" if name == "local" else "dip"] = int(found) if found else None
        else:
            params[name] = ck.read(values.mac, value, f"tunnel {name}")
        ok = ok and params.get("sip" if name == "local" else "dip" if name == "remote"
                               else name) is not None
    if table is None or not ok:
        return
    action = ck.action(table, f"encap_{statement.kind}", statement.loc)
    key_vni = 0 if ck.kind == "vnic" else vni
    if action:
        ck.out.entries.append(Entry(
            table.preamble.name,
            {_key(table, "vni"): (key_vni, 0xFFFFFF), _key(table, "dstAddr"): (mac, 2 ** 48 - 1)},
            None, action, params,
            Rule(statement.loc, origin(statement.loc, statement.text), ordered=False)))


def network(ck, statement):
    """A logical network's policy on the PNIC (US11750532B2): rules on (VNI, inner flow)."""
    table = ck.table("policy", statement.loc)
    vni = ck.integer(statement.vni, "VNI", 1, 2 ** 24 - 1)
    if statement.name in ck.networks:
        ck.error(f"network {statement.name} is declared twice (first at line "
                 f"{ck.networks[statement.name].loc.line})", statement.loc)
        return
    ck.networks[statement.name] = statement
    if vni is not None and vni in ck.network_vnis:
        ck.error(f"VNI {vni} is network {ck.network_vnis[vni]}'s already", statement.vni.loc)
        return
    if vni is not None:
        ck.network_vnis[vni] = statement.name
    if table is None or not ck.claim(table, "network", statement.loc):
        return
    rules = statement.rules
    for i, rule in enumerate(rules):
        if rule.match is None and i != len(rules) - 1:
            ck.error("`default` must be the last rule of a network: the rules after it would "
                     "still apply before it", rule.loc)
    found = ck.priorities(rules, table.preamble.name)
    vni_field = _key(table, "vni")
    for rule, priority in zip(rules, found or [None] * len(rules)):
        resolved = ck.match(rule.match, table, "a network rule", drop=("vni",))
        action, params = _policy_action(ck, table, rule.action, statement, rule)
        if resolved is None or action is None or vni is None:
            continue
        if rule.match is None:
            priority = 1
        elif priority is None:
            continue
        ck.add(table, resolved, priority, action, params,
               ck.rule_of(rule, f"network {statement.name}: {rule.text}"),
               extra={vni_field: (vni, 0xFFFFFF)})


def _policy_action(ck, table, act, statement, rule):
    if act.kind == "forward":
        out = port(ck, act.args["port"])
        option = act.args["option"]
        if out is None:
            return None, None
        if option is None:
            return ck.action(table, "policy_forward", act.loc), {"port": out}
        if option.kind == "push":
            vid = ck.integer(option.args["vid"], "VLAN id", 1, 4094)
            if vid is None:
                return None, None
            return ck.action(table, "policy_forward_vlan_push", act.loc), {"port": out, "vid": vid}
        if option.kind == "pop":
            return ck.action(table, "policy_forward_vlan_pop", act.loc), {"port": out}
        smac = ck.read(values.mac, option.args["smac"], "route smac")
        dmac = ck.read(values.mac, option.args["dmac"], "route dmac")
        if smac is None or dmac is None:
            return None, None
        return (ck.action(table, "policy_forward_routed", act.loc),
                {"port": out, "smac": smac, "dmac": dmac})
    if act.kind == "flood":
        ports = []
        for target in act.args["ports"]:
            p = port(ck, target)
            if p is None:
                return None, None
            if p not in ports:
                ports.append(p)
        key = tuple(sorted(ports))
        group = ck.floods.get(key)
        if group is None:
            group = len(ck.floods) + 1
            ck.floods[key] = group
            ck.out.multicast.append(Multicast(group, list(key), Rule(
                rule.loc, origin(rule.loc, f"network {statement.name}: {rule.text}"),
                ordered=False)))
        return ck.action(table, "policy_flood", act.loc), {"mcast_group": group}
    if act.kind == "drop":
        return ck.action(table, "policy_deny", act.loc), {}
    if act.kind == "cpu":
        return ck.action(table, "policy_to_cpu", act.loc), {}
    ck.error("a network rule's action is `vf N`, `uplink` or `port N` (optionally with `push "
             "vlan N`, `pop vlan` or `route smac M dmac M`), `flood PORT, ...`, `deny` or "
             f"`to cpu`, not `{act.text}`", act.loc)
    return None, None


# ------------------------------------------------------------------------------- any table

_KIND_NAMES = {p4info_pb2.MatchField.EXACT: "exact", p4info_pb2.MatchField.LPM: "lpm",
               p4info_pb2.MatchField.TERNARY: "ternary", p4info_pb2.MatchField.RANGE: "range",
               p4info_pb2.MatchField.OPTIONAL: "optional"}
_PRIORITY_KINDS = ("ternary", "range", "optional")


def table(ck, block):
    """Entries for any P4Info table, by table, key-field and action names (unique suffixes)."""
    try:
        info = ck.names.table(block.name)
    except P4InfoError:
        known = [t.preamble.name for t in ck.names.p4info.tables]
        short = {n.rsplit(".", 1)[-1]: n for n in known}
        ck.error(f"{ck.nic.name}'s P4 program has no table '{block.name}'"
                 + (suggest(block.name, list(short) + known) or f" (its tables: {', '.join(known)})"),
                 block.loc)
        return
    if info.implementation_id:
        ck.error(f"table {info.preamble.name} takes its actions from an action profile; "
                 "table blocks write direct actions only", block.loc)
        return
    if not ck.claim(info, "table", block.loc):
        return
    kinds = {mf.name: _KIND_NAMES.get(mf.match_type, "?") for mf in info.match_fields}
    prioritised = any(k in _PRIORITY_KINDS for k in kinds.values())
    rules = [r for r in block.rules if r.keys is not None]
    defaults = [r for r in block.rules if r.keys is None]
    for extra in defaults[1:]:
        ck.error(f"table {block.name} has a default already (line {defaults[0].loc.line})",
                 extra.loc)
    if defaults:
        _table_default(ck, info, defaults[0])
    if rules and not info.match_fields:
        ck.error(f"table {info.preamble.name} has no key, so it holds no entries: set its "
                 "default (`default -> action(...)`)", rules[0].loc)
        return
    if prioritised:
        found = ck.priorities(rules, info.preamble.name)
    else:
        for rule in rules:
            if rule.priority is not None:
                ck.error(f"table {info.preamble.name} matches by exact/lpm fields only: its "
                         "entries take no priority", rule.priority.loc)
        found = [None] * len(rules)
    for rule, priority in zip(rules, found or [None] * len(rules)):
        keys = _table_keys(ck, info, kinds, rule)
        call = _call(ck, info, rule.call, default=False)
        if keys is None or call is None or (prioritised and priority is None):
            continue
        action, params = call
        origin_rule = ck.rule_of(rule, f"table {block.name}: {rule.text}",
                                 ordered=rule.priority is None)
        combos = [{}]
        for name, alternatives in keys.items():
            combos = [dict(c, **{name: a}) for c in combos for a in alternatives]
        for combo in combos:
            match = {name: cube for name, cube in combo.items()
                     if cube[0] == "range" or cube[1]}
            ck.out.entries.append(Entry(info.preamble.name, match, priority, action, params,
                                        origin_rule))


def _table_default(ck, info, rule):
    if info.const_default_action_id:
        ck.error(f"table {info.preamble.name}'s default action is const in the P4 program",
                 rule.loc)
        return
    call = _call(ck, info, rule.call, default=True)
    if call is not None:
        ck.set_default(info, call[0], call[1], ck.rule_of(rule, f"table {rule.text}"))


def _table_keys(ck, info, kinds, rule):
    """{P4Info field name: [alternatives]} of a rule; None after an error."""
    keys = {}
    ok = True
    for name, written, loc in rule.keys:
        try:
            mf = P4InfoNames.match_field(info, name)
        except P4InfoError:
            fields = [f.name for f in info.match_fields]
            short = [f.rsplit(".", 1)[-1] for f in fields]
            ck.error(f"table {info.preamble.name} has no key field '{name}'"
                     + (suggest(name, short + fields) or f" (its fields: {', '.join(fields)})"),
                     loc)
            ok = False
            continue
        if mf.name in keys:
            ck.error(f"key field {name} is given twice", loc)
            ok = False
            continue
        try:
            keys[mf.name] = [_key_value(kinds[mf.name], item, mf.bitwidth, ck.defines)
                             for item in _items(written, ck.defines)]
        except BadValue as exc:
            ck.error(f"{name}: {exc.message}", (exc.value.loc if exc.value else loc))
            ok = False
    for mf in info.match_fields:
        if kinds[mf.name] == "exact" and mf.name not in keys and ok:
            ck.error(f"table {info.preamble.name} needs a value for its exact field "
                     f"{mf.name.rsplit('.', 1)[-1]}", rule.loc)
            ok = False
    return keys if ok else None


def _items(written, defines) -> list:
    items = []
    for item in written.items:
        items += defines.expand(item) if item.kind == "var" else [item]
    return items


def _key_value(kind: str, item, width: int, defines):
    """One alternative of a key field: a (value, care) cube, or ("range", low, high)."""
    full = (1 << width) - 1
    if kind == "range":
        low, high = values.bounds(item, width)
        return ("range", low, high)
    found = values.generic(item, width, defines)
    if kind == "ternary":
        if len(found) != 1:
            raise BadValue(f"'{item}' is several ternary entries; write them as a set", item)
        return found[0]
    value, care = found[0] if len(found) == 1 else (None, None)
    if len(found) != 1:
        raise BadValue(f"'{item}' is a range: {kind} fields take one value", item)
    if kind == "lpm":
        care = values.as_prefix(care, width, item)
        return (value, care)
    if care != full and not (care == 0xFFFFFFFF and width > 32):
        raise BadValue(f"{kind} fields take one value, not '{item}'", item)
    return (value, full)


def _call(ck, info, call, default: bool):
    """(P4Info action name, {param: int}) of `action(args)`, or None after an error."""
    try:
        action, ref = ck.names.table_action(info, call.action)
    except P4InfoError:
        allowed = [ck.names.by_id(r.id).preamble.name for r in info.action_refs]
        short = [a.rsplit(".", 1)[-1] for a in allowed]
        ck.error(f"table {info.preamble.name} has no action '{call.action}'"
                 + (suggest(call.action, short + allowed) or f" (its actions: {', '.join(short)})"),
                 call.loc)
        return None
    if default and ref.scope == p4info_pb2.ActionRef.TABLE_ONLY:
        ck.error(f"action {call.action} cannot be the default of {info.preamble.name} "
                 "(@tableonly)", call.loc)
        return None
    if not default and ref.scope == p4info_pb2.ActionRef.DEFAULT_ONLY:
        ck.error(f"action {call.action} is only a default action of {info.preamble.name} "
                 "(@defaultonly)", call.loc)
        return None
    params = {}
    positional = [a for a in call.args if a.name is None]
    named = [a for a in call.args if a.name is not None]
    if positional and named:
        ck.error("give every argument by name or none by name", call.loc)
        return None
    if len(positional) > len(action.params):
        ck.error(f"action {call.action} takes {len(action.params)} arguments, not "
                 f"{len(positional)}", positional[len(action.params)].loc)
        return None
    pairs = list(zip(action.params, positional)) if positional else []
    for arg in named:
        match = [p for p in action.params if p.name == arg.name]
        if not match:
            ck.error(f"action {call.action} has no parameter '{arg.name}'"
                     + (suggest(arg.name, [p.name for p in action.params])
                        or f" (its parameters: {', '.join(p.name for p in action.params) or 'none'})"),
                     arg.loc)
            return None
        if any(p.name == arg.name for p, _ in pairs):
            ck.error(f"parameter {arg.name} is given twice", arg.loc)
            return None
        pairs.append((match[0], arg))
    for param, arg in pairs:
        try:
            found = values.generic(ck.defines.scalar(arg.value), param.bitwidth, ck.defines)
        except BadValue as exc:
            ck.error(f"{param.name}: {exc.message}", (exc.value or arg.value).loc)
            return None
        if len(found) != 1 or found[0][1] not in ((1 << param.bitwidth) - 1, 0xFFFFFFFF):
            ck.error(f"{param.name} takes one value, not '{arg.value}'", arg.value.loc)
            return None
        params[param.name] = found[0][0]
    missing = [p.name for p in action.params if p.name not in params]
    if missing:
        ck.error(f"action {call.action} needs {', '.join(missing)}", call.loc)
        return None
    return action.preamble.name, params
