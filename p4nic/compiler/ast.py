"""AST of P4-16 programs: what the parser builds and every later pass reads.

One dataclass per construct. Every node carries `loc` (a SourceLocation, for errors that name
file:line:column). The type checker fills `Expression.type` with a `types.P4Type` and
`Name.decl` with the declaration the name resolves to, so the typed IR is this same tree,
annotated. Midend passes build new trees out of these nodes rather than mutating shared ones.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from p4nic.compiler.errors import SourceLocation


@dataclass(eq=False)
class Node:
    loc: Optional[SourceLocation] = field(default=None, kw_only=True, repr=False)


# ---------------------------------------------------------------------------------------------
# Annotations

@dataclass(eq=False)
class Annotation(Node):
    """`@name`, `@name(expr, ...)`, `@name[k=v, ...]`, or an unparsed body kept as text.

    `args` holds the body parsed as an expression list when it is one (e.g. @name("x"), @id(3));
    an element may be a TypeRef where a type is written (@p4runtime_translation("u", bit<32>)).
    `kv` the key=value pairs of the bracket form (and of @pkginfo/@platform_property);
    `raw` the body's source text in every case. `structured` marks the bracket form
    (P4-16 spec 18.1.3): its `args`/`kv` are compile-time int, string or bool values, which the
    type checker types and evaluates into `values`. `@pragma name body...` becomes
    Annotation(name, raw=body).
    """
    name: str
    args: list = field(default_factory=list)
    kv: dict = field(default_factory=dict)
    raw: str = ""
    structured: bool = False
    values: Optional[list] = field(default=None, compare=False, repr=False)  # typecheck: the
    #   compile-time values of a structured annotation's elements (args, or kv in key order)


@dataclass(eq=False)
class Annotated(Node):
    annotations: list = field(default_factory=list, kw_only=True)

    def annotation(self, name: str) -> Optional[Annotation]:
        for a in self.annotations:
            if a.name == name:
                return a
        return None


# ---------------------------------------------------------------------------------------------
# Types as written in source (resolved into types.P4Type by the type checker)

@dataclass(eq=False)
class TypeRef(Node):
    """A type expression in the source; `type` is the types.P4Type the type checker resolved."""
    type: object = field(default=None, kw_only=True, compare=False, repr=False)


@dataclass(eq=False)
class BoolTypeRef(TypeRef):
    pass


@dataclass(eq=False)
class ErrorTypeRef(TypeRef):
    pass


@dataclass(eq=False)
class MatchKindTypeRef(TypeRef):
    pass


@dataclass(eq=False)
class StringTypeRef(TypeRef):
    pass


@dataclass(eq=False)
class VoidTypeRef(TypeRef):
    pass


@dataclass(eq=False)
class IntTypeRef(TypeRef):
    """`int` with no width: arbitrary-precision compile-time integer."""


@dataclass(eq=False)
class BitsTypeRef(TypeRef):
    """`bit<W>` (signed=False), `int<W>` (signed=True); a bare `bit` is bit<1>."""
    width: "Expression"
    signed: bool = False


@dataclass(eq=False)
class VarbitTypeRef(TypeRef):
    max_width: "Expression"


@dataclass(eq=False)
class NamedTypeRef(TypeRef):
    """A type by name, possibly specialised: `headers_t`, `register<bit<32>>`, `.T` (global)."""
    name: str
    type_args: list = field(default_factory=list)
    global_scope: bool = False
    decl: Optional["Declaration"] = field(default=None, compare=False)


@dataclass(eq=False)
class StackTypeRef(TypeRef):
    """`T[N]`."""
    element: TypeRef
    size: "Expression"


@dataclass(eq=False)
class TupleTypeRef(TypeRef):
    elements: list


@dataclass(eq=False)
class ListTypeRef(TypeRef):
    """`list<T>` (P4-16 1.2.4): a list of any length, as extern constructor arguments take."""
    element: TypeRef


@dataclass(eq=False)
class DontCareTypeRef(TypeRef):
    """`_` as a type argument."""


# ---------------------------------------------------------------------------------------------
# Expressions

@dataclass(eq=False)
class Expression(Node):
    """Base of expressions. `type` is filled in by the type checker."""
    type: object = field(default=None, kw_only=True, compare=False, repr=False)


@dataclass(eq=False)
class IntLiteral(Expression):
    """`5`, `0x1F`, `8w5` (width=8, signed=False), `8s-1`; width None means an `int`."""
    value: int
    width: Optional[int] = None
    signed: bool = False
    base: int = 10


@dataclass(eq=False)
class BoolLiteral(Expression):
    value: bool


@dataclass(eq=False)
class StringLiteral(Expression):
    value: str


@dataclass(eq=False)
class Name(Expression):
    """A name in expression position; `.x` sets global_scope. `decl` is set by resolution."""
    name: str
    global_scope: bool = False
    decl: object = field(default=None, compare=False, repr=False)


@dataclass(eq=False)
class Member(Expression):
    """`expr.member`, including `hdr.isValid`, `stack.next`, `error.NoError`, `E.A`."""
    expr: Expression
    member: str


@dataclass(eq=False)
class TypeMember(Expression):
    """`T.member` where T is written as a type name (`error.NoError`, `MyEnum.A`), when the parser
    can tell; otherwise it is a Member of a Name and the type checker decides. The callee of a
    direct application `T.apply(args)` of a parser or control type is TypeMember(T, "apply")."""
    type_ref: TypeRef
    member: str


@dataclass(eq=False)
class Index(Expression):
    """`expr[index]`."""
    expr: Expression
    index: Expression


@dataclass(eq=False)
class Slice(Expression):
    """`expr[hi:lo]`."""
    expr: Expression
    hi: Expression
    lo: Expression


@dataclass(eq=False)
class Unary(Expression):
    """op is one of '!', '~', '-', '+'."""
    op: str
    operand: Expression


@dataclass(eq=False)
class Binary(Expression):
    """op is the source operator: '*', '/', '%', '+', '-', '|+|', '|-|', '<<', '>>', '<=', '>=',
    '<', '>', '!=', '==', '&', '^', '|', '&&', '||', '++' (concatenation), '&&&' (mask),
    '..' (range)."""
    op: str
    left: Expression
    right: Expression


@dataclass(eq=False)
class Mux(Expression):
    """`cond ? then : else_`."""
    cond: Expression
    then: Expression
    else_: Expression


@dataclass(eq=False)
class Cast(Expression):
    """`(T) expr`."""
    to: TypeRef
    expr: Expression


@dataclass(eq=False)
class Argument(Node):
    """A call argument; `name` for named arguments (`f(x = 1)`); value None means `_`."""
    value: Optional[Expression]
    name: Optional[str] = None


@dataclass(eq=False)
class MethodCall(Expression):
    """`callee<type_args>(args)`: calls of actions, functions, extern methods, table.apply(),
    header methods (isValid, setValid, setInvalid), stack push_front/pop_front."""
    callee: Expression
    args: list = field(default_factory=list)
    type_args: list = field(default_factory=list)


@dataclass(eq=False)
class ConstructorCall(Expression):
    """`T(args)` in expression position, e.g. `counter(32, CounterType.packets)` as an argument."""
    type_ref: TypeRef
    args: list = field(default_factory=list)


@dataclass(eq=False)
class ListExpression(Expression):
    """`{a, b, c}`: a tuple, or initialiser of a struct/header by position."""
    elements: list


@dataclass(eq=False)
class StructExpression(Expression):
    """`{a = 1, b = 2}`, optionally typed as `(T){...}` via Cast; fields is a list of (name, expr)."""
    fields: list
    type_ref: Optional[TypeRef] = None


@dataclass(eq=False)
class InvalidHeader(Expression):
    """`{#}`: the invalid header/union value."""


@dataclass(eq=False)
class Dots(Expression):
    """`...` (P4-16 1.2.5): the elements or fields not written take their default values. As an
    initializer (`T x = ...;`), a list element, or the last field of a StructExpression, where it
    appears as ("...", Dots())."""


@dataclass(eq=False)
class DontCare(Expression):
    """`_` as an expression (in keysets and out arguments)."""


@dataclass(eq=False)
class DefaultExpression(Expression):
    """`default` as a keyset or switch label."""


@dataclass(eq=False)
class This(Expression):
    """`this` inside an instance initializer block."""


# ---------------------------------------------------------------------------------------------
# Statements

@dataclass(eq=False)
class Statement(Annotated):
    pass


@dataclass(eq=False)
class BlockStatement(Statement):
    statements: list = field(default_factory=list)


@dataclass(eq=False)
class AssignmentStatement(Statement):
    """`left = right`. A compound `a op= b` arrives as `a = a op b` whose Binary.left IS the
    `left` node (same object): the lvalue, and any call in it, is evaluated once."""
    left: Expression
    right: Expression


@dataclass(eq=False)
class MethodCallStatement(Statement):
    call: MethodCall


@dataclass(eq=False)
class IfStatement(Statement):
    cond: Expression
    then: Statement
    else_: Optional[Statement] = None


@dataclass(eq=False)
class SwitchCase(Node):
    """`label: body`; body None means fall through to the next case. label is an Expression
    (action Name when switching on action_run, DefaultExpression for `default`)."""
    label: Expression
    body: Optional[BlockStatement]


@dataclass(eq=False)
class SwitchStatement(Statement):
    expr: Expression
    cases: list


@dataclass(eq=False)
class ExitStatement(Statement):
    pass


@dataclass(eq=False)
class ReturnStatement(Statement):
    value: Optional[Expression] = None


@dataclass(eq=False)
class EmptyStatement(Statement):
    pass


@dataclass(eq=False)
class ForStatement(Statement):
    """`for (init; cond; updates) body` (P4-16 1.2.4)."""
    init: list
    cond: Optional[Expression]
    updates: list
    body: Statement


@dataclass(eq=False)
class ForInStatement(Statement):
    """`for (T x in range) body`."""
    var: "VariableDeclaration"
    collection: Expression
    body: Statement


@dataclass(eq=False)
class BreakStatement(Statement):
    pass


@dataclass(eq=False)
class ContinueStatement(Statement):
    pass


# ---------------------------------------------------------------------------------------------
# Declarations

@dataclass(eq=False)
class Declaration(Annotated):
    name: str


@dataclass(eq=False)
class Parameter(Declaration):
    """direction is 'in', 'out', 'inout' or None (directionless)."""
    type_ref: TypeRef
    direction: Optional[str] = None
    default: Optional[Expression] = None


@dataclass(eq=False)
class StructField(Declaration):
    type_ref: TypeRef


@dataclass(eq=False)
class HeaderTypeDeclaration(Declaration):
    fields: list
    type_params: list = field(default_factory=list)


@dataclass(eq=False)
class HeaderUnionDeclaration(Declaration):
    fields: list
    type_params: list = field(default_factory=list)


@dataclass(eq=False)
class StructDeclaration(Declaration):
    fields: list
    type_params: list = field(default_factory=list)


@dataclass(eq=False)
class EnumDeclaration(Declaration):
    """`enum E { A, B }` (underlying None) or `enum bit<8> E { A = 1, B = 2 }`; members is a list
    of (name, value Expression or None, loc)."""
    members: list
    underlying: Optional[TypeRef] = None


@dataclass(eq=False)
class ErrorDeclaration(Node):
    """`error { A, B }`: adds members to the single `error` type."""
    members: list


@dataclass(eq=False)
class MatchKindDeclaration(Node):
    members: list


@dataclass(eq=False)
class TypedefDeclaration(Declaration):
    """`typedef T N;` (new_type False) or `type T N;` (new_type True)."""
    type_ref: TypeRef
    new_type: bool = False


@dataclass(eq=False)
class ConstantDeclaration(Declaration):
    type_ref: TypeRef
    value: Expression


@dataclass(eq=False)
class VariableDeclaration(Declaration):
    type_ref: TypeRef
    init: Optional[Expression] = None


@dataclass(eq=False)
class MethodPrototype(Declaration):
    """A method inside an extern (constructor when return_type is None and name == extern name),
    or an extern function at top level (see ExternFunctionDeclaration). `abstract` for
    `abstract T f(...)` methods that instances implement in an initializer block."""
    return_type: Optional[TypeRef]
    params: list
    type_params: list = field(default_factory=list)
    abstract: bool = False


@dataclass(eq=False)
class ExternDeclaration(Declaration):
    methods: list
    type_params: list = field(default_factory=list)


@dataclass(eq=False)
class ExternFunctionDeclaration(Declaration):
    return_type: TypeRef
    params: list
    type_params: list = field(default_factory=list)


@dataclass(eq=False)
class FunctionDeclaration(Declaration):
    return_type: TypeRef
    params: list
    body: BlockStatement
    type_params: list = field(default_factory=list)


@dataclass(eq=False)
class ActionDeclaration(Declaration):
    params: list
    body: BlockStatement


@dataclass(eq=False)
class ParserTypeDeclaration(Declaration):
    """`parser P<T>(...);` — a parser type (prototype)."""
    params: list
    type_params: list = field(default_factory=list)


@dataclass(eq=False)
class ControlTypeDeclaration(Declaration):
    params: list
    type_params: list = field(default_factory=list)


@dataclass(eq=False)
class PackageTypeDeclaration(Declaration):
    params: list
    type_params: list = field(default_factory=list)


@dataclass(eq=False)
class SelectCase(Node):
    """`keyset: state;` keyset is an Expression (ListExpression for tuples, DefaultExpression,
    DontCare, Binary '&&&' or '..', or a Name of a value_set)."""
    keyset: Expression
    state: str


@dataclass(eq=False)
class SelectExpression(Expression):
    """`select(exprs) { cases }`."""
    exprs: list
    cases: list


@dataclass(eq=False)
class ParserState(Declaration):
    """transition is a Name (direct transition, incl. accept/reject), a SelectExpression, or None
    (an implicit `transition reject` is not P4; None only for the built-in accept/reject)."""
    statements: list
    transition: Optional[Expression]


@dataclass(eq=False)
class ValueSetDeclaration(Declaration):
    """`value_set<T>(size) name;`."""
    element_type: TypeRef
    size: Expression


@dataclass(eq=False)
class ParserDeclaration(Declaration):
    params: list
    ctor_params: list
    locals: list
    states: list
    type_params: list = field(default_factory=list)


@dataclass(eq=False)
class KeyElement(Annotated):
    """`expr : match_kind @annotations;`."""
    expr: Expression
    match_kind: str


@dataclass(eq=False)
class ActionRef(Annotated):
    """An action as listed in a table: `a`, `a(1, 2)` (bound args), `@defaultonly a`."""
    name: Expression
    args: list = field(default_factory=list)


@dataclass(eq=False)
class TableEntry(Annotated):
    """One of `entries = { keyset : action(args); }`; priority from `priority=N:` when given."""
    keys: Expression
    action: ActionRef
    priority: Optional[Expression] = None
    const: bool = False


@dataclass(eq=False)
class TableProperty(Declaration):
    """A table property: name is 'key', 'actions', 'default_action', 'entries', 'size',
    'implementation', 'counters', 'meters', 'support_timeout', or any custom name.
    value: list of KeyElement (key), list of ActionRef (actions), ActionRef (default_action),
    list of TableEntry (entries), Expression (others). const for `const default_action`/
    `const entries`."""
    value: object
    const: bool = False


@dataclass(eq=False)
class TableDeclaration(Declaration):
    properties: list

    def prop(self, name: str) -> Optional[TableProperty]:
        for p in self.properties:
            if p.name == name:
                return p
        return None


@dataclass(eq=False)
class ControlDeclaration(Declaration):
    params: list
    ctor_params: list
    locals: list
    body: BlockStatement
    type_params: list = field(default_factory=list)


@dataclass(eq=False)
class Instantiation(Declaration):
    """`T(args) name;` and `T(args) name = { initializer };` (abstract method bodies); also the
    top-level `V1Switch(...) main;`."""
    type_ref: TypeRef
    args: list
    initializer: list = field(default_factory=list)
    has_initializer: bool = False     # written with `= { ... }` (even an empty one)


@dataclass(eq=False)
class Program(Node):
    """A whole compilation unit after preprocessing: top-level declarations in source order.
    `expression_annotations`: some annotation body is typed like code (annocheck.py)."""
    declarations: list
    expression_annotations: bool = False


# Convenience union for type hints in passes.
TopLevel = Union[Declaration, ErrorDeclaration, MatchKindDeclaration]


def same_expression(a, b) -> bool:
    """Do two argument expressions say the same thing (same structure, names naming the same
    declarations)? Source positions and types do not count."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(same_expression, a, b))
    if not isinstance(a, Node):
        return a == b
    if isinstance(a, Name) and a.decl is not b.decl:
        return False
    return all(same_expression(getattr(a, f), getattr(b, f))
               for f in a.__dataclass_fields__ if f not in ("loc", "type", "decl"))
