"""A rule's match (`ip daddr 10.0.0.5 tcp dport {80, 443}`) as alternatives per flow-key field.

`resolve` reads every item, adds what items imply (`tcp` is protocol 6, `ip saddr` is IPv4),
and refuses what cannot be meant: a field given twice, IPv4 and IPv6 at once, `tcp` with
`ip protocol udp`, an EtherType that contradicts the IP version. The result says, per DSL
field (fields.FIELDS), which (value, care) cubes it may take; a table entry is one choice per
field (`expand`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product

from p4nic.dsl import fields as F
from p4nic.dsl import values
from p4nic.dsl.values import BadValue

# EtherType each IP version arrives in (meta.ethertype is the type after any VLAN tag)
_IP_ETHERTYPE = {4: 0x0800, 6: 0x86DD}


@dataclass
class Resolved:
    """field -> list of (value, care) alternatives; `locs` says where each field was set."""
    fields: dict = field(default_factory=dict)
    locs: dict = field(default_factory=dict)
    value_locs: dict = field(default_factory=dict)
    text: str = "any"

    def count(self) -> int:
        n = 1
        for alternatives in self.fields.values():
            n *= len(alternatives)
        return n

    def expand(self) -> list:
        """Every combination of alternatives, as {field: (value, care)}."""
        names = list(self.fields)
        return [dict(zip(names, choice))
                for choice in product(*(self.fields[n] for n in names))]


def resolve(match, defines, errors, vf_ports=None) -> Resolved | None:
    """The match read, or None after reporting what is wrong with it to `errors`.

    `vf_ports` maps a VF number to its port (None: `in vf` is refused, as on a VNIC).
    """
    if match is None:
        return Resolved()
    out = Resolved(text=match.text)
    explicit = {}
    implied = []            # (field, value, loc, why)
    ok = True
    for item in match.items:
        bare = F.BARE.get(item.selector)
        if not item.fields:
            if bare is None:
                words = ", ".join(F.WORDS_BY_SELECTOR.get(item.selector, []))
                errors.error(f"'{item.selector}' needs a field: {item.selector} {words} ...",
                             item.loc)
                ok = False
            else:
                implied += [(f, v, item.loc, item.selector) for f, v in bare]
            continue
        for fld in item.fields:
            if fld.name == "uplink":
                if item.selector != "in":
                    errors.error(f"'{item.selector} uplink' means nothing: write `in uplink`",
                                 fld.loc)
                    ok = False
                    continue
                name, value = F.IN_UPLINK
                if not _set_explicit(explicit, out, name, [(value, (1 << 9) - 1)], fld.loc,
                                     errors, "in port"):
                    ok = False
                continue
            spec = F.ITEMS.get((item.selector, fld.name))
            if spec is None:
                known = F.WORDS_BY_SELECTOR.get(item.selector, [])
                if known:
                    message = (f"'{item.selector}' has no field '{fld.name}' (it has: "
                               f"{', '.join(known)})")
                    other = [s for (s, w) in F.ITEMS if w == fld.name]
                    if other:
                        message += f"; did you mean `{other[0]} {fld.name}`?"
                else:
                    message = f"'{item.selector}' takes no fields"
                errors.error(message, fld.loc)
                ok = False
                continue
            implied += [(f, v, fld.loc, f"{item.selector} {fld.name}") for f, v in spec.implies]
            try:
                alternatives = _read(spec, fld.values, defines, vf_ports)
            except BadValue as exc:
                errors.error(exc.message, exc.value.loc if exc.value is not None else fld.loc)
                ok = False
                continue
            if not _set_explicit(explicit, out, spec.field, alternatives, fld.loc, errors,
                                 fld.name):
                ok = False
            out.value_locs[spec.field] = fld.values.loc
    if not ok:
        return None
    for name, value, loc, why in implied:
        full = (1 << F.FIELDS[name].width) - 1
        current = out.fields.get(name)
        if current is None:
            out.fields[name] = [(value, full)]
            out.locs[name] = loc
            continue
        kept = [(v, c) for v, c in current if (v ^ value) & c == 0]
        if not kept:
            errors.error(f"'{why}' means {F.FIELDS[name].words} {_shown(name, value)}, which "
                         f"contradicts line {out.locs[name].line}: no packet matches both",
                         loc)
            return None
        out.fields[name] = [(value, full)]
    return out if _consistent(out, errors, match) else None


def _set_explicit(explicit, out, name, alternatives, loc, errors, word) -> bool:
    if name in explicit:
        errors.error(f"{word} is matched twice in one rule (first at column "
                     f"{explicit[name].column}); to match either value write a set {{a, b}}",
                     loc)
        return False
    explicit[name] = loc
    out.fields[name] = _dedupe(alternatives)
    out.locs[name] = loc
    return True


def _read(spec, written, defines, vf_ports) -> list:
    width = F.FIELDS[spec.field].width
    found = []
    for item in written.items:
        if spec.reader == "vf":
            for word in (defines.expand(item) if item.kind == "var" else [item]):
                vf = values.integer(word, defines, "VF", 1, 510)
                if vf_ports is None:
                    raise BadValue("`in vf` is for a PNIC, which has VFs; this NIC has none",
                                   word)
                if vf not in vf_ports:
                    raise BadValue(f"VF {vf} does not exist (the PNIC has VFs "
                                   f"{_span_text(sorted(vf_ports))}; set `vfs N`)", word)
                found.append((vf_ports[vf], (1 << width) - 1))
            continue
        found += values.cubes(spec.reader, item, width, defines)
    return found


def _dedupe(alternatives: list) -> list:
    seen, out = set(), []
    for alt in alternatives:
        if alt not in seen:
            seen.add(alt)
            out.append(alt)
    return out


def _consistent(out: Resolved, errors, match) -> bool:
    """Refuse matches no packet can satisfy for reasons of protocol layering."""
    ethertypes = out.fields.get("ethertype")
    if ethertypes is not None:
        for value, care in ethertypes:
            if care == 0xFFFF and value == 0x8100:
                errors.error("ether type is the type after any VLAN tag, so 0x8100 (vlan) "
                             "never matches: match tagged frames with `vlan id 1-4095`",
                             out.value_locs["ethertype"])
                return False
        versions = out.fields.get("ip_ver")
        if versions is not None:
            wanted = [_IP_ETHERTYPE.get(v) for v, _ in versions]
            if not any((w ^ value) & care == 0 for w in wanted if w is not None
                       for value, care in ethertypes):
                errors.error("ether type contradicts the IP version the rule matches (IPv4 "
                             "is ether type ip, IPv6 is ip6): no packet matches",
                             out.value_locs["ethertype"])
                return False
    return True


def _shown(name: str, value: int) -> str:
    if name == "proto":
        for word, number in F.PROTOCOLS.items():
            if number == value:
                return word
    if name == "ip_ver":
        return "ip" if value == 4 else "ip6"
    return str(value)


def _span_text(numbers: list) -> str:
    if not numbers:
        return "none"
    if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 2:
        return f"{numbers[0]}-{numbers[-1]}"
    return ", ".join(str(n) for n in numbers)


def describe_allowed(allowed) -> str:
    """What a table's rules may match, in the DSL's words."""
    words = []
    for name in F.FIELDS:
        if name in allowed and name not in ("profile", "vni", "is_first", "is_arp", "is_nd",
                                             "is_dhcp"):
            if F.FIELDS[name].words not in words:
                words.append(F.FIELDS[name].words)
    return ", ".join(words) or "nothing"
