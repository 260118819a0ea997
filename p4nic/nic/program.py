"""Load and validate a BMv2 JSON program into a model the code generator compiles.

The model mirrors BMv2 docs/JSON_format.md: header types, header instances, stacks, unions,
parsers, deparsers, actions, pipelines (tables, conditionals, action calls), calculations,
checksums, field lists, learn lists, extern arrays and parse value sets. Everything that later
stages index by name is checked here, so a malformed program fails with a `ProgramError` that
says what is wrong and where, never a KeyError. Expressions and primitive parameters stay as
JSON; codegen.py validates them while compiling (and raises ProgramError too).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

# v1model core errors, in ErrorCodeMap::add_core order (BMv2 src/bm_sim/parser_error.cpp).
CORE_ERRORS = (
    "NoError",
    "PacketTooShort",
    "NoMatch",
    "StackOutOfBounds",
    "HeaderTooShort",
    "ParserTimeout",
    "ParserInvalidArgument",
)


class ProgramError(ValueError):
    """A BMv2 JSON program that cannot be loaded; the message names the offending object."""


@dataclass
class FieldSpec:
    name: str
    width: Optional[int]  # None: the variable-length ("*") field
    signed: bool = False


@dataclass
class HeaderType:
    name: str
    id: int
    fields: list
    length_exp: object = None  # JSON expression giving the varbit field width, or None
    max_length: Optional[int] = None  # bytes, for varbit headers

    @property
    def varbit_index(self) -> Optional[int]:
        for i, f in enumerate(self.fields):
            if f.width is None:
                return i
        return None

    @property
    def fixed_bits(self) -> int:
        return sum(f.width for f in self.fields if f.width is not None)

    def field_index(self, name: str) -> Optional[int]:
        for i, f in enumerate(self.fields):
            if f.name == name:
                return i
        return None


@dataclass
class HeaderInstance:
    name: str
    id: int
    type: HeaderType
    metadata: bool


@dataclass
class HeaderStack:
    name: str
    id: int
    type: HeaderType
    headers: list  # HeaderInstance, element 0 first


@dataclass
class UnionType:
    name: str
    id: int
    members: list  # (member name, HeaderType)


@dataclass
class HeaderUnion:
    name: str
    id: int
    type: UnionType
    headers: list  # HeaderInstance in member order


@dataclass
class UnionStack:
    name: str
    id: int
    type: UnionType
    unions: list  # HeaderUnion, element 0 first


@dataclass
class Transition:
    type: str  # "default", "hexstr" or "parse_vset"
    value: object
    mask: object
    next_state: Optional[str]


@dataclass
class ParseState:
    name: str
    id: int
    ops: list
    key: list
    transitions: list


@dataclass
class Parser:
    name: str
    id: int
    init_state: Optional[str]
    states: dict  # name -> ParseState, JSON order


@dataclass
class Deparser:
    name: str
    id: int
    order: list  # header instance names
    primitives: list


@dataclass
class Action:
    name: str
    id: int
    params: list  # (name, bitwidth)
    primitives: list
    source_info: Optional[dict] = None  # JSON source_info, for the trace


@dataclass
class TableKey:
    match_type: str
    target: object  # [header, field], or a header name for `valid`
    mask: Optional[int]
    name: str


@dataclass
class Table:
    name: str
    id: int
    match_type: str
    type: str  # simple, indirect, indirect_ws
    action_profile: Optional[str]
    key: list
    action_ids: list
    next_tables: dict
    base_default_next: Optional[str]
    with_counters: bool
    support_timeout: bool
    direct_meters: Optional[str]
    default_entry: Optional[dict]  # JSON default_entry (action_id, action_data, *_const)

    @property
    def has_default_entry(self) -> bool:
        """The JSON sets one, so a miss always runs an action."""
        return self.default_entry is not None


@dataclass
class Conditional:
    name: str
    id: int
    expression: object
    true_next: Optional[str]
    false_next: Optional[str]
    source_info: Optional[dict] = None  # JSON source_info, for the trace


@dataclass
class ActionCall:
    name: str
    id: int
    action_id: int
    next_node: Optional[str]


@dataclass
class Pipeline:
    name: str
    id: int
    init_table: Optional[str]
    tables: dict
    conditionals: dict
    action_calls: dict
    action_profiles: dict  # name -> raw JSON

    def node(self, name: str):
        return self.tables.get(name) or self.conditionals.get(name) or self.action_calls.get(name)


@dataclass
class Calculation:
    name: str
    id: int
    algo: str
    inputs: list  # raw JSON type/value objects


@dataclass
class Checksum:
    name: str
    id: int
    target: tuple
    type: str  # "generic" (a named calculation) or "ipv4" (BMv2's IPv4Checksum)
    calculation: Optional[str]
    update: bool
    verify: bool
    if_cond: object


@dataclass
class FieldList:
    name: str
    id: int
    fields: list  # (header, field)


@dataclass
class ExternArray:
    """A counter, meter or register array; `json` keeps the attributes this model doesn't use."""

    name: str
    id: int
    size: int
    json: dict = field(default_factory=dict)


@dataclass
class Program:
    """A validated BMv2 JSON program."""

    json: dict
    header_types: dict
    headers: dict
    stacks: dict
    union_types: dict
    unions: dict
    union_stacks: dict
    errors: dict  # name -> value, with the core errors added as BMv2 does
    enums: dict
    parsers: dict
    deparsers: dict
    actions: dict  # id -> Action
    pipelines: dict
    calculations: dict
    checksums: list
    field_lists: dict  # id -> FieldList
    learn_lists: dict  # id -> FieldList
    counters: dict
    meters: dict
    registers: dict
    parse_vsets: dict  # name -> compressed bitwidth
    field_aliases: dict  # "header.field" expected by the target -> (header, field)
    extern_instances: dict

    def action_profile(self, name: str) -> dict:
        """The raw JSON of action profile `name`, from whichever pipeline declares it."""
        for pipeline in self.pipelines.values():
            if name in pipeline.action_profiles:
                return pipeline.action_profiles[name]
        raise ProgramError(f"unknown action profile {name!r}")

    @classmethod
    def load(cls, source) -> "Program":
        """Build a Program from a JSON dict or JSON text; raises ProgramError."""
        if isinstance(source, (str, bytes, bytearray)):
            try:
                source = json.loads(source)
            except (ValueError, RecursionError) as e:
                raise ProgramError(f"not valid JSON: {e}") from None
        if not isinstance(source, dict):
            raise ProgramError("a BMv2 JSON program must be a JSON object")
        try:
            return _Loader(source).program()
        except ProgramError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as e:
            # A shape _Loader did not anticipate; still a clear error, never a traceback.
            raise ProgramError(f"malformed BMv2 JSON: {type(e).__name__}: {e}") from None


def parse_hexstr(text, where: str) -> int:
    """A JSON hexstring ("0x0800", "-0x1", "0a") as an int."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise ProgramError(f"{where}: expected a hexstring, got {text!r}")
    if isinstance(text, int):
        return text
    try:
        return int(text, 16)
    except ValueError:
        raise ProgramError(f"{where}: bad hexstring {text!r}") from None


def _get(obj, key, kind, where, default=...):
    """obj[key] checked to be of JSON type `kind` (a type or tuple); `default` if optional."""
    if not isinstance(obj, dict):
        raise ProgramError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    if key not in obj or (obj[key] is None and default is not ...):
        if default is ...:
            raise ProgramError(f"{where}: missing attribute '{key}'")
        return default
    value = obj[key]
    if kind is int and isinstance(value, bool):
        raise ProgramError(f"{where}: attribute '{key}' must be an integer, got {value!r}")
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ProgramError(f"{where}: attribute '{key}' must be {names}, got {value!r}")
    return value


def _named_list(root, key, where="program"):
    items = _get(root, key, list, where, [])
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ProgramError(f"{key}[{i}]: expected a JSON object")
    return items


class _Loader:
    def __init__(self, root: dict):
        self.root = root

    def program(self) -> Program:
        root = self.root
        meta = root.get("__meta__")
        if meta is not None:
            version = _get(meta, "version", list, "__meta__", None)
            if version is not None and (not version or version[0] != 2):
                raise ProgramError(f"__meta__: unsupported BMv2 JSON version {version!r} "
                                   "(need 2.x)")
        self.header_types = self._header_types()
        self.headers = self._headers()
        self.stacks = self._stacks()
        self.union_types = self._union_types()
        self.unions = self._unions()
        self.union_stacks = self._union_stacks()
        errors = self._errors()
        enums = {}
        for e in _named_list(root, "enums"):
            enums[_get(e, "name", str, "enums")] = dict(_get(e, "entries", list, "enums", []))
        self.actions = self._actions()
        pipelines = {}
        for pj in _named_list(root, "pipelines"):
            pipeline = self._pipeline(pj)
            pipelines[pipeline.name] = pipeline
        parsers = {p.name: p for p in (self._parser(pj) for pj in _named_list(root, "parsers"))}
        deparsers = {}
        for dj in _named_list(root, "deparsers"):
            name = _get(dj, "name", str, "deparsers")
            where = f"deparser '{name}'"
            order = _get(dj, "order", list, where)
            for h in order:
                self.header(h, where)
            deparsers[name] = Deparser(name, _get(dj, "id", int, where), order,
                                       _get(dj, "primitives", list, where, []))
        calculations = {}
        for cj in _named_list(root, "calculations"):
            name = _get(cj, "name", str, "calculations")
            where = f"calculation '{name}'"
            calculations[name] = Calculation(name, _get(cj, "id", int, where),
                                             _get(cj, "algo", str, where),
                                             _get(cj, "input", list, where))
        checksums = []
        for cj in _named_list(root, "checksums"):
            name = _get(cj, "name", str, "checksums")
            where = f"checksum '{name}'"
            target = self.field_ref(_get(cj, "target", list, where), where)
            ctype = _get(cj, "type", str, where, "generic")
            if ctype not in ("generic", "ipv4"):
                raise ProgramError(f"{where}: unsupported checksum type {ctype!r} "
                                   "(BMv2 has 'generic' and 'ipv4')")
            calc = None
            if ctype == "generic":
                calc = _get(cj, "calculation", str, where)
                if calc not in calculations:
                    raise ProgramError(f"{where}: unknown calculation {calc!r}")
            checksums.append(Checksum(name, _get(cj, "id", int, where), target, ctype, calc,
                                      _get(cj, "update", bool, where, True),
                                      _get(cj, "verify", bool, where, True),
                                      cj.get("if_cond")))
        field_lists = self._field_lists("field_lists")
        learn_lists = self._field_lists("learn_lists")
        counters = self._arrays("counter_arrays")
        meters = self._arrays("meter_arrays")
        registers = self._arrays("register_arrays")
        for name, reg in registers.items():
            if not isinstance(reg.json.get("bitwidth"), int) or reg.json["bitwidth"] <= 0:
                raise ProgramError(f"register_arrays '{name}': 'bitwidth' must be a positive "
                                   "integer")
        vsets = {}
        for vj in _named_list(root, "parse_vsets"):
            name = _get(vj, "name", str, "parse_vsets")
            vsets[name] = _get(vj, "compressed_bitwidth", int, f"parse_vset '{name}'")
        aliases = {}
        for alias in _get(root, "field_aliases", list, "program", []):
            if (not isinstance(alias, list) or len(alias) != 2 or not isinstance(alias[0], str)):
                raise ProgramError(f"field_aliases: bad entry {alias!r}")
            aliases[alias[0]] = self.field_ref(alias[1], f"field alias '{alias[0]}'")
        externs = {}
        for ej in _named_list(root, "extern_instances"):
            externs[_get(ej, "name", str, "extern_instances")] = ej
        for pipeline in pipelines.values():
            self._check_pipeline_refs(pipeline)
        return Program(root, self.header_types, self.headers, self.stacks, self.union_types,
                       self.unions, self.union_stacks, errors, enums, parsers, deparsers,
                       self.actions, pipelines, calculations, checksums, field_lists,
                       learn_lists, counters, meters, registers, vsets, aliases, externs)

    # ---- headers ---------------------------------------------------------------------------

    def _header_types(self) -> dict:
        out = {}
        for tj in _named_list(self.root, "header_types"):
            name = _get(tj, "name", str, "header_types")
            where = f"header type '{name}'"
            fields = []
            for fj in _get(tj, "fields", list, where):
                if not isinstance(fj, list) or len(fj) not in (2, 3) or not isinstance(fj[0], str):
                    raise ProgramError(f"{where}: bad field {fj!r} (want [name, width(, signed)])")
                width = fj[1]
                if width == "*":
                    width = None
                elif isinstance(width, bool) or not isinstance(width, int) or width < 0:
                    raise ProgramError(f"{where}: field '{fj[0]}' has bad width {fj[1]!r}")
                signed = bool(fj[2]) if len(fj) == 3 else False
                if signed and width is not None and width < 2:
                    raise ProgramError(f"{where}: signed field '{fj[0]}' needs at least 2 bits")
                fields.append(FieldSpec(fj[0], width, signed))
            htype = HeaderType(name, _get(tj, "id", int, where), fields)
            if sum(f.width is None for f in fields) > 1:
                raise ProgramError(f"{where}: more than one variable-length field")
            if htype.varbit_index is not None:
                htype.length_exp = tj.get("length_exp")
                htype.max_length = _get(tj, "max_length", int, where, None)
            out[name] = htype
        return out

    def _headers(self) -> dict:
        out = {}
        self.headers_by_id = {}
        for hj in _named_list(self.root, "headers"):
            name = _get(hj, "name", str, "headers")
            where = f"header '{name}'"
            tname = _get(hj, "header_type", str, where)
            if tname not in self.header_types:
                raise ProgramError(f"{where}: unknown header type {tname!r}")
            if name in out:
                raise ProgramError(f"{where}: declared twice")
            inst = HeaderInstance(name, _get(hj, "id", int, where), self.header_types[tname],
                                  _get(hj, "metadata", bool, where, False))
            out[name] = inst
            self.headers_by_id[inst.id] = inst
        return out

    def _header_by_id(self, hid, where) -> HeaderInstance:
        inst = self.headers_by_id.get(hid)
        if inst is None:
            raise ProgramError(f"{where}: unknown header id {hid!r}")
        return inst

    def _stacks(self) -> dict:
        out = {}
        for sj in _named_list(self.root, "header_stacks"):
            name = _get(sj, "name", str, "header_stacks")
            where = f"header stack '{name}'"
            tname = _get(sj, "header_type", str, where)
            if tname not in self.header_types:
                raise ProgramError(f"{where}: unknown header type {tname!r}")
            members = [self._header_by_id(i, where) for i in _get(sj, "header_ids", list, where)]
            for m in members:
                if m.type.name != tname:
                    raise ProgramError(f"{where}: element '{m.name}' is not of type {tname}")
            out[name] = HeaderStack(name, _get(sj, "id", int, where), self.header_types[tname],
                                    members)
        return out

    def _union_types(self) -> dict:
        out = {}
        for uj in _named_list(self.root, "header_union_types"):
            name = _get(uj, "name", str, "header_union_types")
            where = f"header union type '{name}'"
            members = []
            for m in _get(uj, "headers", list, where):
                if not isinstance(m, list) or len(m) != 2 or m[1] not in self.header_types:
                    raise ProgramError(f"{where}: bad member {m!r}")
                members.append((m[0], self.header_types[m[1]]))
            out[name] = UnionType(name, _get(uj, "id", int, where), members)
        return out

    def _unions(self) -> dict:
        out = {}
        self.unions_by_id = {}
        for uj in _named_list(self.root, "header_unions"):
            name = _get(uj, "name", str, "header_unions")
            where = f"header union '{name}'"
            tname = _get(uj, "union_type", str, where)
            if tname not in self.union_types:
                raise ProgramError(f"{where}: unknown union type {tname!r}")
            members = [self._header_by_id(i, where) for i in _get(uj, "header_ids", list, where)]
            union = HeaderUnion(name, _get(uj, "id", int, where), self.union_types[tname], members)
            if len(members) != len(union.type.members):
                raise ProgramError(f"{where}: has {len(members)} headers, its type has "
                                   f"{len(union.type.members)}")
            out[name] = union
            self.unions_by_id[union.id] = union
        return out

    def _union_stacks(self) -> dict:
        out = {}
        for sj in _named_list(self.root, "header_union_stacks"):
            name = _get(sj, "name", str, "header_union_stacks")
            where = f"header union stack '{name}'"
            tname = _get(sj, "union_type", str, where)
            if tname not in self.union_types:
                raise ProgramError(f"{where}: unknown union type {tname!r}")
            members = []
            for uid in _get(sj, "header_union_ids", list, where):
                if uid not in self.unions_by_id:
                    raise ProgramError(f"{where}: unknown header union id {uid!r}")
                members.append(self.unions_by_id[uid])
            out[name] = UnionStack(name, _get(sj, "id", int, where), self.union_types[tname],
                                   members)
        return out

    def _errors(self) -> dict:
        errors = {}
        for e in _get(self.root, "errors", list, "program", []):
            if (not isinstance(e, list) or len(e) != 2 or not isinstance(e[0], str)
                    or isinstance(e[1], bool) or not isinstance(e[1], int)):
                raise ProgramError(f"errors: bad entry {e!r} (want [name, value])")
            errors[e[0]] = e[1]
        # ErrorCodeMap::add_core: missing core errors get values after the largest one.
        next_value = max(errors.values(), default=-1) + 1
        for name in CORE_ERRORS:
            if name not in errors:
                errors[name] = next_value
                next_value += 1
        return errors

    def header(self, name, where) -> HeaderInstance:
        inst = self.headers.get(name) if isinstance(name, str) else None
        if inst is None:
            raise ProgramError(f"{where}: unknown header {name!r}")
        return inst

    def field_ref(self, ref, where) -> tuple:
        if (not isinstance(ref, list) or len(ref) != 2
                or not all(isinstance(x, str) for x in ref)):
            raise ProgramError(f"{where}: bad field reference {ref!r} (want [header, field])")
        inst = self.header(ref[0], where)
        if ref[1] != "$valid$" and inst.type.field_index(ref[1]) is None:
            raise ProgramError(f"{where}: header '{ref[0]}' has no field '{ref[1]}'")
        return (ref[0], ref[1])

    # ---- actions, pipelines, parsers -------------------------------------------------------

    def _actions(self) -> dict:
        out = {}
        for aj in _named_list(self.root, "actions"):
            name = _get(aj, "name", str, "actions")
            aid = _get(aj, "id", int, f"action '{name}'")
            where = f"action '{name}' (id {aid})"
            params = []
            for pj in _get(aj, "runtime_data", list, where, []):
                pname = _get(pj, "name", str, where)
                params.append((pname, _get(pj, "bitwidth", int, f"{where} parameter '{pname}'")))
            prims = _get(aj, "primitives", list, where, [])
            if aid in out:
                raise ProgramError(f"{where}: duplicate action id {aid}")
            out[aid] = Action(name, aid, params, prims, aj.get("source_info"))
        return out

    def _pipeline(self, pj) -> Pipeline:
        name = _get(pj, "name", str, "pipelines")
        where = f"pipeline '{name}'"
        tables, conds, calls, profiles = {}, {}, {}, {}
        for ap in _get(pj, "action_profiles", list, where, []):
            profiles[_get(ap, "name", str, f"{where} action_profiles")] = ap
        for tj in _get(pj, "tables", list, where, []):
            tname = _get(tj, "name", str, f"{where} tables")
            tw = f"table '{tname}'"
            key = []
            for kj in _get(tj, "key", list, tw, []):
                mt = _get(kj, "match_type", str, f"{tw} key")
                if mt not in ("exact", "lpm", "ternary", "range", "valid", "optional"):
                    raise ProgramError(f"{tw}: unknown key match_type {mt!r}")
                target = kj.get("target")
                if mt == "valid":
                    self.header(target, f"{tw} key")
                else:
                    self.field_ref(target, f"{tw} key")
                mask = kj.get("mask")
                key.append(TableKey(mt, target,
                                    None if mask is None else parse_hexstr(mask, f"{tw} key mask"),
                                    kj.get("name") or (target if isinstance(target, str)
                                                       else ".".join(target))))
            if "action_ids" in tj:
                action_ids = list(_get(tj, "action_ids", list, tw))
            else:
                by_name = {a.name: a.id for a in self.actions.values()}
                action_ids = []
                for aname in _get(tj, "actions", list, tw, []):
                    if aname not in by_name:
                        raise ProgramError(f"{tw}: unknown action {aname!r}")
                    action_ids.append(by_name[aname])
            for aid in action_ids:
                if aid not in self.actions:
                    raise ProgramError(f"{tw}: unknown action id {aid!r}")
            ttype = _get(tj, "type", str, tw, "simple")
            if ttype not in ("simple", "indirect", "indirect_ws"):
                raise ProgramError(f"{tw}: unknown table type {ttype!r}")
            prof = _get(tj, "action_profile", str, tw, None)
            if ttype != "simple" and prof is None and "act_prof_name" in tj:
                # Old JSON format: the table declares its own profile (BMv2 P4Objects.cpp).
                prof = _get(tj, "act_prof_name", str, tw)
                profiles.setdefault(prof, {"name": prof, "selector": tj.get("selector")})
            if ttype != "simple" and prof not in profiles:
                raise ProgramError(f"{tw}: indirect table needs a known action_profile, "
                                   f"got {prof!r}")
            tables[tname] = Table(
                tname, _get(tj, "id", int, tw), _get(tj, "match_type", str, tw, "exact"), ttype,
                prof, key, action_ids, _get(tj, "next_tables", dict, tw, {}),
                _get(tj, "base_default_next", str, tw, None),
                _get(tj, "with_counters", bool, tw, False),
                _get(tj, "support_timeout", bool, tw, False),
                _get(tj, "direct_meters", str, tw, None),
                self._default_entry(tj, tw))
        for cj in _get(pj, "conditionals", list, where, []):
            cname = _get(cj, "name", str, f"{where} conditionals")
            cw = f"conditional '{cname}'"
            if "expression" not in cj:
                raise ProgramError(f"{cw}: missing attribute 'expression'")
            conds[cname] = Conditional(cname, _get(cj, "id", int, cw), cj["expression"],
                                       _get(cj, "true_next", str, cw, None),
                                       _get(cj, "false_next", str, cw, None),
                                       cj.get("source_info"))
        for cj in _get(pj, "action_calls", list, where, []):
            cname = _get(cj, "name", str, f"{where} action_calls")
            cw = f"action call '{cname}'"
            aid = _get(cj, "action_id", int, cw)
            if aid not in self.actions:
                raise ProgramError(f"{cw}: unknown action id {aid}")
            calls[cname] = ActionCall(cname, _get(cj, "id", int, cw), aid,
                                      _get(cj, "next_node", str, cw, None))
        return Pipeline(name, _get(pj, "id", int, where), _get(pj, "init_table", str, where, None),
                        tables, conds, calls, profiles)

    def _default_entry(self, tj, where) -> Optional[dict]:
        entry = _get(tj, "default_entry", dict, where, None)
        if entry is not None:
            aid = _get(entry, "action_id", int, f"{where} default_entry")
            if aid not in self.actions:
                raise ProgramError(f"{where} default_entry: unknown action id {aid}")
            data = _get(entry, "action_data", list, f"{where} default_entry", [])
            if len(data) != len(self.actions[aid].params):
                raise ProgramError(f"{where} default_entry: action {self.actions[aid].name} "
                                   f"takes {len(self.actions[aid].params)} argument(s), "
                                   f"got {len(data)}")
            for value in data:
                parse_hexstr(value, f"{where} default_entry")
        return entry

    def _check_pipeline_refs(self, p: Pipeline):
        def check(target, where):
            if target is not None and p.node(target) is None:
                raise ProgramError(f"{where}: unknown next node {target!r} in pipeline '{p.name}'")

        check(p.init_table, f"pipeline '{p.name}' init_table")
        for t in p.tables.values():
            for key, target in t.next_tables.items():
                check(target, f"table '{t.name}' next_tables[{key!r}]")
            check(t.base_default_next, f"table '{t.name}' base_default_next")
        for c in p.conditionals.values():
            check(c.true_next, f"conditional '{c.name}' true_next")
            check(c.false_next, f"conditional '{c.name}' false_next")
        for c in p.action_calls.values():
            check(c.next_node, f"action call '{c.name}' next_node")

    def _parser(self, pj) -> Parser:
        name = _get(pj, "name", str, "parsers")
        where = f"parser '{name}'"
        states = {}
        for sj in _get(pj, "parse_states", list, where):
            sname = _get(sj, "name", str, f"{where} parse_states")
            sw = f"parse state '{sname}'"
            transitions = []
            for tj in _get(sj, "transitions", list, sw, []):
                ttype = _get(tj, "type", str, f"{sw} transition", "hexstr")
                if ttype == "hexstr" and tj.get("value") == "default":
                    ttype = "default"  # old JSON versions (BMv2 P4Objects.cpp)
                if ttype not in ("default", "hexstr", "parse_vset"):
                    raise ProgramError(f"{sw}: unknown transition type {ttype!r}")
                transitions.append(Transition(ttype, tj.get("value"), tj.get("mask"),
                                              _get(tj, "next_state", str, sw, None)))
            states[sname] = ParseState(sname, _get(sj, "id", int, sw),
                                       _get(sj, "parser_ops", list, sw, []),
                                       _get(sj, "transition_key", list, sw, []), transitions)
        init = _get(pj, "init_state", str, where, None)
        if init is not None and init not in states:
            raise ProgramError(f"{where}: unknown init_state {init!r}")
        for s in states.values():
            for t in s.transitions:
                if t.next_state is not None and t.next_state not in states:
                    raise ProgramError(f"parse state '{s.name}': unknown next_state "
                                       f"{t.next_state!r}")
        return Parser(name, _get(pj, "id", int, where), init, states)

    def _field_lists(self, key) -> dict:
        out = {}
        for fj in _named_list(self.root, key):
            name = _get(fj, "name", str, key)
            fid = _get(fj, "id", int, f"{key} '{name}'")
            where = f"{key} '{name}' (id {fid})"
            fields = []
            for ej in _get(fj, "elements", list, where, []):
                if _get(ej, "type", str, where) != "field":
                    raise ProgramError(f"{where}: element type must be 'field', got {ej['type']!r}")
                fields.append(self.field_ref(ej.get("value"), where))
            out[fid] = FieldList(name, fid, fields)
        return out

    def _arrays(self, key) -> dict:
        out = {}
        for aj in _named_list(self.root, key):
            name = _get(aj, "name", str, key)
            where = f"{key} '{name}'"
            size = _get(aj, "size", int, where, 0)
            out[name] = ExternArray(name, _get(aj, "id", int, where), size, aj)
        return out
