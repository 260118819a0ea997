"""`services { firewall nat lb offload }` of a VNIC as a `ServicePolicy`
(p4nic.runtime.services.policy), which the guest service engine and the offload manager read.

The one entity services make now: the VNIC's `services.flow_table` default becomes
`svc_to_guest`, so flows not yet offloaded go to the guest that runs the services.
"""
from __future__ import annotations

import ipaddress
from dataclasses import replace

from p4nic.dsl import values
from p4nic.dsl.checked import Rule, origin
from p4nic.dsl.match import resolve
from p4nic.dsl.values import BadValue
from p4nic.runtime.services.policy import (Backend, DestinationNat, Firewall, FirewallRule,
                                           FlowMatch, LoadBalancer, OffloadPolicy,
                                           ServicePolicy, SourceNat)

FLOW_FIELDS = ("ip_ver", "src_addr", "dst_addr", "proto", "sport", "dport")
LB_PROTOCOLS = {"tcp": 6, "udp": 17}


def services(ck, block) -> None:
    if ck.out.services is not None:
        ck.error("a VNIC has one services block", block.loc)
        return
    firewall = Firewall()
    for extra in block.firewall[1:]:
        ck.error(f"a services block has one firewall (first at line {block.firewall[0].loc.line})",
                 extra.loc)
    if block.firewall:
        firewall = _firewall(ck, block.firewall[0])
    dnat, snat = [], []
    for nat in block.nat:
        for rule in nat.rules:
            _nat(ck, rule, dnat, snat)
    balancers = [lb for lb in (_balancer(ck, b) for b in block.balancers) if lb is not None]
    offload = OffloadPolicy()
    for statements in block.offload:
        offload = _offload(ck, statements, offload)
    ck.out.services = ServicePolicy(firewall, tuple(dnat), tuple(snat), tuple(balancers),
                                    offload)
    table = ck.table("services.flow_table", block.loc)
    if table is not None:
        action = ck.action(table, "svc_to_guest", block.loc)
        if action:
            ck.set_default(table, action, {}, Rule(block.loc, origin(
                block.loc, "services: flows not yet offloaded go to the guest")))


def flow_match(ck, match, what: str):
    """A FlowMatch (the flow key: IP version, prefixes, protocol, port ranges), or None."""
    resolved = resolve(match, ck.defines, ck.errors)
    if resolved is None:
        return None
    other = [f for f in resolved.fields if f not in FLOW_FIELDS]
    if other:
        from p4nic.dsl.fields import FIELDS
        ck.error(f"{what} matches the flow key only (ip/ip6 saddr and daddr, protocol, "
                 f"ports), not {FIELDS[other[0]].words}", resolved.locs[other[0]])
        return None
    found = {}
    version = _one(resolved, "ip_ver")
    for name in ("src_addr", "dst_addr"):
        cubes = resolved.fields.get(name)
        if cubes is None:
            continue
        if len(cubes) != 1:
            ck.error(f"{what} takes one address or prefix here, not a set", resolved.locs[name])
            return None
        network = _network(cubes[0], version)
        if network is None:
            ck.error(f"{what} takes an address or prefix here, not a range or mask",
                     resolved.locs[name])
            return None
        found["src" if name == "src_addr" else "dst"] = network
    proto = resolved.fields.get("proto")
    if proto is not None:
        if len(proto) != 1 or proto[0][1] != 0xFF:
            ck.error(f"{what} takes one protocol", resolved.locs["proto"])
            return None
        found["proto"] = proto[0][0]
    for name in ("sport", "dport"):
        cubes = resolved.fields.get(name)
        if cubes is not None:
            found[name] = _port_ranges(ck, match, name, resolved)
            if found[name] is None:
                return None
    return FlowMatch(ip_ver=version, **found)


def _one(resolved, name):
    cubes = resolved.fields.get(name)
    return cubes[0][0] if cubes and len(cubes) == 1 else None


def _network(cube, version):
    value, care = cube
    bits = 32 if version == 4 or (version is None and not care >> 32) else 128
    care &= (1 << bits) - 1
    inverted = ((1 << bits) - 1) ^ care
    if inverted & (inverted + 1):
        return None
    length = bits - inverted.bit_length()
    cls = ipaddress.IPv4Network if bits == 32 else ipaddress.IPv6Network
    return cls((value, length))


def _port_ranges(ck, match, name, resolved):
    """Ports as written ({80, 443}, 1024-65535), as inclusive (low, high) ranges."""
    ranges = []
    for item in match.items:
        for fld in item.fields:
            if fld.name != name or fld.values is None:
                continue
            try:
                for word in _words(fld.values.items, ck.defines):
                    ranges += _bounds(word)
            except BadValue as exc:
                ck.error(exc.message, (exc.value or fld).loc)
                return None
    if not ranges:
        # an ICMP type/code or masked value: fall back to the cubes' exact values
        for value, care in resolved.fields[name]:
            if care != 0xFFFF:
                ck.error("service rules take port numbers, ranges and sets, not masks",
                         resolved.locs[name])
                return None
            ranges.append((value, value))
    return tuple(ranges)


def _words(items, defines):
    for item in items:
        yield from (defines.expand(item) if item.kind == "var" else [item])


def _bounds(word):
    if word.kind == "masked":
        raise BadValue("service rules take port numbers, ranges and sets, not masks", word)
    single = values.number(word.text)
    if single is not None:
        return [(single, single)]
    return [values.bounds(word, 16)]


def _firewall(ck, block):
    """Rules in order (first match wins), `default -> allow|deny`, and `ct state established
    -> allow` as the first rule to let tracked connections pass before any rule."""
    rules = []
    default = "allow"
    allow_established = False
    for index, rule in enumerate(block.rules):
        act = rule.action
        if act.kind not in ("allow", "drop"):
            ck.error(f"a firewall rule's action is allow or deny, not `{act.text}`", act.loc)
            continue
        verdict = "allow" if act.kind == "allow" else "deny"
        if rule.match is None:
            if index != len(block.rules) - 1:
                ck.error("`default` must be the firewall's last rule: the rules after it would "
                         "still apply before it", rule.loc)
            default = verdict
            continue
        if rule.priority is not None:
            ck.error("firewall rules apply in the order written; they take no priority",
                     rule.priority.loc)
            continue
        if _is_established(rule):
            if index != 0 or verdict != "allow":
                ck.error("`ct state established -> allow` lets tracked connections pass "
                         "before any rule: it must be the firewall's first rule", rule.loc)
            allow_established = True
            continue
        found = flow_match(ck, rule.match, "a firewall rule")
        if found is not None:
            rules.append(FirewallRule(found, verdict, str(origin(rule.loc, rule.text))))
    return Firewall(tuple(rules), allow_established, default)


def _is_established(rule) -> bool:
    return rule.match is not None and rule.match.text.split() == ["ct", "state", "established"]


def _nat(ck, rule, dnat, snat):
    act = rule.action
    if rule.match is None or act.kind not in ("snat", "dnat"):
        ck.error("a nat rule is `MATCH -> snat ADDRESS [ports LOW-HIGH]` or `MATCH -> dnat "
                 "ADDRESS[:PORT]`", rule.loc)
        return
    found = flow_match(ck, rule.match, "a nat rule")
    said = str(origin(rule.loc, rule.text))
    if act.kind == "snat":
        addr = ck.read(values.address, act.args["address"], "snat")
        ports = (1024, 65535)
        if act.args["ports"] is not None:
            try:
                ports = values.bounds(ck.defines.scalar(act.args["ports"]), 16)
            except BadValue as exc:
                ck.error(exc.message, (exc.value or act.args["ports"]).loc)
                return
        if found is not None and addr is not None:
            snat.append(SourceNat(found, addr, ports, said))
    else:
        try:
            addr, port = values.endpoint(act.args["address"], ck.defines, "dnat",
                                         port_required=False)
        except BadValue as exc:
            ck.error(exc.message, (exc.value or act.args["address"]).loc)
            return
        if found is not None:
            dnat.append(DestinationNat(found, addr, port, said))


def _balancer(ck, lb):
    try:
        vip, port = values.endpoint(lb.vip, ck.defines, "lb vip")
    except BadValue as exc:
        ck.error(exc.message, (exc.value or lb.vip).loc)
        return None
    proto = LB_PROTOCOLS.get(lb.proto)
    if proto is None:
        ck.error(f"a load balancer serves tcp or udp, not '{lb.proto}'", lb.proto_loc)
        return None
    if not lb.backends:
        ck.error("a load balancer needs at least one `backend ADDRESS:PORT mac MAC`", lb.loc)
        return None
    backends = []
    for backend in lb.backends:
        try:
            addr, bport = values.endpoint(backend.address, ck.defines, "backend")
        except BadValue as exc:
            ck.error(exc.message, (exc.value or backend.address).loc)
            continue
        for name, locs in backend.option_locs.items():
            if len(locs) > 1:
                ck.error(f"backend option `{name}` is given twice", locs[1])
        if "mac" not in backend.options:
            ck.error("a backend needs `mac MAC`: the next-hop MAC the VNIC writes", backend.loc)
            continue
        mac = ck.read(values.mac, backend.options["mac"], "backend mac")
        weight = 1
        if "weight" in backend.options:
            weight = ck.integer(backend.options["weight"], "weight", 1, 1000)
        if mac is None or weight is None:
            continue
        text = ":".join(f"{mac:012x}"[i:i + 2] for i in range(0, 12, 2))
        backends.append(Backend(addr, bport, text, weight))
    if len(backends) != len(lb.backends):
        return None
    return LoadBalancer(vip, port, proto, tuple(backends), str(origin(lb.loc, lb.text)))


def _offload(ck, statements, policy):
    tiers = {}
    for statement in statements:
        tier = statement.tier
        if statement.kind in ("after", "established", "never") and tier not in tiers:
            tiers[tier] = True       # a tier's criteria are what the file says, no more
            if tier == "vnic":
                policy = replace(policy, to_vnic_after_packets=None,
                                 to_vnic_when_established=False)
            else:
                policy = replace(policy, to_pnic_after_packets=None,
                                 to_pnic_when_established=False)
        if statement.kind == "after":
            n = ck.integer(statement.value, "packets", 1, 2 ** 32 - 1)
            if n is not None:
                policy = replace(policy, **{f"to_{tier}_after_packets": n})
        elif statement.kind == "established":
            policy = replace(policy, **{f"to_{tier}_when_established": True})
        elif statement.kind == "never":
            pass
        elif statement.kind == "idle":
            seconds = ck.read(values.duration, statement.value, "idle")
            if seconds is not None:
                if seconds <= 0:
                    ck.error("idle must be longer than 0s", statement.value.loc)
                else:
                    policy = replace(policy, idle_timeout_s=seconds)
        elif statement.kind == "capacity":
            n = ck.integer(statement.value, f"{tier} capacity", 0, 2 ** 32 - 1)
            if n is not None:
                policy = replace(policy, **{f"{tier}_capacity": n})
    return policy
