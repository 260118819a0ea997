"""The lowered program: what the midend hands the BMv2 back end.

Everything here is already in BMv2's terms — header instances instead of structs, primitives
instead of statements, tables and conditionals instead of a control body — but still Python
objects, so the back end only assigns ids and writes JSON (BMv2 docs/JSON_format.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


# ---------------------------------------------------------------------------------------------
# Expressions. `width` is the bit width of a data value (None for an untyped `int`), 0 for bool.

class LExpr:
    """A value BMv2 can compute: the 'type value objects' of JSON_format.md."""
    is_bool = False


@dataclass(frozen=True)
class Const(LExpr):
    value: int
    width: Optional[int] = None
    signed: bool = False


@dataclass(frozen=True)
class BoolConst(LExpr):
    value: bool
    is_bool = True


@dataclass(frozen=True)
class Field(LExpr):
    """A field of a header instance (`scalars` holds locals and metadata scalars)."""
    header: str
    name: str
    width: int
    signed: bool = False


@dataclass(frozen=True)
class HeaderRef(LExpr):
    name: str


@dataclass(frozen=True)
class StackRef(LExpr):
    name: str


@dataclass(frozen=True)
class UnionRef(LExpr):
    name: str


@dataclass(frozen=True)
class UnionStackRef(LExpr):
    name: str


@dataclass(frozen=True)
class RuntimeData(LExpr):
    """An action parameter: `runtime_data` as a primitive argument, `local` inside expressions."""
    index: int
    width: int


@dataclass(frozen=True)
class Op(LExpr):
    """`{"op": op, "left": left, "right": right}`; left None for unary operators. For
    `access_field` / `access_union_header` right is a plain int offset."""
    op: str
    left: Optional[LExpr]
    right: object
    width: Optional[int] = None
    signed: bool = False
    is_bool: bool = False


@dataclass(frozen=True)
class Ternary(LExpr):
    cond: LExpr
    then: LExpr
    else_: LExpr
    width: Optional[int] = None
    is_bool: bool = False


@dataclass(frozen=True)
class Lookahead(LExpr):
    """Parser only: `width` bits at bit `offset` from the current packet position."""
    offset: int
    width: int


@dataclass(frozen=True)
class StackField(LExpr):
    """Parser only: a field of the last extracted element of a stack (`stack.last.f`)."""
    stack: str
    name: str
    width: int


@dataclass(frozen=True)
class StringConst(LExpr):
    value: str


@dataclass(frozen=True)
class ObjectRef(LExpr):
    """A named BMv2 object as an argument: kind is counter_array, meter_array, register_array,
    calculation or extern."""
    kind: str
    name: str


@dataclass(frozen=True)
class ParamVector(LExpr):
    items: tuple


# ---------------------------------------------------------------------------------------------
# Statements

@dataclass
class Primitive:
    op: str
    params: list
    loc: object = None  # errors.SourceLocation, for "source_info"


class Label:
    """A jump target inside one primitive list, resolved to a primitive index (actions.py
    resolve_jumps) when the list becomes an action."""
    index: Optional[int] = None


@dataclass
class ParserOp:
    """op: extract, extract_VL, set, verify, advance, primitive. For extract the first param is
    an ExtractTarget; for primitive the only param is a Primitive."""
    op: str
    params: list
    loc: object = None


@dataclass(frozen=True)
class ExtractTarget:
    kind: str  # regular | stack | union_stack
    name: object  # header/stack name, or (union_stack, member)


# ---------------------------------------------------------------------------------------------
# Declarations

@dataclass
class HeaderTypeDef:
    name: str
    fields: list  # (name, width | "*", signed)
    varbit_max_bytes: Optional[int] = None


@dataclass
class HeaderInstance:
    name: str
    header_type: str
    metadata: bool


@dataclass
class HeaderStackDef:
    name: str
    header_type: str
    headers: list  # element instance names in order


@dataclass
class HeaderUnionTypeDef:
    name: str
    members: list  # (member name, header type name)


@dataclass
class HeaderUnionDef:
    name: str
    union_type: str
    headers: list  # member instance names in declaration order


@dataclass
class HeaderUnionStackDef:
    name: str
    union_type: str
    unions: list


@dataclass
class Transition:
    kind: str  # hexstr | default | parse_vset
    value: object  # int, value-set name, or None
    mask: Optional[int]
    width_bytes: int
    next_state: Optional[str]


@dataclass
class ParseState:
    name: str
    ops: list = field(default_factory=list)
    keys: list = field(default_factory=list)
    transitions: list = field(default_factory=list)
    loc: object = None


@dataclass
class Parser:
    name: str
    init_state: str
    states: list


@dataclass
class ParseValueSet:
    name: str
    bitwidth: int
    max_size: int


@dataclass
class Deparser:
    name: str
    order: list  # header instance names


@dataclass
class Action:
    name: str
    params: list  # (name, bitwidth)
    primitives: list
    loc: object = None


@dataclass
class TableKey:
    match_type: str
    target: LExpr  # Field, or HeaderRef for 'valid'
    mask: Optional[int]
    name: str


@dataclass
class TableEntrySpec:
    """A const entry: match is one tuple per key (kind, values...), action name and argument
    values. `priority` is the P4 `priority=` value (larger wins); `bmv2_priority` the JSON one
    (smaller wins; the entry's position when None, as p4c numbers them)."""
    match: list
    action: "Action"
    args: list
    priority: Optional[int]
    bmv2_priority: Optional[int] = None


@dataclass
class Table:
    name: str
    keys: list
    actions: list  # Action objects (several may share a name: p4c's specialisations)
    next_tables: dict  # action name or __HIT__/__MISS__ -> node name or None
    base_default_next: Optional[str]
    default_action: Optional["Action"]
    default_args: list = field(default_factory=list)
    default_const: bool = False
    max_size: int = 1024
    match_type: str = "exact"
    kind: str = "simple"  # simple | indirect | indirect_ws
    action_profile: Optional[str] = None
    with_counters: bool = False
    direct_meters: Optional[str] = None
    support_timeout: bool = False
    entries: list = field(default_factory=list)
    hidden: bool = False
    loc: object = None


@dataclass
class Conditional:
    name: str
    expr: LExpr
    true_next: Optional[str]
    false_next: Optional[str]
    loc: object = None


@dataclass
class ActionProfile:
    name: str
    max_size: int
    selector_algo: Optional[str] = None
    selector_input: list = field(default_factory=list)


@dataclass
class Pipeline:
    name: str
    init_table: Optional[str]
    tables: list = field(default_factory=list)
    conditionals: list = field(default_factory=list)
    action_profiles: list = field(default_factory=list)


@dataclass
class CounterArray:
    name: str
    size: int
    is_direct: bool = False
    binding: Optional[str] = None


@dataclass
class MeterArray:
    name: str
    size: int
    type: str  # bytes | packets
    is_direct: bool = False
    binding: Optional[str] = None
    result_target: Optional[Field] = None


@dataclass
class RegisterArray:
    name: str
    size: int
    bitwidth: int


@dataclass
class Calculation:
    name: str
    algo: str
    inputs: list  # LExpr (Field / Const with width / HeaderRef) and the string "payload"


@dataclass
class Checksum:
    name: str
    target: Field
    calculation: str
    verify: bool
    update: bool
    if_cond: Optional[LExpr]


@dataclass
class FieldList:
    name: str
    elements: list  # Field


@dataclass
class LoweredProgram:
    """A v1model program in BMv2 terms, in the order the JSON lists things."""
    header_types: list = field(default_factory=list)
    headers: list = field(default_factory=list)
    header_stacks: list = field(default_factory=list)
    header_union_types: list = field(default_factory=list)
    header_unions: list = field(default_factory=list)
    header_union_stacks: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # (name, value)
    enums: list = field(default_factory=list)  # (name, [(member, value)])
    parsers: list = field(default_factory=list)
    parse_vsets: list = field(default_factory=list)
    deparsers: list = field(default_factory=list)
    meter_arrays: list = field(default_factory=list)
    counter_arrays: list = field(default_factory=list)
    register_arrays: list = field(default_factory=list)
    calculations: list = field(default_factory=list)
    learn_lists: list = field(default_factory=list)
    field_lists: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    pipelines: list = field(default_factory=list)
    checksums: list = field(default_factory=list)
    field_aliases: list = field(default_factory=list)  # (target's name, Field)
    program_name: str = ""
