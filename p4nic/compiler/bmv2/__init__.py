"""BMv2 JSON back end: `build_bmv2_json(lowered) -> dict`, as BMv2's docs/JSON_format.md
(version 2.23, the version p4c writes) defines it.

The midend has already put everything in BMv2's terms (midend/ir.py); this module assigns ids
and writes the sections in the order p4c writes them.
"""
from __future__ import annotations

from p4nic.compiler.bmv2.expressions import hexstr, parser_value, primitive_arg, tv
from p4nic.compiler.midend import ir

JSON_VERSION = [2, 23]


def source_info(loc) -> dict | None:
    if loc is None:
        return None
    return {"filename": loc.file, "line": loc.line, "column": loc.column,
            "source_fragment": source_fragment(loc.text or "", loc.column)}


def source_fragment(line: str, column: int) -> str:
    """The construct starting at `column` of its source line, as p4c's source_fragment: up to
    a `;`, `{` or `}` outside brackets, or the bracket that closes an enclosing one
    (`hdr.ipv4.isValid()` out of `if (hdr.ipv4.isValid()) {`). Locations carry no end, so the
    fragment ends with the line at the latest."""
    text = line[max(column - 1, 0):]
    depth = 0
    for i, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            if depth == 0:
                text = text[:i]
                break
            depth -= 1
        elif char in ";{}" and depth == 0:
            text = text[:i]
            break
    return text.strip() or line.strip()


def with_source(obj: dict, loc) -> dict:
    si = source_info(loc)
    if si is not None:
        obj["source_info"] = si
    return obj


def build_bmv2_json(lowered: ir.LoweredProgram) -> dict:
    return _Writer(lowered).build()


class _Writer:
    def __init__(self, p: ir.LoweredProgram):
        self.p = p
        self.action_ids = {id(a): i for i, a in enumerate(p.actions)}
        self.header_ids = {h.name: i for i, h in enumerate(p.headers)}
        self.union_ids = {u.name: i for i, u in enumerate(p.header_unions)}

    def build(self) -> dict:
        p = self.p
        return {
            "header_types": [self.header_type(i, t) for i, t in enumerate(p.header_types)],
            "headers": [{"name": h.name, "id": i, "header_type": h.header_type,
                         "metadata": h.metadata} for i, h in enumerate(p.headers)],
            "header_stacks": [{"name": s.name, "id": i, "header_type": s.header_type,
                               "size": len(s.headers),
                               "header_ids": [self.header_ids[h] for h in s.headers]}
                              for i, s in enumerate(p.header_stacks)],
            "header_union_types": [{"name": u.name, "id": i, "headers": [list(m) for m in u.members]}
                                   for i, u in enumerate(p.header_union_types)],
            "header_unions": [{"name": u.name, "id": i, "union_type": u.union_type,
                               "header_ids": [self.header_ids[h] for h in u.headers]}
                              for i, u in enumerate(p.header_unions)],
            "header_union_stacks": [{"name": s.name, "id": i, "union_type": s.union_type,
                                     "size": len(s.unions),
                                     "header_union_ids": [self.union_ids[u] for u in s.unions]}
                                    for i, s in enumerate(p.header_union_stacks)],
            "field_lists": [self.field_list(i + 1, f) for i, f in enumerate(p.field_lists)],
            "errors": [[name, value] for name, value in p.errors],
            "enums": [{"name": name, "entries": [[m, v] for m, v in entries]}
                      for name, entries in p.enums],
            "parsers": [self.parser(i, x) for i, x in enumerate(p.parsers)],
            "parse_vsets": [{"name": v.name, "id": i, "compressed_bitwidth": v.bitwidth,
                             "max_size": v.max_size} for i, v in enumerate(p.parse_vsets)],
            "deparsers": [{"name": d.name, "id": i, "order": list(d.order), "primitives": []}
                          for i, d in enumerate(p.deparsers)],
            "meter_arrays": [self.meter(i, m) for i, m in enumerate(p.meter_arrays)],
            "counter_arrays": [self.counter(i, c) for i, c in enumerate(p.counter_arrays)],
            "register_arrays": [{"name": r.name, "id": i, "size": r.size, "bitwidth": r.bitwidth}
                                for i, r in enumerate(p.register_arrays)],
            "calculations": [self.calculation(i, c) for i, c in enumerate(p.calculations)],
            "learn_lists": [self.field_list(i + 1, f) for i, f in enumerate(p.learn_lists)],
            "actions": [self.action(i, a) for i, a in enumerate(p.actions)],
            "pipelines": self.pipelines(),
            "checksums": [self.checksum(i, c) for i, c in enumerate(p.checksums)],
            "force_arith": [],
            "extern_instances": [],
            "field_aliases": [[alias, [f.header, f.name]] for alias, f in p.field_aliases],
            "program": p.program_name,
            "__meta__": {"version": JSON_VERSION, "compiler": "p4nic"},
        }

    # -- declarations --------------------------------------------------------------------------
    @staticmethod
    def header_type(i: int, t: ir.HeaderTypeDef) -> dict:
        out = {"name": t.name, "id": i, "fields": [list(f) for f in t.fields]}
        if t.varbit_max_bytes is not None:
            out["max_length"] = t.varbit_max_bytes
        return out

    @staticmethod
    def field_list(i: int, f: ir.FieldList) -> dict:
        return {"id": i, "name": f.name,
                "elements": [{"type": "field", "value": [x.header, x.name]} for x in f.elements]}

    @staticmethod
    def meter(i: int, m: ir.MeterArray) -> dict:
        out = {"name": m.name, "id": i, "is_direct": m.is_direct, "rate_count": 2,
               "type": m.type, "size": m.size}
        if m.is_direct:
            out["binding"] = m.binding
            out["result_target"] = ([m.result_target.header, m.result_target.name]
                                    if m.result_target is not None else None)
        return out

    @staticmethod
    def counter(i: int, c: ir.CounterArray) -> dict:
        out = {"name": c.name, "id": i, "is_direct": c.is_direct, "size": c.size}
        if c.is_direct:
            out["binding"] = c.binding
        return out

    @staticmethod
    def calculation(i: int, c: ir.Calculation) -> dict:
        inputs = []
        for x in c.inputs:
            if x == "payload":
                inputs.append({"type": "payload", "value": None})
            elif isinstance(x, ir.Const):
                inputs.append({"type": "hexstr", "value": hexstr(x.value, x.width),
                               "bitwidth": x.width})
            else:
                inputs.append(tv(x))
        return {"name": c.name, "id": i, "algo": c.algo, "input": inputs}

    @staticmethod
    def checksum(i: int, c: ir.Checksum) -> dict:
        return {"name": c.name, "id": i, "target": [c.target.header, c.target.name],
                "type": "generic", "calculation": c.calculation, "verify": c.verify,
                "update": c.update, "if_cond": tv(c.if_cond) if c.if_cond is not None else None}

    # -- parsers -------------------------------------------------------------------------------
    def parser(self, i: int, x: ir.Parser) -> dict:
        states = []
        for n, s in enumerate(x.states):
            states.append(with_source({
                "name": s.name, "id": n,
                "parser_ops": [self.parser_op(op) for op in s.ops],
                "transitions": [self.transition(t) for t in s.transitions],
                "transition_key": [tv(k) for k in s.keys]}, s.loc))
        return {"name": x.name, "id": i, "init_state": x.init_state, "parse_states": states}

    def parser_op(self, op: ir.ParserOp) -> dict:
        if op.op in ("extract", "extract_VL"):
            target = op.params[0]
            params = [{"type": target.kind, "value": list(target.name)
                       if isinstance(target.name, tuple) else target.name}]
            if op.op == "extract_VL":
                params.append({"type": "expression", "value": tv(op.params[1])})
        elif op.op == "set":
            params = [tv(op.params[0]), parser_value(op.params[1])]
        elif op.op == "verify":
            params = [tv(op.params[0]), tv(op.params[1])]
        elif op.op == "advance":
            params = [parser_value(op.params[0])]
        else:  # primitive
            params = [self.primitive(op.params[0])]
        return {"op": op.op, "parameters": params}

    @staticmethod
    def transition(t: ir.Transition) -> dict:
        if t.kind == "default":
            value = mask = None
        elif t.kind == "parse_vset":
            value, mask = t.value, None
        else:
            value = hexstr(t.value, 8 * t.width_bytes)
            mask = hexstr(t.mask, 8 * t.width_bytes) if t.mask is not None else None
        return {"type": t.kind, "value": value, "mask": mask, "next_state": t.next_state}

    # -- actions -------------------------------------------------------------------------------
    def action(self, i: int, a: ir.Action) -> dict:
        return with_source({"name": a.name, "id": i,
                            "runtime_data": [{"name": n, "bitwidth": w} for n, w in a.params],
                            "primitives": [self.primitive(p) for p in a.primitives]}, a.loc)

    @staticmethod
    def primitive(p: ir.Primitive) -> dict:
        return with_source({"op": p.op, "parameters": [primitive_arg(x) for x in p.params]},
                           p.loc)

    # -- pipelines -----------------------------------------------------------------------------
    def pipelines(self) -> list:
        out, table_id, cond_id, profile_id = [], 0, 0, 0
        for i, pl in enumerate(self.p.pipelines):
            tables = []
            for t in pl.tables:
                tables.append(self.table(table_id, t))
                table_id += 1
            conds = []
            for c in pl.conditionals:
                conds.append(with_source({
                    "name": c.name, "id": cond_id, "expression": tv(c.expr),
                    "true_next": c.true_next, "false_next": c.false_next}, c.loc))
                cond_id += 1
            profiles = []
            for ap in pl.action_profiles:
                prof = {"name": ap.name, "id": profile_id, "max_size": ap.max_size}
                if ap.selector_algo is not None:
                    prof["selector"] = {"algo": ap.selector_algo,
                                        "input": [tv(x) for x in ap.selector_input]}
                profiles.append(prof)
                profile_id += 1
            out.append({"name": pl.name, "id": i, "init_table": pl.init_table,
                        "tables": tables, "action_profiles": profiles, "conditionals": conds})
        return out

    def table(self, i: int, t: ir.Table) -> dict:
        keys = []
        for k in t.keys:
            target = [k.target.header, k.target.name]
            mask = hexstr(k.mask, k.target.width) if k.mask is not None else None
            keys.append({"match_type": k.match_type, "name": k.name, "target": target,
                         "mask": mask})
        out = {"name": t.name, "id": i, "key": keys, "match_type": t.match_type,
               "type": t.kind, "max_size": t.max_size, "with_counters": t.with_counters,
               "support_timeout": t.support_timeout, "direct_meters": t.direct_meters,
               "action_ids": [self.action_ids[id(a)] for a in t.actions],
               "actions": [a.name for a in t.actions], "base_default_next": t.base_default_next,
               "next_tables": dict(t.next_tables)}
        if t.kind != "simple":
            out["action_profile"] = t.action_profile
        elif t.default_action is not None:
            out["default_entry"] = {
                "action_id": self.action_ids[id(t.default_action)],
                "action_const": t.default_const,
                "action_data": self.action_data(t.default_action, t.default_args),
                "action_entry_const": t.default_const}
        if t.entries:
            out["entries"] = [self.entry(n, t, e) for n, e in enumerate(t.entries)]
        return with_source(out, t.loc)

    @staticmethod
    def action_data(action: ir.Action, args: list) -> list:
        return [hexstr(v & ((1 << w) - 1), w) for v, (_, w) in zip(args, action.params)]

    def entry(self, n: int, t: ir.Table, e: ir.TableEntrySpec) -> dict:
        match_key = []
        for key, m in zip(t.keys, e.match):
            w = key.target.width
            kind = m[0]
            if kind in ("exact",):
                match_key.append({"match_type": key.match_type, "key": hexstr(m[1], w)})
            elif kind == "lpm":
                match_key.append({"match_type": "lpm", "key": hexstr(m[1], w),
                                  "prefix_length": m[2]})
            elif kind == "ternary":
                match_key.append({"match_type": "ternary", "key": hexstr(m[1], w),
                                  "mask": hexstr(m[2], w)})
            elif kind == "range":
                match_key.append({"match_type": "range", "start": hexstr(m[1], w),
                                  "end": hexstr(m[2], w)})
        return {"match_key": match_key,
                "action_entry": {"action_id": self.action_ids[id(e.action)],
                                 "action_data": self.action_data(e.action, e.args)},
                "priority": e.bmv2_priority if e.bmv2_priority is not None else n + 1}
