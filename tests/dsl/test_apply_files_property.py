"""Property, at the level users work at: for random pairs of valid `.nic` files A and B (a VNIC
and a PNIC each, written from the language's constructs by the strategy below), applying A and
then B with the `p4nic apply` command to `p4nic switch` processes running vnic.p4 and pnic.p4
leaves exactly B's entities installed, as read back over P4Runtime; what another controller
wrote in between (without the cookie, with a higher election id, then gone) is untouched; and
B's plan is then empty.

The command runs in this process (`p4nic.cli.main`, the same code the `p4nic` script runs),
so the pipelines are compiled once. Each example starts from the NICs as the program leaves
them: `p4nic apply` of files with empty NIC blocks, and the other controller's entries deleted.
"""
from __future__ import annotations

import io
import itertools
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, note, settings, strategies as st
from p4nic.proto import p4runtime_pb2

from p4nic import dsl
from p4nic.cli import main as p4nic_main
from p4nic.dsl.installed import entry_key
from p4nic.dsl.model import OWNER_COOKIE
from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import EntityBuilder, as_entity
from p4nic.runtime.local_switch import LocalSwitch

# -- the strategy: valid files, statement by statement ---------------------------------------

QUEUES, VFS = 4, 3
MACS = ["02:00:00:00:0a:01", "02:00:00:00:0a:02", "02:00:00:00:0b:01"]
MAC_PREFIXES = ["01:00:5e:00:00:00/25", "33:33:00:00:00:00/16"]
IPV4 = ["10.0.0.5", "10.0.0.0/24", "10.1.0.0/16", "192.0.2.1-192.0.2.6"]
IPV6 = ["2001:db8::1", "2001:db8::/32", "fe80::/10"]
# Sets and ranges share no value with the single values: two rules of a block must not
# have an entry in common (the checker refuses a rule that could never apply).
PORTS = ["22", "53", "80", "443", "8080", "1024-2047", "{8000, 8443}", "5000-5003"]
ETHERTYPES = ["arp", "lldp", "0x88b5", "0x9000|0x9001"]


def one_of_each(draw, options: list, most: int) -> list:
    """A few distinct options, in the order drawn (shrinks towards fewer, earlier ones)."""
    return draw(st.lists(st.sampled_from(options), unique=True, max_size=most))


@st.composite
def match(draw, fields: frozenset, allow_any: bool = True) -> str:
    """A satisfiable match over the DSL fields a table has: layer by layer, so no two items
    contradict (an IPv6 address with an ICMP type, a protocol with an EtherType...). Two
    different texts never mean the same packets."""
    items = []
    if "dir" in fields and draw(st.booleans()):
        items.append(draw(st.sampled_from(["rx", "tx"])))
    if "dstAddr" in fields and draw(st.booleans()):
        items.append(f"ether daddr {draw(st.sampled_from(MACS + MAC_PREFIXES))}")
    if "vid" in fields and draw(st.booleans()):
        items.append(f"vlan id {draw(st.sampled_from(['0', '100', '100-103']))}")
    version = draw(st.sampled_from([None, 4, 6])) if "ip_ver" in fields else None
    l4 = draw(st.sampled_from([None, "tcp", "udp", "icmp"])) if "proto" in fields else None
    if l4 == "icmp" and version is None:
        version = 4               # written `ip icmp`: `icmp` alone would be the same match
    if version is None and l4 is None and "ethertype" in fields and draw(st.booleans()):
        items.append(f"ether type {draw(st.sampled_from(ETHERTYPES))}")
    if version is not None:
        selector, addresses = ("ip", IPV4) if version == 4 else ("ip6", IPV6)
        words = [f"{side} {draw(st.sampled_from(addresses))}" for side in ("saddr", "daddr")
                 if draw(st.booleans())]
        items.append(" ".join([selector] + words))
    if l4 in ("tcp", "udp"):
        ports = [f"{side} {draw(st.sampled_from(PORTS))}" for side in ("sport", "dport")
                 if draw(st.booleans())]
        items.append(" ".join([l4] + ports))
    elif l4 == "icmp":
        selector = "icmpv6" if version == 6 else "icmp"
        kind = draw(st.sampled_from(["", " type echo-request", " type echo-reply"]))
        items.append(selector + kind)
    if "ct_state" in fields and draw(st.booleans()):
        items.append(f"ct state {draw(st.sampled_from(['new', 'established']))}")
    if not items:
        return "any" if allow_any else "udp"
    return " ".join(items)


FILTER_FIELDS = frozenset({"dstAddr", "vid", "ethertype", "ip_ver", "proto"})
CLASSIFY_FIELDS = frozenset({"dir", "dstAddr", "ethertype", "ip_ver", "proto"})
SLOT_FIELDS = frozenset({"dir", "ip_ver", "proto", "ct_state"})
SPECIAL_FIELDS = frozenset({"ip_ver", "proto"})
POLICY_FIELDS = frozenset({"dir", "dstAddr", "ethertype", "ip_ver", "proto"})


@st.composite
def filters(draw) -> list:
    rules = []
    for rule in draw(st.lists(match(FILTER_FIELDS), max_size=4, unique=True)):
        action = draw(st.sampled_from([f"queue {q}" for q in range(1, QUEUES + 1)]
                                      + ["rss", "drop"]))
        rules.append(f"{rule} -> {action}")
    if draw(st.booleans()):
        rules.append(f"default -> {draw(st.sampled_from(['rss', 'queue 1', 'queue 3']))}")
    return ["filters {", *rules, "}"] if rules else []


@st.composite
def numa(draw, queues: list, vcpus: int = 8) -> list:
    """Nodes with vCPUs and queues of their own, maybe RSS over some vCPUs, maybe pins."""
    count = draw(st.integers(1, min(2, len(queues))))
    cut = draw(st.integers(1, len(queues) - count + 1)) if count == 2 else len(queues)
    node_queues = [queues[:cut], queues[cut:]][:count]
    lines = []
    placed = []
    for node, its_queues in enumerate(node_queues):
        first = node * (vcpus // 2)
        its_vcpus = list(range(first, first + draw(st.integers(1, vcpus // 2))))
        placed += its_vcpus
        lines.append(f"node {node} {{ vcpus {', '.join(map(str, its_vcpus))}  "
                     f"queues {', '.join(map(str, its_queues))} }}")
    if draw(st.booleans()):
        over = one_of_each(draw, placed, 3) or placed[:1]
        lines.append(f"rss over vcpus {', '.join(map(str, over))}")
    for sport in one_of_each(draw, [5000, 5001, 5002], 2):
        lines.append(f"pin ip saddr 10.0.0.9 ip daddr 10.0.0.5 tcp sport {sport} dport 80 "
                     f"-> vcpu {draw(st.sampled_from(placed))}")
    return ["numa {", *lines, "}"]


JUNCTIONS = {"classify": ["before filter"], "filter": ["after filter", "before acl"],
             "acl": ["after acl", "before services"],
             "services": ["after services", "before qselect"],
             "qselect": ["after qselect", "before encap"], "encap": ["after encap", "append"]}
STAGE_ACTIONS = ["drop", "allow", "queue 2", "mark special", "set dscp 46",
                 "set dmac 02:00:00:00:0c:01", "to cpu"]


@st.composite
def pipeline(draw) -> list:
    """Stages at distinct junctions (one slot per flow at a junction), bypasses; at most five
    flow selections, so the profile bits and classify's combinations stay small."""
    lines = []
    for n, junction in enumerate(one_of_each(draw, list(JUNCTIONS), 3)):
        where = draw(st.sampled_from(JUNCTIONS[junction]))
        selection = (f" for {draw(match(CLASSIFY_FIELDS, allow_any=False))}"
                     if draw(st.booleans()) else "")
        rules = [f"{rule} -> {draw(st.sampled_from(STAGE_ACTIONS))}"
                 for rule in draw(st.lists(match(SLOT_FIELDS), min_size=1, max_size=3,
                                           unique=True))]
        if where == "append":
            head = f"append stage s{n}{selection}"
        else:
            head = f"{draw(st.sampled_from(['', 'inject ']))}stage s{n} {where}{selection}"
        lines += [head + " {", *rules, "}"]
    for _ in range(draw(st.integers(0, 2))):
        stages = one_of_each(draw, ["filter", "acl", "services", "qselect", "encap"], 2)
        lines.append(f"bypass {', '.join(stages or ['acl'])} for "
                     f"{draw(match(CLASSIFY_FIELDS, allow_any=False))}")
    return ["pipeline {", *lines, "}"] if lines else []


@st.composite
def special(draw) -> list:
    items = one_of_each(draw, ["first-packet", "arp", "nd", "dhcp"], 3)
    items += [f"flow {flow}" for flow in draw(st.lists(match(SPECIAL_FIELDS, allow_any=False),
                                                          max_size=2, unique=True))]
    return [f"special {{ {'  '.join(items)} }}"] if items else []


def tunnel(mac: str, vni: int, kind: str) -> str:
    return (f"tunnel vni {vni} to {mac} {kind} local 192.0.2.1 remote 192.0.2.2 "
            "smac 02:00:00:00:00:01 dmac 02:00:00:00:00:02")


@st.composite
def tunnels(draw, vnis: list) -> list:
    """Tunnels to distinct inner MACs (a VNIC's key is the MAC; a PNIC's, VNI and MAC)."""
    return [tunnel(mac, draw(st.sampled_from(vnis)), draw(st.sampled_from(["geneve", "vxlan"])))
            for mac in one_of_each(draw, MACS, 2)]


def forward(draw) -> str:
    target = draw(st.sampled_from([f"vf {n}" for n in range(1, VFS + 1)] + ["uplink"]))
    option = draw(st.sampled_from(["", " push vlan 30", " pop vlan",
                                   " route smac 02:00:00:00:ee:01 dmac 02:00:00:00:0a:02"]))
    return target + option


@st.composite
def policy_match(draw) -> str:
    """A network rule's match: its direction, maybe its ingress port, maybe more."""
    direction = draw(st.sampled_from(["rx", "tx"]))
    ports = ["uplink"] if direction == "rx" else ["vf 1", "vf 2"]
    where = f" in {draw(st.sampled_from(ports))}" if draw(st.booleans()) else ""
    more = draw(match(POLICY_FIELDS - {"dir"}))
    return f"{direction}{where}{'' if more == 'any' else ' ' + more}"


@st.composite
def network(draw, name: str, vni: int) -> list:
    """A network's policy: every action of a network rule (forward with its options, flood,
    deny, to cpu), rx and tx rules, and maybe a default."""
    rules = []
    for matched in draw(st.lists(policy_match(), min_size=1, max_size=4, unique=True)):
        action = draw(st.sampled_from(["forward", "flood", "deny", "to cpu"]))
        if action == "forward":
            action = forward(draw)
        elif action == "flood":
            ports = one_of_each(draw, ["vf 1", "vf 2", "vf 3", "uplink"], 3)
            action = f"flood {', '.join(ports or ['vf 1', 'vf 2'])}"
        rules.append(f"{matched} -> {action}")
    if draw(st.booleans()):
        rules.append(f"default -> {draw(st.sampled_from(['to cpu', 'deny', 'uplink']))}")
    return [f"network {name} vni {vni} {{", *rules, "}"]


@st.composite
def vnic_body(draw) -> list:
    """The statements of a VNIC (each block a list of lines), in a drawn order."""
    blocks = [draw(filters()), draw(special()), draw(tunnels([5001, 5002]))]
    if draw(st.booleans()):
        blocks.append(draw(numa(list(range(1, QUEUES + 1)))))
    blocks.append(draw(pipeline()))
    if draw(st.booleans()):
        blocks.append(["services {", "firewall { default -> allow }", "}"])
    return [line for block in draw(st.permutations(blocks)) for line in block]


@st.composite
def pnic_body(draw) -> list:
    lines = [f"vf {vf} vni {draw(st.sampled_from([5001, 5002]))}"
             for vf in one_of_each(draw, list(range(1, VFS + 1)), 3)]
    lines += draw(tunnels([5001, 5002, 7000]))
    paths = [None, "cpu", "fast-path", "host-queues"]
    path = draw(st.sampled_from(paths))
    if path == "host-queues" or draw(st.booleans()):
        lines += draw(numa([VFS + 1, VFS + 2]))
    if path is not None:
        lines.append(f"special-path {path}")
    for n, vni in enumerate(one_of_each(draw, [5001, 5002, 7000], 2)):
        lines += draw(network(f"net{n}", vni))
    lines += draw(special())
    return lines


@dataclass
class NicFile:
    """A drawn file: the statements of its VNIC and PNIC; addresses and election ids are the
    test's to give (the switch remembers the highest election id it has seen)."""
    vnic: list
    pnic: list

    def text(self, addresses: dict, election: int) -> str:
        out = []
        for kind, name, body, size in (("vnic", "vm1", self.vnic, f"queues {QUEUES}"),
                                       ("pnic", "nic0", self.pnic, f"vfs {VFS}")):
            out.append(f"{kind} {name} {{")
            out.append(f"    p4runtime {addresses[name]}  election {election}  {size}")
            out += [f"    {line}" for line in body]
            out.append("}")
        return "\n".join(out) + "\n"


@st.composite
def nic_files(draw) -> NicFile:
    return NicFile(draw(vnic_body()), draw(pnic_body()))


# -- the NICs ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nics(tmp_path_factory):
    """vm1 and nic0: `p4nic switch` processes with vnic.p4 and pnic.p4 pushed."""
    with LocalSwitch.pipeline("vnic", tmp_path_factory.mktemp("vnic")) as vnic, \
            LocalSwitch.pipeline("pnic", tmp_path_factory.mktemp("pnic")) as pnic:
        switches = {"vm1": vnic, "nic0": pnic}
        for switch in switches.values():
            with Connection(switch.grpc_addr, election_id=(0, 1)) as conn:
                conn.set_pipeline(switch.p4info_path, switch.json_path.read_bytes())
        yield switches


# Each example's files, and the other controller, take ids above the last example's: a switch
# keeps the highest election id it has seen, and only a controller at least that high is primary.
ELECTIONS = itertools.count(1)
OTHERS = itertools.count(1)


def apply_command(path) -> None:
    """`p4nic apply FILE`, in this process; it must succeed."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = p4nic_main(["apply", str(path)])
    assert status == 0, out.getvalue()[-4000:] + err.getvalue()[-4000:]


def foreign_entries(builders: dict, n: int) -> dict:
    """What another controller writes: keys no drawn file declares, in tables the files write
    (filters, classify, a slot, tunnels, steering, policy, vf_vni) and in tables they never do
    (acl; the guest's flow table, in its own role), and a multicast group; `n` keeps each
    example's apart."""
    vnic, pnic = builders["vm1"], builders["nic0"]
    flow = {"ip_ver": 4, "src_addr": "10.9.9.9", "dst_addr": "10.9.9.8", "proto": 17,
            "sport": n, "dport": 7}
    return {
        ("vm1", ""): [
            vnic.table_entry("filters", {"ip_ver": 4, "dport": n}, "filter_to_queue",
                             {"queue": 4}, priority=5),
            vnic.table_entry("classify", {"in_port": 77, "dport": n}, "set_profile",
                             {"profile": 0x80, "bypass": 1}, priority=100),
            vnic.table_entry("slot_after_services", {"profile": (0x80, 0x80), "dport": n},
                             "slot_drop", priority=7),
            vnic.table_entry("acl", {"dport": n}, "acl_deny", priority=3),
            vnic.table_entry("encap.tunnel", {"vni": 99, "dstAddr": n}, "encap_vxlan",
                             {"vni": 99, "smac": 1, "dmac": 2, "sip": 1, "dip": 2}),
            vnic.table_entry("steering.vcpu_node", {"vcpu": 1000 + n}, "set_node", {"node": 1}),
            vnic.table_entry("steering.flow_affinity", flow, "set_vcpu", {"vcpu": 3}),
            vnic.multicast_group(500 + n, [1, 2]),
        ],
        ("vm1", "guest"): [vnic.table_entry("services.flow_table", flow, "svc_allow",
                                            {"ct_state": 2})],
        ("nic0", ""): [
            pnic.table_entry("policy", {"vni": 99, "dport": n}, "policy_deny", priority=2),
            pnic.table_entry("vf_vni", {"in_port": 100 + n}, "set_vni", {"vni": 99}),
            pnic.table_entry("encap.tunnel", {"vni": 99, "dstAddr": n}, "encap_geneve",
                             {"vni": 99, "smac": 1, "dmac": 2, "sip": 1, "dip": 2}),
            pnic.multicast_group(500 + n, [1, 2]),
        ],
    }


def read_everything(address: str, builder: EntityBuilder, nic_entries) -> dict:
    """What the NIC holds, keyed: every match entry of every table, the default entry of
    every table the file manages, every member and group of its managed profiles, every
    multicast group."""
    names = builder.names
    queries = [p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry()),
               p4runtime_pb2.Entity(packet_replication_engine_entry=p4runtime_pb2
                                    .PacketReplicationEngineEntry(
                                        multicast_group_entry=p4runtime_pb2.MulticastGroupEntry()))]
    for table in sorted(nic_entries.managed_defaults):
        info = names.table(table)
        if not info.implementation_id and not info.const_default_action_id:
            queries.append(p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry(
                table_id=info.preamble.id, is_default_action=True)))
    for profile in sorted(nic_entries.managed_profiles):
        profile_id = names.action_profile(profile).preamble.id
        queries.append(p4runtime_pb2.Entity(action_profile_member=p4runtime_pb2
                                            .ActionProfileMember(action_profile_id=profile_id)))
        queries.append(p4runtime_pb2.Entity(action_profile_group=p4runtime_pb2
                                            .ActionProfileGroup(action_profile_id=profile_id)))
    with Connection(address, arbitrate=False) as reader:
        return keyed(reader.read(*queries))


def keyed(entities) -> dict:
    """Entities by P4Runtime key, each with what must be equal for two to be the same."""
    out = {}
    for entity in entities:
        kind = entity.WhichOneof("entity")
        if kind == "table_entry":
            te = entity.table_entry
            key = ("default", te.table_id) if te.is_default_action else entry_key(te)
            out[key] = (te.action.SerializeToString(), te.metadata)
        elif kind == "packet_replication_engine_entry":
            mc = entity.packet_replication_engine_entry.multicast_group_entry
            out["mc", mc.multicast_group_id] = (
                sorted(r.SerializeToString() for r in mc.replicas), mc.metadata)
        elif kind == "action_profile_group":
            g = entity.action_profile_group
            out["group", g.action_profile_id, g.group_id] = sorted(
                (m.member_id, m.weight or 1) for m in g.members)
        else:
            m = entity.action_profile_member
            out["member", m.action_profile_id, m.member_id] = m.action.SerializeToString()
    return out


def by_rank(held: dict) -> dict:
    """`held` with each owned match entry's priority replaced by its rank among the owned
    priorities of its table (highest first): plan keeps the priorities rules are installed
    with where the file's order allows (p4nic/dsl/priorities.py), so the file decides the
    order of its entries, not their numbers. Other controllers' entries keep theirs."""
    owned = {}
    for key, (_, metadata) in ((k, v) for k, v in held.items() if isinstance(k[0], int)):
        if metadata.startswith(OWNER_COOKIE):
            owned.setdefault(key[0], set()).add(key[1])
    ranks = {table: {p: rank for rank, p in enumerate(sorted(found, reverse=True))}
             for table, found in owned.items()}
    out = {}
    for key, value in held.items():
        if isinstance(key[0], int) and value[1].startswith(OWNER_COOKIE):
            key = (key[0], ("rank", ranks[key[0]][key[1]]), key[2])
        out[key] = value
    return out


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(first=nic_files(), second=nic_files())
def test_applying_a_then_b_leaves_exactly_b(nics, tmp_path, first, second):
    addresses = {name: switch.grpc_addr for name, switch in nics.items()}
    builders = {name: EntityBuilder(switch.p4info_path) for name, switch in nics.items()}
    empty = NicFile([], [])
    election = next(ELECTIONS) * 10
    paths = {}
    for label, drawn, offset in (("empty", empty, 0), ("a", first, 1), ("b", second, 3)):
        paths[label] = tmp_path / f"{label}.nic"
        paths[label].write_text(drawn.text(addresses, election + offset))
    note("file A:\n" + paths["a"].read_text())
    note("file B:\n" + paths["b"].read_text())
    models = {label: dsl.load(path) for label, path in paths.items()}     # valid files load

    apply_command(paths["empty"])                 # the NICs as the program leaves them
    program = {name: read_everything(addresses[name], builders[name],
                                     models["b"].entries()[name]) for name in nics}
    for name, held in program.items():
        assert all(key[0] == "default" for key in held), f"{name} holds more than defaults"
    apply_command(paths["a"])
    n = next(OTHERS)
    others = foreign_entries(builders, n)
    for (name, role), entities in others.items():
        with Connection(addresses[name], election_id=(0, election + 2), role=role) as other:
            assert other.is_primary
            other.insert(*entities)
    try:
        apply_command(paths["b"])
        for name, switch in nics.items():
            wanted = models["b"].entries()[name]
            expected = {k: v for k, v in program[name].items() if k[0] == "default"}
            expected.update(keyed(d.entity for d in wanted.entities))   # B sets these
            expected.update(keyed(as_entity(e) for (nic, _), entities in others.items()
                                  if nic == name for e in entities))
            found = by_rank(read_everything(switch.grpc_addr, builders[name], wanted))
            expected = by_rank(expected)
            assert found == expected, _difference(found, expected)
            with Connection(switch.grpc_addr, arbitrate=False) as reader:
                assert models["b"].plan(reader, nic=name).empty
    finally:
        for (name, role), entities in others.items():
            with Connection(addresses[name], election_id=(0, election + 4), role=role) as other:
                other.delete(*entities)


def _difference(found: dict, expected: dict) -> str:
    missing = {k: expected[k] for k in expected.keys() - found.keys()}
    extra = {k: found[k] for k in found.keys() - expected.keys()}
    changed = {k: (found[k], expected[k]) for k in found.keys() & expected.keys()
               if found[k] != expected[k]}
    return f"missing {missing}\nextra {extra}\ndiffering {changed}"
