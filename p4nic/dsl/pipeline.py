"""The programmable pipeline (US11736413B2): `stage`, `append` and `bypass` statements become
`classify` entries and slot-table entries of vnic.p4.

The user names stages and flows; the compiler finds the profiles:

- every distinct flow selection (`for MATCH`) gets one bit of the 8-bit `meta.profile`;
- `classify` gets one entry per combination of overlapping selections (their matches
  intersected; empty intersections dropped), setting the OR of their profile bits and of
  their `bypass` statements' stage bits; a combination of more selections has a higher
  priority, so a flow gets every selection it is in;
- a stage's rules go into the slot table of its junction (`slot_after_<stage>`), matching
  `profile &&& its selection's bit` (a stage for all flows does not match the profile);
- `-> bypass STAGES` in a stage writes `slot_set_bypass`, which replaces `meta.bypass`, so
  such a rule has one entry per combination the stage's flows can be in, each keeping that
  combination's own bypass bits.

Two stages at one junction whose selections overlap would need two slots for the same
flows; there is one, so that is an error, as is a ninth selection.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from p4nic.dsl import values
from p4nic.dsl.checked import ChainStage, Entry, Rule, StageChain, origin
from p4nic.dsl.errors import suggest
from p4nic.dsl.ternary import Layout, contains, intersection

JUNCTIONS = ("classify", "filter", "acl", "services", "qselect", "encap")
FIXED = JUNCTIONS[1:]
STAGE_BITS = {"filter": 0x01, "acl": 0x02, "services": 0x04, "qselect": 0x08, "encap": 0x10}
PROFILE_BITS = 8
MAX_COMBINATIONS = 4096


@dataclass
class Selection:
    """One distinct `for MATCH` and what uses it."""
    cubes: list                    # packed over classify's key
    text: str
    loc: object
    bit: int = 0
    bypass: int = 0
    users: list = field(default_factory=list)


@dataclass
class StageSpec:
    node: object                   # ast.Stage
    junction: str
    selection: object              # Selection or None (every flow)


def compile_pipeline(ck, block) -> None:
    classify = ck.table("classify", block.loc)
    if classify is None or not ck.claim(classify, "pipeline", block.loc):
        return
    names = ck.fields_of(classify)
    layout = Layout((mf.name, mf.bitwidth) for mf in classify.match_fields)
    selections = {}                # packed cubes key -> Selection
    stages, seen = [], {}

    def select(match):
        resolved = ck.match(match, classify, "a flow selection (`for ...`)")
        if resolved is None:
            return None
        cubes = sorted({layout.pack({names[f]: c for f, c in combo.items()})
                        for combo in resolved.expand()})
        key = tuple(cubes)
        if key not in selections:
            selections[key] = Selection(cubes, resolved.text, match.loc)
        return selections[key]

    for statement in block.statements:
        if hasattr(statement, "where"):
            if statement.name in seen:
                ck.error(f"stage {statement.name} is declared twice (first at line "
                         f"{seen[statement.name].line})", statement.name_loc)
                continue
            seen[statement.name] = statement.loc
            junction = _junction(ck, statement)
            selection = select(statement.selection) if statement.selection else None
            if junction is None or (statement.selection and selection is None):
                continue
            spec = StageSpec(statement, junction, selection)
            if selection is not None:
                selection.users.append(spec)
            stages.append(spec)
        else:
            bits = 0
            for name, loc in statement.stages:
                if name not in STAGE_BITS:
                    ck.error(f"no fixed stage '{name}' to bypass (the stages: "
                             f"{', '.join(FIXED)})" + suggest(name, FIXED), loc)
                    bits = None
                    break
                bits |= STAGE_BITS[name]
            selection = select(statement.selection)
            if bits is None or selection is None:
                continue
            selection.bypass |= bits
            selection.users.append(statement)

    ordered = list(selections.values())
    for index, selection in enumerate(ordered):
        if index >= PROFILE_BITS:
            ck.error(f"the pipeline needs {len(ordered)} distinct flow selections, but "
                     f"meta.profile has {PROFILE_BITS} bits (one per selection): reuse an "
                     "identical `for` match, or merge stages", selection.loc)
            return
        selection.bit = 1 << index
    if not _junctions_free(ck, stages):
        return
    combos = _combinations(ck, ordered, block)
    if combos is None:
        return
    _classify_entries(ck, classify, layout, combos, block)
    for spec in stages:
        _stage_entries(ck, spec, combos)
    ck.out.chains = _chains(stages, combos, ordered)


def _junction(ck, stage):
    """The fixed stage whose slot holds the injected one."""
    if stage.where == "append":
        return "encap"
    if stage.anchor not in FIXED:
        ck.error(f"no fixed stage '{stage.anchor}' (the stages, in order: "
                 f"{' | '.join(FIXED)})" + suggest(stage.anchor, FIXED), stage.anchor_loc)
        return None
    if stage.where == "after":
        return stage.anchor
    return JUNCTIONS[JUNCTIONS.index(stage.anchor) - 1]


def _junctions_free(ck, stages) -> bool:
    ok = True
    for i, a in enumerate(stages):
        for b in stages[i + 1:]:
            if a.junction != b.junction:
                continue
            if a.selection is None or b.selection is None or a.selection is b.selection or any(
                    intersection(x, y) for x in a.selection.cubes for y in b.selection.cubes):
                where = "appended" if a.junction == "encap" else f"injected after {a.junction}"
                ck.error(f"stages {a.node.name} and {b.node.name} are both {where} for "
                         "overlapping flows, and a junction has one slot per flow: make their "
                         "`for` selections disjoint, or merge the stages", b.node.loc)
                ok = False
    return ok


def _combinations(ck, selections, block):
    """[(frozenset of selection indexes, cubes)] for every non-empty overlap of selections."""
    combos = []
    for i, selection in enumerate(selections):
        found = [(frozenset([i]), selection.cubes)]
        for members, cubes in combos:
            both = []
            for a in cubes:
                for b in selection.cubes:
                    cube = intersection(a, b)
                    if cube is not None and cube not in both:
                        both.append(cube)
            if both:
                found.append((members | {i}, both))
        combos += found
        if len(combos) > MAX_COMBINATIONS:
            ck.error("the pipeline's flow selections overlap in too many ways to classify "
                     f"(over {MAX_COMBINATIONS} combinations)", block.loc)
            return None
    # a combination every flow of which is in a larger one never decides anything
    kept = []
    for members, cubes in combos:
        if not any(other > members and all(any(contains(o, c) for o in ocubes) for c in cubes)
                   for other, ocubes in combos):
            kept.append((members, cubes))
    return [(members, cubes, sum(selections[i].bit for i in members),
             selections[min(members)].loc,
             _or(selections[i].bypass for i in members),
             " and ".join(selections[i].text for i in sorted(members)))
            for members, cubes in kept]


def _or(numbers) -> int:
    out = 0
    for n in numbers:
        out |= n
    return out


def _classify_entries(ck, classify, layout, combos, block):
    action = ck.action(classify, "set_profile", block.loc)
    if not action:
        return
    for members, cubes, profile, loc, bypass, text in combos:
        rule = Rule(loc, origin(loc, f"pipeline: flows {text}"), user=False)
        for cube in cubes:
            ck.out.entries.append(Entry(classify.preamble.name, layout.unpack(cube),
                                        len(members), action,
                                        {"profile": profile, "bypass": bypass}, rule))


_ACTIONS = {"drop": "slot_drop", "allow": "NoAction", "mark": "slot_mark_special",
            "cpu": "slot_to_cpu"}


def _stage_entries(ck, spec, combos):
    stage = spec.node
    table = ck.table(f"slot_after_{spec.junction}", stage.loc)
    if table is None:
        return
    profile_field = ck.fields_of(table).get("profile")
    rules = stage.rules
    for i, rule in enumerate(rules):
        if rule.match is None and i != len(rules) - 1:
            ck.error("`default` must be the last rule of a stage: the rules after it would "
                     "still apply before it", rule.loc)
    found = ck.priorities(rules, table.preamble.name)
    for rule, priority in zip(rules, found or [None] * len(rules)):
        resolved = ck.match(rule.match, table, "a stage rule", drop=("profile",))
        action = _slot_action(ck, table, spec, rule.action)
        if resolved is None or action is None or (priority is None and rule.match is not None):
            continue
        name, params, bypass = action
        priority = priority if rule.match is not None else 1
        where = "append" if stage.where == "append" else f"{stage.where} {stage.anchor}"
        origin = ck.rule_of(rule, f"stage {stage.name} ({where}): {rule.text}")
        if bypass is None:
            extra = ({} if spec.selection is None or profile_field is None
                     else {profile_field: (spec.selection.bit, spec.selection.bit)})
            ck.add(table, resolved, priority, name, params, origin, extra=extra)
            continue
        # slot_set_bypass replaces meta.bypass: one entry per combination of the stage's
        # flows, each keeping the bits its classify entry set
        cases = [(profile, own) for members, _, profile, _, own, _ in combos
                 if spec.selection is None or spec.selection.bit & profile]
        if spec.selection is None:
            cases.append((0, 0))
        for profile, own in cases:
            ck.add(table, resolved, priority, name, {"bypass": bypass | own}, origin,
                   extra={profile_field: (profile, 0xFF)} if profile_field else {})


def _slot_action(ck, table, spec, act):
    """(P4Info action, params, bypass bits or None) of a stage rule's action."""
    kind = act.kind
    if kind in _ACTIONS:
        name = ck.action(table, _ACTIONS[kind], act.loc)
        return (name, {}, None) if name else None
    if kind == "queue":
        from p4nic.dsl.statements import queue
        q = queue(ck, act.args["queue"])
        name = ck.action(table, "slot_set_queue", act.loc)
        return (name, {"queue": q}, None) if q is not None and name else None
    if kind == "dscp":
        dscp = ck.integer(act.args["dscp"], "DSCP", 0, 63)
        name = ck.action(table, "slot_set_dscp", act.loc)
        return (name, {"dscp": dscp}, None) if dscp is not None and name else None
    if kind == "dmac":
        mac = ck.read(values.mac, act.args["mac"], "set dmac")
        name = ck.action(table, "slot_set_dmac", act.loc)
        return (name, {"dmac": mac}, None) if mac is not None and name else None
    if kind == "bypass":
        bits = 0
        here = JUNCTIONS.index(spec.junction)
        for stage, loc in act.args["stages"]:
            if stage not in STAGE_BITS:
                ck.error(f"no fixed stage '{stage}' to bypass (the stages: {', '.join(FIXED)})"
                         + suggest(stage, FIXED), loc)
                return None
            if JUNCTIONS.index(stage) <= here:
                ck.error(f"{stage} runs before this stage, so it cannot be bypassed from "
                         f"here: a stage bypasses later stages "
                         f"({', '.join(JUNCTIONS[here + 1:]) or 'none left'})", loc)
                return None
            bits |= STAGE_BITS[stage]
        name = ck.action(table, "slot_set_bypass", act.loc)
        return (name, {}, bits) if name else None
    ck.error("a stage rule's action is drop, allow, queue N, mark special, set dscp N, set "
             f"dmac MAC, to cpu or bypass STAGE, ...; not `{act.text}`", act.loc)
    return None


def _chains(stages, combos, selections) -> list:
    """Per profile: which flows, and the stages they go through."""
    def chain(profile, bypass, flows):
        out = []
        for junction in JUNCTIONS:
            if junction != "classify":
                kind = "bypassed" if bypass & STAGE_BITS[junction] else "fixed"
                out.append(ChainStage(junction, kind))
            for spec in stages:
                if spec.junction == junction and (spec.selection is None
                                                  or spec.selection.bit & profile):
                    out.append(ChainStage(spec.node.name, "injected"))
        return StageChain(profile, bypass, flows, out)

    chains = [chain(profile, bypass, text)
              for _, _, profile, _, bypass, text in sorted(combos, key=lambda c: c[2])]
    rest = "every other flow" if selections else "every flow"
    return chains + [chain(0, 0, rest)]
