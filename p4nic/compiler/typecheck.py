"""Name resolution, type inference and constant evaluation: ast.Program -> TypedProgram.

What the later stages (P4Info back end, midend, BMv2 back end) can rely on:

* `typed.program` is the parser's ast.Program, annotated in place:
  - every `ast.Expression` has `.type` (a types.P4Type). Untyped integer literals that meet a
    fixed-width operand, parameter, field or key take that width (P4-16 spec 8.9.1 implicit
    casts), so `.type` of a literal is `IntType` only where the value really is an `int`;
  - every `ast.Name` (and `NamedTypeRef`) has `.decl`: the declaration it names (a Parameter,
    VariableDeclaration, ConstantDeclaration, ActionDeclaration, TableDeclaration,
    Instantiation, ParserState, ValueSetDeclaration, FunctionDeclaration,
    ExternFunctionDeclaration, a type declaration, ...). Transition targets `accept` and
    `reject` resolve to per-parser built-in ParserStates with `transition=None`;
  - every `ast.TypeRef` has `.type`, its resolved P4Type (typedefs are transparent; `type`
    declarations give NewType).
* `typed.errors`: the members of `error` in declaration order (core.p4's first);
  `typed.match_kinds`: the declared match kinds.
* `typed.constants`: {ConstantDeclaration: value}; `typed.const_value(expr)` evaluates any
  constant typed expression (consteval.evaluate), `typed.size_of(expr)` the same for sizes.
* `typed.main`: the top-level `main` Instantiation; `typed.blocks`: the package's arguments in
  parameter order, as `Block`s (package parameter name, the ParserDeclaration/ControlDeclaration
  it instantiates, its constructor arguments). `typed.block(name)` finds one by parameter name
  (v1model: p, vr, ig, eg, ck, dep).
* `typed.type_of(node)`: the P4Type of a TypeRef, an expression, or a declaration
  (parameters, variables, constants, struct fields, instances, tables, actions).
* Names for the control plane (and BMv2 JSON): p4info/naming.py (`BlockPath(top, path).name(decl)`).
* Table properties are checked: key expressions typed, match kinds known, action references
  (ActionRef.name is a typed Name whose decl is the ActionDeclaration), bound action arguments
  typed against the action's parameters, entries' keysets typed against the keys.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from p4nic.compiler import ast, types as T
from p4nic.compiler.consteval import NotConstant, evaluate
from p4nic.compiler.errors import CompileError
from p4nic.compiler.scopes import Scope, TypeParameter

ARITH_OPS = ("+", "-", "*", "/", "%", "|+|", "|-|")
BIT_OPS = ("&", "|", "^")
COMPARE_OPS = ("<", ">", "<=", ">=")
MAX_WIDTH = 2 ** 31 - 1  # p4c ir/type.cpp Type_Bits::get: widths must fit in an int
SIZE_METHODS = ("minSizeInBits", "minSizeInBytes", "maxSizeInBits", "maxSizeInBytes")
HEADER_METHODS = {"isValid": T.BoolType(), "setValid": T.VoidType(), "setInvalid": T.VoidType()}


@dataclass
class Block:
    """One argument of a package instantiation: `param` is the package parameter's name,
    `decl` the ParserDeclaration/ControlDeclaration (or ExternDeclaration) instantiated, `args`
    its constructor arguments (typed ast.Arguments), `instance` the top-level Instantiation when
    the argument named one (`V1Switch(p, ...)`), else None."""
    param: str
    decl: object
    args: list = field(default_factory=list)
    instance: Optional[ast.Instantiation] = None


@dataclass
class TypedProgram:
    program: ast.Program
    errors: list
    match_kinds: list
    constants: dict
    main: Optional[ast.Instantiation]
    blocks: list

    def block(self, param: str) -> Optional[Block]:
        for b in self.blocks:
            if b.param == param:
                return b
        return None

    def const_value(self, expr):
        """Value of a constant typed expression; raises consteval.NotConstant otherwise."""
        return evaluate(expr, self.constants)

    def size_of(self, expr) -> int:
        return int(self.const_value(expr))

    @staticmethod
    def type_of(node) -> Optional[T.P4Type]:
        """The P4Type of a TypeRef, an expression, or a declaration (Parameter,
        VariableDeclaration, ConstantDeclaration, StructField, Instantiation, table, action)."""
        if isinstance(node, (ast.TypeRef, ast.Expression)):
            return node.type
        return _decl_type(node)


def typecheck(program: ast.Program) -> TypedProgram:
    """Resolve and type `program` in place; CompileError (kind 'type') on the first error."""
    return TypeChecker(program).run()


def _err(msg: str, node) -> CompileError:
    return CompileError(msg, getattr(node, "loc", None), kind="type")


def _member_names(members) -> list:
    """Member names of error/match_kind/enum declarations, whichever form the parser used."""
    out = []
    for m in members:
        if isinstance(m, str):
            out.append(m)
        elif isinstance(m, tuple):
            out.append(m[0])
        else:
            out.append(getattr(m, "name"))
    return out


def _decl_type(decl):
    if isinstance(decl, (ast.Parameter, ast.VariableDeclaration, ast.ConstantDeclaration,
                         ast.StructField)):
        return decl.type_ref.type
    if isinstance(decl, ast.Instantiation):
        return decl.type_ref.type
    if isinstance(decl, ast.TableDeclaration):
        return T.TableType(decl.name, decl)
    if isinstance(decl, ast.ActionDeclaration):
        return T.ActionType(decl.name, decl)
    if isinstance(decl, ast.ParserState):
        return T.ParserStateType(decl.name, decl)
    if isinstance(decl, ast.ValueSetDeclaration):
        return T.SetType(decl.element_type.type)
    return None


def _contains_typevar(t) -> bool:
    if isinstance(t, T.TypeVariable):
        return True
    if isinstance(t, T.TupleType):
        return any(_contains_typevar(e) for e in t.elements)
    if isinstance(t, T.StackType):
        return _contains_typevar(t.element)
    if isinstance(t, T.ExternType):
        return any(_contains_typevar(a) for a in t.type_args)
    return False


def _is_bits(t) -> bool:
    return isinstance(t, T.BitsType)


def _numeric(t) -> bool:
    return isinstance(t, (T.BitsType, T.IntType))


@dataclass
class _Frame:
    """Where checking is: the enclosing action/function (for `return`) and parser/control."""
    return_type: object = None
    in_action: bool = False
    container: object = None


class TypeChecker:
    def __init__(self, program: ast.Program):
        self.program = program
        self.globals = Scope()
        self.errors: list = []
        self.match_kinds: list = []
        self.constants: dict = {}
        self.type_cache: dict = {}
        self.subst_stack: list = [{}]
        self.frame = _Frame()
        self.switch_expr = None  # the expression of the switch being checked (action_run)

    # -----------------------------------------------------------------------------------------
    # Top level

    def run(self) -> TypedProgram:
        for d in self.program.declarations:
            if isinstance(d, ast.ErrorDeclaration):
                for m in _member_names(d.members):
                    if m in self.errors:
                        raise _err(f"error member '{m}' is declared twice", d)
                    self.errors.append(m)
            elif isinstance(d, ast.MatchKindDeclaration):
                for m in _member_names(d.members):
                    if m in self.match_kinds:
                        raise _err(f"match_kind member '{m}' is declared twice", d)
                    self.match_kinds.append(m)
            else:
                self.globals.declare(d.name, d, d.loc)
        main = None
        for d in self.program.declarations:
            self.check_declaration(d, self.globals)
            if isinstance(d, ast.Instantiation) and d.name == "main":
                main = d
        blocks = self.package_blocks(main) if main is not None else []
        return TypedProgram(self.program, self.errors, self.match_kinds, self.constants, main,
                            blocks)

    def package_blocks(self, main: ast.Instantiation) -> list:
        package = main.type_ref.decl
        if not isinstance(package, ast.PackageTypeDeclaration):
            raise _err("'main' must be an instance of a package", main)
        blocks = []
        for param, arg in self.bind_args(package.params, main.args, main):
            if arg is None:
                continue
            value = arg.value
            instance, decl, args = None, None, []
            if isinstance(value, ast.Name) and isinstance(value.decl, ast.Instantiation):
                instance = value.decl
                decl, args = instance.type_ref.decl, instance.args
            elif isinstance(value, ast.ConstructorCall):
                decl, args = value.type_ref.decl, value.args
            elif isinstance(value, ast.MethodCall) and isinstance(value.callee, ast.Name):
                decl, args = value.callee.decl, value.args
            blocks.append(Block(param.name, decl, args, instance))
        return blocks

    def check_declaration(self, d, scope: Scope) -> None:
        if isinstance(d, (ast.ErrorDeclaration, ast.MatchKindDeclaration)):
            return
        if isinstance(d, (ast.HeaderTypeDeclaration, ast.StructDeclaration,
                          ast.HeaderUnionDeclaration)):
            if not d.type_params:
                self.declared_type(d, scope)
        elif isinstance(d, ast.EnumDeclaration):
            self.declared_type(d, scope)
        elif isinstance(d, ast.TypedefDeclaration):
            self.declared_type(d, scope)
        elif isinstance(d, ast.ConstantDeclaration):
            self.check_constant(d, scope)
        elif isinstance(d, ast.VariableDeclaration):
            self.check_variable(d, scope)
        elif isinstance(d, ast.ActionDeclaration):
            self.check_action(d, scope)
        elif isinstance(d, ast.FunctionDeclaration):
            self.check_function(d, scope)
        elif isinstance(d, (ast.ExternDeclaration, ast.ExternFunctionDeclaration,
                            ast.ParserTypeDeclaration, ast.ControlTypeDeclaration,
                            ast.PackageTypeDeclaration)):
            self.check_prototype_types(d, scope)
        elif isinstance(d, ast.ParserDeclaration):
            self.check_parser(d, scope)
        elif isinstance(d, ast.ControlDeclaration):
            self.check_control(d, scope)
        elif isinstance(d, ast.Instantiation):
            self.check_instantiation(d, scope)
        elif isinstance(d, ast.TableDeclaration):
            self.check_table(d, scope)
        elif isinstance(d, ast.ValueSetDeclaration):
            self.resolve(d.element_type, scope)
            self.const_int(d.size, scope)
        else:
            raise _err(f"unsupported declaration {type(d).__name__}", d)

    def generic_scope(self, type_params, parent: Scope) -> Scope:
        scope = Scope(parent)
        for tp in type_params:
            name = tp if isinstance(tp, str) else getattr(tp, "name", str(tp))
            scope.declare(name, TypeParameter(name, getattr(tp, "loc", None)))
        return scope

    def check_prototype_types(self, d, scope: Scope) -> None:
        """Resolve parameter types of extern/parser/control/package prototypes (generic ones
        with their type variables unbound), so that errors in them surface here."""
        inner = self.generic_scope(d.type_params, scope)
        if isinstance(d, ast.ExternDeclaration):
            for m in d.methods:
                mscope = self.generic_scope(m.type_params, inner)
                self.resolve_params(m.params, mscope)
                if m.return_type is not None:
                    self.resolve(m.return_type, mscope)
            return
        self.resolve_params(d.params, inner)
        if isinstance(d, ast.ExternFunctionDeclaration):
            self.resolve(d.return_type, inner)

    @staticmethod
    def check_param_direction(p: ast.Parameter, t) -> None:
        if p.direction is not None and isinstance(t, (T.IntType, T.StringType)):
            raise _err(f"parameter '{p.name}' of type {t} must be directionless", p)
        if p.direction == "out" and p.default is not None:
            raise _err(f"out parameter '{p.name}' cannot have a default value", p)

    def resolve_params(self, params, scope: Scope) -> None:
        for p in params:
            self.check_param_direction(p, self.resolve(p.type_ref, scope))
            if p.default is not None:
                self.expr(p.default, scope, p.type_ref.type)
                self.coerce(p.default, p.type_ref.type)

    # -----------------------------------------------------------------------------------------
    # Types

    def resolve(self, ref: ast.TypeRef, scope: Scope) -> T.P4Type:
        t = self._resolve(ref, scope)
        ref.type = t
        return t

    def _resolve(self, ref, scope: Scope) -> T.P4Type:
        if isinstance(ref, ast.BoolTypeRef):
            return T.BoolType()
        if isinstance(ref, ast.ErrorTypeRef):
            return T.ErrorType()
        if isinstance(ref, ast.MatchKindTypeRef):
            return T.MatchKindType()
        if isinstance(ref, ast.StringTypeRef):
            return T.StringType()
        if isinstance(ref, ast.VoidTypeRef):
            return T.VoidType()
        if isinstance(ref, ast.IntTypeRef):
            return T.IntType()
        if isinstance(ref, ast.DontCareTypeRef):
            return T.DontCareType()
        if isinstance(ref, ast.BitsTypeRef):
            w = self.const_int(ref.width, scope)
            if w > MAX_WIDTH:
                raise _err(f"{w}: this implementation does not support bitstrings this large",
                           ref.width)
            if w < (1 if ref.signed else 0) or (w == 0 and ref.signed):
                raise _err(f"invalid width {w} for {'int' if ref.signed else 'bit'}<>", ref)
            return T.BitsType(w, ref.signed)
        if isinstance(ref, ast.VarbitTypeRef):
            w = self.const_int(ref.max_width, scope)
            if not 0 <= w <= MAX_WIDTH:
                raise _err(f"invalid varbit size {w}", ref.max_width)
            return T.VarbitType(w)
        if isinstance(ref, ast.StackTypeRef):
            elem = self.resolve(ref.element, scope)
            size = self.const_int(ref.size, scope)
            if size < 0:
                raise _err(f"header stack size must be non-negative, not {size}", ref)
            return T.StackType(elem, size)
        if isinstance(ref, ast.TupleTypeRef):
            return T.TupleType(tuple(self.resolve(e, scope) for e in ref.elements))
        if isinstance(ref, ast.ListTypeRef):
            return T.ListType(self.resolve(ref.element, scope))
        if isinstance(ref, ast.NamedTypeRef):
            return self.resolve_named(ref, scope)
        raise _err(f"unsupported type {type(ref).__name__}", ref)

    def lookup_type_decl(self, name: str, global_scope: bool, scope: Scope, node):
        decl = (scope.root() if global_scope else scope).lookup(name)
        if decl is None:
            raise _err(f"unknown type '{name}'", node)
        return decl

    def resolve_named(self, ref: ast.NamedTypeRef, scope: Scope) -> T.P4Type:
        decl = self.lookup_type_decl(ref.name, ref.global_scope, scope, ref)
        ref.decl = decl
        args = tuple(self.resolve(a, scope) for a in ref.type_args)
        if isinstance(decl, TypeParameter):
            for subst in reversed(self.subst_stack):
                if decl.name in subst:
                    return subst[decl.name]
            return T.TypeVariable(decl.name)
        if isinstance(decl, (ast.ExternDeclaration, ast.ParserDeclaration,
                             ast.ControlDeclaration, ast.ParserTypeDeclaration,
                             ast.ControlTypeDeclaration, ast.PackageTypeDeclaration)):
            return self.declared_type(decl, scope, args, ref)
        if isinstance(decl, (ast.HeaderTypeDeclaration, ast.StructDeclaration,
                             ast.HeaderUnionDeclaration, ast.EnumDeclaration,
                             ast.TypedefDeclaration)):
            return self.declared_type(decl, self.globals if decl in self._top_level() else scope,
                                      args, ref)
        raise _err(f"'{ref.name}' is not a type", ref)

    def _top_level(self):
        if not hasattr(self, "_top_set"):
            self._top_set = set(self.program.declarations)
        return self._top_set

    def declared_type(self, decl, scope: Scope, args: tuple = (), use=None) -> T.P4Type:
        """The P4Type of a type declaration, specialised with `args` (checked against the
        declaration's type parameters; errors point at `use`, the reference)."""
        key = (decl, args)
        if key in self.type_cache:
            return self.type_cache[key]
        tparams = [tp if isinstance(tp, str) else tp.name for tp in getattr(decl, "type_params", [])]
        if args and len(args) != len(tparams):
            raise _err(f"'{decl.name}' expects {len(tparams)} type argument"
                       f"{'' if len(tparams) == 1 else 's'}, got {len(args)}", use or decl)
        name = decl.name
        if args:
            name += "<" + ", ".join(map(str, args)) + ">"
        if isinstance(decl, ast.ExternDeclaration):
            t = T.ExternType(decl.name, decl, args)
        elif isinstance(decl, (ast.ParserDeclaration, ast.ParserTypeDeclaration)):
            t = T.ParserType(name, decl)
        elif isinstance(decl, (ast.ControlDeclaration, ast.ControlTypeDeclaration)):
            t = T.ControlType(name, decl)
        elif isinstance(decl, ast.PackageTypeDeclaration):
            t = T.PackageType(name, decl)
        elif isinstance(decl, ast.TypedefDeclaration):
            underlying = self.resolve(decl.type_ref, scope)
            t = T.NewType(decl.name, decl, underlying) if decl.new_type else underlying
        elif isinstance(decl, ast.EnumDeclaration):
            t = self.enum_type(decl, scope)
        else:
            cls = {ast.HeaderTypeDeclaration: T.HeaderType, ast.StructDeclaration: T.StructType,
                   ast.HeaderUnionDeclaration: T.HeaderUnionType}[type(decl)]
            self.type_cache[key] = cls(name, decl)  # placeholder against self-reference
            self.subst_stack.append(dict(zip(tparams, args)))
            try:
                fscope = self.generic_scope(decl.type_params, scope) if tparams else scope
                fields = []
                seen = set()
                for f in decl.fields:
                    if f.name in seen:
                        raise _err(f"duplicate field '{f.name}' in {decl.name}", f)
                    seen.add(f.name)
                    ft = self.resolve(f.type_ref, fscope)
                    self.check_field_type(cls, decl, f, ft)
                    fields.append(T.Field(f.name, ft))
            finally:
                self.subst_stack.pop()
            t = cls(name, decl, tuple(fields))
        self.type_cache[key] = t
        return t

    def check_field_type(self, cls, decl, f, ft) -> None:
        """P4-16 spec 7.2.2/7.2.4: header fields are bit/int/varbit/serializable enums/bool;
        union fields are headers."""
        if cls is T.HeaderType:
            b = T.base_type(ft)
            if not isinstance(b, (T.BitsType, T.VarbitType, T.BoolType, T.TypeVariable,
                                  T.StructType, T.StackType)):
                raise _err(f"field '{f.name}' of header {decl.name} cannot have type {ft}", f)
        elif cls is T.HeaderUnionType and not isinstance(ft, (T.HeaderType, T.TypeVariable)):
            raise _err(f"field '{f.name}' of header union {decl.name} must be a header, "
                       f"not {ft}", f)

    def enum_type(self, decl: ast.EnumDeclaration, scope: Scope) -> T.EnumType:
        names = _member_names(decl.members)
        if len(set(names)) != len(names):
            raise _err(f"duplicate member in enum {decl.name}", decl)
        if decl.underlying is None:
            return T.EnumType(decl.name, decl, tuple(names))
        underlying = T.base_type(self.resolve(decl.underlying, scope))
        if not _is_bits(underlying):
            raise _err(f"underlying type of enum {decl.name} must be bit<W> or int<W>, "
                       f"not {underlying}", decl.underlying)
        values = []
        for m in decl.members:
            value_expr = m[1] if isinstance(m, tuple) else getattr(m, "value", None)
            if value_expr is None:
                raise _err(f"member of serializable enum {decl.name} needs a value", decl)
            self.expr(value_expr, scope, underlying)
            self.coerce(value_expr, underlying)
            values.append(self.const_of(value_expr))
        return T.EnumType(decl.name, decl, tuple(names), underlying, tuple(values))

    # -----------------------------------------------------------------------------------------
    # Constants

    def _is_const(self, e) -> bool:
        try:
            evaluate(e, self.constants)
            return True
        except NotConstant:
            return False

    def const_of(self, e):
        try:
            return evaluate(e, self.constants)
        except NotConstant as nc:
            raise _err("expression is not a compile-time constant", nc.expr or e) from None

    def const_int(self, e, scope: Scope) -> int:
        self.expr(e, scope)
        v = self.const_of(e)
        if isinstance(v, bool) or not isinstance(v, int):
            raise _err("expected an integer constant", e)
        return v

    def check_constant(self, d: ast.ConstantDeclaration, scope: Scope) -> None:
        t = self.resolve(d.type_ref, scope)
        self.expr(d.value, scope, t)
        self.coerce(d.value, t)
        try:
            self.constants[d] = evaluate(d.value, self.constants)
        except NotConstant as nc:
            raise _err(f"initializer of constant '{d.name}' is not a compile-time constant",
                       nc.expr or d.value) from None

    def check_variable(self, d: ast.VariableDeclaration, scope: Scope) -> None:
        t = self.resolve(d.type_ref, scope)
        if isinstance(t, T.IntType):
            raise _err(f"cannot declare variable '{d.name}' with type int; use bit<W> or int<W>",
                       d)
        if d.init is not None:
            self.expr(d.init, scope, t)
            self.coerce(d.init, t)

    # -----------------------------------------------------------------------------------------
    # Parsers, controls, actions, functions

    def check_params(self, params, scope: Scope) -> None:
        seen = set()
        for p in params:
            if p.name in seen:
                raise _err(f"duplicate parameter '{p.name}'", p)
            seen.add(p.name)
            self.check_param_direction(p, self.resolve(p.type_ref, scope))
            if p.default is not None:
                self.expr(p.default, scope, p.type_ref.type)
                self.coerce(p.default, p.type_ref.type)
        for p in params:
            scope.declare(p.name, p, p.loc)

    def check_action(self, d: ast.ActionDeclaration, scope: Scope) -> None:
        inner = Scope(scope)
        self.check_params(d.params, inner)
        directionless = False
        for p in d.params:
            if p.direction is None:
                directionless = True
                if isinstance(p.type_ref.type, T.IntType):
                    raise _err(f"action parameter '{p.name}' cannot have type int", p)
            elif directionless:
                raise _err(f"parameter '{p.name}' has a direction but follows directionless "
                           f"ones: directionless action parameters come last", p)
        saved, self.frame = self.frame, _Frame(T.VoidType(), True, self.frame.container)
        try:
            self.block(d.body, Scope(inner))  # locals may shadow parameters (p4c warns)
        finally:
            self.frame = saved

    def check_function(self, d: ast.FunctionDeclaration, scope: Scope) -> None:
        inner = self.generic_scope(d.type_params, scope)
        rt = self.resolve(d.return_type, inner)
        self.check_params(d.params, inner)
        saved, self.frame = self.frame, _Frame(rt, False, self.frame.container)
        try:
            self.block(d.body, Scope(inner))
        finally:
            self.frame = saved

    def check_parser(self, d: ast.ParserDeclaration, scope: Scope) -> None:
        inner = self.generic_scope(d.type_params, scope)
        self.check_params(d.params + d.ctor_params, inner)
        inner = Scope(inner)
        for builtin in ("accept", "reject"):
            inner.declare(builtin, ast.ParserState(builtin, [], None, loc=d.loc))
        saved, self.frame = self.frame, _Frame(None, False, d)
        try:
            for local in d.locals:
                self.local_declaration(local, inner)
            for s in d.states:
                if s.name in ("accept", "reject"):
                    raise _err(f"state '{s.name}' is built in and cannot be redefined", s)
                inner.declare(s.name, s, s.loc)
            if not any(s.name == "start" for s in d.states):
                raise _err(f"parser '{d.name}' has no 'start' state", d)
            for s in d.states:
                sscope = Scope(inner)
                for st in s.statements:
                    self.statement(st, sscope)
                self.transition(s, sscope)
            self.check_parser_ends(d)
        finally:
            self.frame = saved

    def check_parser_ends(self, d: ast.ParserDeclaration) -> None:
        """p4c rejects a parser whose states never lead to accept or reject."""
        states = {s.name: s for s in d.states}
        seen, work = set(), ["start"]
        while work:
            name = work.pop()
            if name in ("accept", "reject"):
                return
            if name in seen or name not in states:
                continue
            seen.add(name)
            tr = states[name].transition
            if isinstance(tr, ast.Name):
                work.append(tr.name)
            elif isinstance(tr, ast.SelectExpression):
                work.extend(c.state for c in tr.cases)
        raise _err(f"parser '{d.name}' never reaches accept or reject", d)

    def transition(self, s: ast.ParserState, scope: Scope) -> None:
        tr = s.transition
        if tr is None:
            raise _err(f"state '{s.name}' has no transition", s)
        if isinstance(tr, ast.Name):
            self.state_target(tr, tr.name, scope)
            return
        if not isinstance(tr, ast.SelectExpression):
            raise _err("a transition must name a state or be a select expression", tr)
        key_types = []
        for e in tr.exprs:
            t = self.expr(e, scope)
            if isinstance(t, T.IntType):
                raise _err("select key needs a width; cast the integer", e)
            key_types.append(t)
        tr.type = T.TupleType(tuple(key_types)) if len(key_types) != 1 else key_types[0]
        for case in tr.cases:
            self.keyset(case.keyset, key_types, scope)
            self.state_target(case, case.state, scope)

    def state_target(self, node, name: str, scope: Scope) -> None:
        decl = scope.lookup(name)
        if not isinstance(decl, ast.ParserState):
            raise _err(f"unknown parser state '{name}'", node)
        if isinstance(node, ast.Name):
            node.decl = decl
            node.type = T.ParserStateType(name, decl)

    def keyset(self, ks, key_types: list, scope: Scope) -> None:
        """Type a select/entry keyset against the key types (P4-16 spec 12.6)."""
        if isinstance(ks, (ast.DefaultExpression, ast.DontCare)):
            ks.type = T.DontCareType()
            return
        if isinstance(ks, ast.ListExpression) and len(ks.elements) == len(key_types) > 1:
            for e, kt in zip(ks.elements, key_types):
                self.keyset(e, [kt], scope)
            ks.type = T.TupleType(tuple(key_types))
            return
        if isinstance(ks, ast.ListExpression) and len(ks.elements) == 1 and len(key_types) == 1:
            self.keyset(ks.elements[0], key_types, scope)
            ks.type = ks.elements[0].type
            return
        if len(key_types) == 1 and isinstance(ks, ast.ListExpression) and len(ks.elements) > 1:
            kt = key_types[0]
            parts = (kt.elements if isinstance(kt, T.TupleType) else
                     [f.type for f in kt.fields] if isinstance(kt, T.StructLike) else None)
            if parts is None or len(parts) != len(ks.elements):
                raise _err(f"keyset has {len(ks.elements)} components but the key has 1", ks)
            for el, part in zip(ks.elements, parts):
                self.keyset(el, [part], scope)
            ks.type = kt
            return
        if len(key_types) != 1:
            if isinstance(ks, ast.Name):
                t = self.expr(ks, scope)
                if isinstance(t, T.SetType):
                    return
            raise _err(f"keyset has {len(ks.elements) if isinstance(ks, ast.ListExpression) else 1}"
                       f" components but the key has {len(key_types)}", ks)
        kt = key_types[0]
        if isinstance(ks, ast.Binary) and ks.op in ("&&&", ".."):
            self.expr(ks.left, scope, kt)
            self.expr(ks.right, scope, kt)
            self.coerce(ks.left, kt, in_keyset=True)
            self.coerce(ks.right, kt, in_keyset=True)
            ks.type = T.SetType(kt)
            return
        t = self.expr(ks, scope, kt)
        if isinstance(t, T.SetType):
            return
        self.coerce(ks, kt, in_keyset=True)

    def check_control(self, d: ast.ControlDeclaration, scope: Scope) -> None:
        inner = self.generic_scope(d.type_params, scope)
        self.check_params(d.params + d.ctor_params, inner)
        inner = Scope(inner)
        saved, self.frame = self.frame, _Frame(None, False, d)
        try:
            for local in d.locals:
                self.local_declaration(local, inner)
            self.block(d.body, Scope(inner))
        finally:
            self.frame = saved

    def local_declaration(self, d, scope: Scope) -> None:
        if isinstance(d, ast.Declaration):
            self.check_declaration(d, scope)
            scope.declare(d.name, d, d.loc)
        else:
            self.statement(d, scope)

    def check_instantiation(self, d: ast.Instantiation, scope: Scope) -> None:
        t = self.resolve(d.type_ref, scope)
        decl = getattr(t, "decl", None) or getattr(d.type_ref, "decl", None)  # via typedefs
        self.constructor_args(decl, t, d.args, d, scope)
        for member in d.initializer:
            self.check_declaration(member, Scope(scope))

    def constructor_args(self, decl, t, args, node, scope: Scope) -> None:
        """Check `T(args)`: an extern's constructor (overloaded by arity), a parser's or
        control's constructor parameters, or a package's parameters."""
        if isinstance(decl, ast.ExternDeclaration):
            ctors = [m for m in decl.methods if m.return_type is None and m.name == decl.name]
            ctor = self.pick_overload(ctors, args, node, f"constructor of {decl.name}")
            subst = dict(zip([tp if isinstance(tp, str) else tp.name for tp in decl.type_params],
                             t.type_args))
            self.call_args(ctor.params, args, node, scope, subst, generic=True)
            return
        if isinstance(decl, (ast.ParserDeclaration, ast.ControlDeclaration)):
            self.call_args(decl.ctor_params, args, node, scope, {}, generic=False)
            return
        if isinstance(decl, ast.PackageTypeDeclaration):
            tparams = [tp if isinstance(tp, str) else tp.name for tp in decl.type_params]
            subst = dict(zip(tparams, getattr(t, "type_args", ()) or ()))
            self.call_args(decl.params, args, node, scope, subst, generic=True)
            return
        raise _err(f"'{getattr(decl, 'name', decl)}' cannot be instantiated", node)

    # -----------------------------------------------------------------------------------------
    # Tables

    def check_table(self, d: ast.TableDeclaration, scope: Scope) -> None:
        key_types = []
        actions_prop = d.prop("actions")
        if actions_prop is None:
            raise _err(f"table '{d.name}' has no 'actions' property", d)
        action_names = []
        for ref in actions_prop.value:
            self.action_ref(ref, scope, bound_only=True)
            action_names.append(ref.name.decl.name)
        seen = set()
        for prop in d.properties:
            if prop.name in seen:
                raise _err(f"table property '{prop.name}' is given twice", prop)
            seen.add(prop.name)
            if prop.name == "key":
                for k in prop.value:
                    t = self.expr(k.expr, scope)
                    if isinstance(t, T.IntType):
                        raise _err("table key needs a width; cast the integer", k.expr)
                    if k.match_kind not in self.match_kinds:
                        raise _err(f"unknown match kind '{k.match_kind}'", k)
                    key_types.append(t)
            elif prop.name == "default_action":
                self.action_ref(prop.value, scope, bound_only=False)
                listed = [r.name.decl for r in actions_prop.value]
                if prop.value.name.decl not in listed:
                    raise _err(f"default action '{prop.value.name.decl.name}' is not in the "
                               f"actions list of table '{d.name}'", prop.value)
            elif prop.name in ("size", "max_group_size", "priority", "largest_priority_wins"):
                self.expr(prop.value, scope)
            elif prop.name in ("actions", "entries"):
                continue
            elif isinstance(prop.value, ast.Expression):
                self.expr(prop.value, scope)
        entries = d.prop("entries")
        if entries is not None:
            listed = [r.name.decl for r in actions_prop.value]
            for entry in entries.value:
                if not key_types:
                    raise _err(f"table '{d.name}' has entries but no key", entry)
                self.keyset(entry.keys, key_types, scope)
                self.action_ref(entry.action, scope, bound_only=False)
                if entry.action.name.decl not in listed:
                    raise _err(f"action '{entry.action.name.decl.name}' is not in the actions "
                               f"list of table '{d.name}'", entry.action)
                if entry.priority is not None:
                    self.const_int(entry.priority, scope)

    def action_ref(self, ref: ast.ActionRef, scope: Scope, bound_only: bool) -> None:
        """`a(args)` in a table: in `actions` the args bind a prefix of the parameters (those
        with a direction); in default_action/entries every parameter gets an argument."""
        name = ref.name
        if isinstance(name, ast.MethodCall):  # parsers may build a call node for `a(1)`
            ref.args, ref.name = list(name.args), name.callee
            name = ref.name
        decls = (scope.root() if getattr(name, "global_scope", False) else scope).lookup_all(
            getattr(name, "name", ""))
        decl = decls[0] if decls else None
        if not isinstance(decl, ast.ActionDeclaration):
            raise _err(f"'{getattr(name, 'name', '?')}' is not an action", name)
        name.decl = decl
        name.type = T.ActionType(decl.name, decl)
        params = decl.params
        if bound_only:
            if len(ref.args) > len(params):
                raise _err(f"too many arguments for action '{decl.name}'", ref)
            for p, a in zip(params, ref.args):
                self.one_arg(p, a, scope, {})
        else:
            self.call_args(params, ref.args, ref, scope, {}, generic=False)

    # -----------------------------------------------------------------------------------------
    # Statements

    def block(self, b: ast.BlockStatement, scope: Scope) -> None:
        for st in b.statements:
            self.statement(st, scope)

    def statement(self, st, scope: Scope) -> None:
        if isinstance(st, ast.BlockStatement):
            self.block(st, Scope(scope))
        elif isinstance(st, ast.AssignmentStatement):
            lt = self.expr(st.left, scope)
            self.require_lvalue(st.left)
            self.expr(st.right, scope, lt)
            self.coerce(st.right, lt)
        elif isinstance(st, ast.MethodCallStatement):
            self.expr(st.call, scope)
        elif isinstance(st, ast.IfStatement):
            self.condition(st.cond, scope)
            self.statement(st.then, Scope(scope))
            if st.else_ is not None:
                self.statement(st.else_, Scope(scope))
        elif isinstance(st, ast.SwitchStatement):
            self.switch(st, scope)
        elif isinstance(st, ast.ReturnStatement):
            rt = self.frame.return_type
            if st.value is not None:
                if rt is None or isinstance(rt, T.VoidType):
                    raise _err("return with a value outside a function that returns one", st)
                self.expr(st.value, scope, rt)
                self.coerce(st.value, rt)
            elif rt is not None and not isinstance(rt, T.VoidType):
                raise _err(f"return needs a value of type {rt}", st)
        elif isinstance(st, (ast.ExitStatement, ast.EmptyStatement, ast.BreakStatement,
                             ast.ContinueStatement)):
            pass
        elif isinstance(st, ast.ConstantDeclaration):
            self.check_constant(st, scope)
            scope.declare(st.name, st, st.loc)
        elif isinstance(st, ast.VariableDeclaration):
            self.check_variable(st, scope)
            scope.declare(st.name, st, st.loc)
        elif isinstance(st, ast.Instantiation):
            raise _err(f"instance '{st.name}' must be declared with the parser's or control's "
                       f"locals, not inside a block of statements", st)
        elif isinstance(st, ast.ForStatement):
            inner = Scope(scope)
            for s in st.init:
                self.statement(s, inner)
            if st.cond is not None:
                self.condition(st.cond, inner)
            for s in st.updates:
                self.statement(s, inner)
            self.statement(st.body, Scope(inner))
        elif isinstance(st, ast.ForInStatement):
            inner = Scope(scope)
            self.expr(st.collection, inner)
            self.check_variable(st.var, inner)
            inner.declare(st.var.name, st.var, st.var.loc)
            self.statement(st.body, Scope(inner))
        elif isinstance(st, ast.Declaration):
            self.check_declaration(st, scope)
            scope.declare(st.name, st, st.loc)
        else:
            raise _err(f"unsupported statement {type(st).__name__}", st)

    def condition(self, e, scope: Scope) -> None:
        t = self.expr(e, scope)
        if not isinstance(t, T.BoolType):
            raise _err(f"condition must be a bool, not {t}", e)

    def switch(self, st: ast.SwitchStatement, scope: Scope) -> None:
        self.switch_expr = st.expr
        t = self.expr(st.expr, scope)
        seen = set()
        default_seen = False
        for case in st.cases:
            label = case.label
            if default_seen:
                raise _err("a switch label follows the 'default' label", label)
            if isinstance(label, ast.DefaultExpression):
                label.type = T.DontCareType()
                default_seen = True
            elif isinstance(t, T.ActionEnumType):
                name = getattr(label, "name", None)
                if not isinstance(label, ast.Name) or name not in t.members:
                    raise _err(f"'{name or '?'}' is not an action of table '{t.name}'", label)
                label.decl = t.decl.actions_by_name[name] if hasattr(t.decl, "actions_by_name") \
                    else scope.lookup(name)
                label.type = t
                if name in seen:
                    raise _err(f"duplicate switch label '{name}'", label)
                seen.add(name)
            else:
                if not isinstance(T.base_type(t), (T.BitsType, T.EnumType, T.ErrorType)) and \
                        not isinstance(t, T.EnumType):
                    raise _err(f"cannot switch on a value of type {t}", st.expr)
                lt = self.expr(label, scope, t)
                if isinstance(t, T.EnumType) and lt != t:
                    raise _err(f"switch label of type {lt} for a switch on {t}", label)
                self.coerce(label, t)
            if case.body is not None:
                self.block(case.body, Scope(scope))

    def require_lvalue(self, e) -> None:
        if isinstance(e, ast.Name):
            d = e.decl
            if isinstance(d, ast.VariableDeclaration):
                return
            if isinstance(d, ast.Parameter) and d.direction in ("out", "inout"):
                return
            if isinstance(d, ast.Parameter):
                raise _err(f"cannot assign to parameter '{e.name}' "
                           f"({d.direction or 'directionless'})", e)
            raise _err(f"cannot assign to '{e.name}'", e)
        if isinstance(e, (ast.Member, ast.Index, ast.Slice)):
            if isinstance(e, ast.Member) and isinstance(e.expr.type, T.StackType):
                if e.member not in ("next", "last"):
                    raise _err(f"cannot assign to '{e.member}' of a header stack", e)
            self.require_lvalue(e.expr)
            return
        if isinstance(e, ast.DontCare):
            return
        raise _err("expression is not assignable", e)

    # -----------------------------------------------------------------------------------------
    # Expressions

    def expr(self, e, scope: Scope, expected=None) -> T.P4Type:
        """Type `e` (setting e.type); `expected` guides list/struct initialisers and `{#}`."""
        t = self._expr(e, scope, expected)
        e.type = t
        return t

    def _expr(self, e, scope: Scope, expected) -> T.P4Type:
        if isinstance(e, ast.IntLiteral):
            if e.width is None:
                return T.IntType()
            if e.width > MAX_WIDTH or (e.width <= 0 and not (e.width == 0 and not e.signed)):
                raise _err(f"invalid width {e.width}", e)
            return T.BitsType(e.width, e.signed)
        if isinstance(e, ast.BoolLiteral):
            return T.BoolType()
        if isinstance(e, ast.StringLiteral):
            return T.StringType()
        if isinstance(e, ast.Name):
            return self.name(e, scope)
        if isinstance(e, ast.TypeMember):
            return self.type_member(e, self.resolve(e.type_ref, scope), e.member)
        if isinstance(e, ast.Member):
            return self.member(e, scope)
        if isinstance(e, ast.Index):
            return self.index(e, scope)
        if isinstance(e, ast.Slice):
            return self.slice(e, scope)
        if isinstance(e, ast.Unary):
            return self.unary(e, scope, expected)
        if isinstance(e, ast.Binary):
            return self.binary(e, scope, expected)
        if isinstance(e, ast.Mux):
            self.condition(e.cond, scope)
            a = self.expr(e.then, scope, expected)
            b = self.expr(e.else_, scope, expected)
            return self.unify_operands(e, e.then, e.else_, a, b, "?:")
        if isinstance(e, ast.Cast):
            return self.cast(e, scope)
        if isinstance(e, ast.MethodCall):
            return self.call(e, scope, expected)
        if isinstance(e, ast.ConstructorCall):
            t = self.resolve(e.type_ref, scope)
            self.constructor_args(e.type_ref.decl, t, e.args, e, scope)
            return t
        if isinstance(e, ast.ListExpression):
            return self.list_expr(e, scope, expected)
        if isinstance(e, ast.StructExpression):
            return self.struct_expr(e, scope, expected)
        if isinstance(e, ast.InvalidHeader):
            if isinstance(expected, (T.HeaderType, T.HeaderUnionType)):
                return expected
            return T.DontCareType()  # typed by the comparison or assignment it appears in
        if isinstance(e, (ast.DontCare, ast.DefaultExpression)):
            return T.DontCareType()
        if isinstance(e, ast.SelectExpression):
            raise _err("select expression is only allowed as a parser transition", e)
        if isinstance(e, ast.This):
            return T.DontCareType()
        raise _err(f"unsupported expression {type(e).__name__}", e)

    def name(self, e: ast.Name, scope: Scope) -> T.P4Type:
        decls = (scope.root() if e.global_scope else scope).lookup_all(e.name)
        if not decls and e.name in self.match_kinds:
            return T.MatchKindType()  # match_kind members are values of type match_kind
        if not decls:
            raise _err(f"'{e.name}' is not declared", e)
        decl = decls[0]
        e.decl = decl
        t = _decl_type(decl)
        if t is not None:
            return t
        if isinstance(decl, (ast.FunctionDeclaration, ast.ExternFunctionDeclaration)):
            return T.VoidType()  # a callee; call() types the call
        if isinstance(decl, (ast.EnumDeclaration, ast.TypedefDeclaration, ast.StructDeclaration,
                             ast.HeaderTypeDeclaration, ast.HeaderUnionDeclaration,
                             ast.ExternDeclaration, ast.ParserDeclaration,
                             ast.ControlDeclaration, ast.PackageTypeDeclaration)):
            return self.declared_type(decl, self.globals if decl in self._top_level() else scope)
        raise _err(f"'{e.name}' cannot be used as a value", e)

    def type_member(self, node, t, member: str) -> T.P4Type:
        if isinstance(t, T.ErrorType):
            if member not in self.errors:
                raise _err(f"'{member}' is not a member of error", node)
            return t
        if isinstance(t, T.EnumType):
            if member not in t.members:
                raise _err(f"'{member}' is not a member of enum {t.name}", node)
            return t
        raise _err(f"type {t} has no member '{member}'", node)

    def is_type_name(self, e, scope: Scope) -> bool:
        if isinstance(e, ast.Name):
            d = (scope.root() if e.global_scope else scope).lookup(e.name)
            return d is None and e.name == "error" or isinstance(
                d, (ast.EnumDeclaration, ast.TypedefDeclaration)) and not isinstance(
                d, ast.Parameter)
        return False

    def member(self, e: ast.Member, scope: Scope) -> T.P4Type:
        if isinstance(e.expr, ast.Name) and self.is_type_name(e.expr, scope):
            if e.expr.name == "error" and scope.lookup("error") is None:
                e.expr.type = T.ErrorType()
                return self.type_member(e, T.ErrorType(), e.member)
            d = scope.lookup(e.expr.name)
            e.expr.decl = d
            t = self.declared_type(d, self.globals if d in self._top_level() else scope)
            e.expr.type = t
            return self.type_member(e, t, e.member)
        t = self.expr(e.expr, scope)
        if isinstance(t, T.StructLike):
            f = t.field(e.member)
            if f is not None:
                if isinstance(f.type, T.ActionEnumType) and e is not self.switch_expr:
                    raise _err("'action_run' is only allowed as the expression of a switch", e)
                return f.type
            if isinstance(t, (T.HeaderType, T.HeaderUnionType)) and e.member in HEADER_METHODS:
                return T.FunctionType((), HEADER_METHODS[e.member])
            raise _err(f"{t} has no field '{e.member}'", e)
        if isinstance(t, T.StackType):
            if e.member in ("next", "last", "lastIndex") and not isinstance(
                    self.frame.container, ast.ParserDeclaration):
                raise _err(f"'{e.member}' of a header stack can only be used in a parser", e)
            if e.member in ("next", "last"):
                return t.element
            if e.member in ("size", "lastIndex"):
                return T.BitsType(32)
            if e.member in ("push_front", "pop_front"):
                return T.FunctionType((T.IntType(),), T.VoidType())
            raise _err(f"header stack has no member '{e.member}'", e)
        if isinstance(t, (T.ExternType, T.TableType, T.ParserType, T.ControlType)):
            return T.VoidType()  # a method; call() types the call
        if isinstance(t, T.StructType) or isinstance(t, T.ErrorType) or isinstance(t, T.EnumType):
            return self.type_member(e, t, e.member)
        raise _err(f"type {t} has no member '{e.member}'", e)

    def index(self, e: ast.Index, scope: Scope) -> T.P4Type:
        t = self.expr(e.expr, scope)
        it = self.expr(e.index, scope)
        if isinstance(t, T.StackType):
            if isinstance(it, T.IntType):
                self.coerce(e.index, T.BitsType(32))
                i = self.const_of(e.index)
                if i < 0 or i >= t.size:
                    raise _err(f"index {i} is out of range for {t}", e.index)
            elif not _is_bits(T.base_type(it)):
                raise _err(f"array index must be an integer, not {it}", e.index)
            return t.element
        if isinstance(t, T.TupleType):
            i = self.const_of(e.index)
            if not 0 <= i < len(t.elements):
                raise _err(f"index {i} is out of range for {t}", e.index)
            return t.elements[i]
        raise _err(f"cannot index a value of type {t}", e)

    def slice(self, e: ast.Slice, scope: Scope) -> T.P4Type:
        t = self.expr(e.expr, scope)
        b = T.base_type(t)
        if not (_is_bits(b) or isinstance(b, T.IntType)):
            raise _err(f"cannot slice a value of type {t}", e)
        width = self.part_select_width(e, scope)
        if width is not None:
            return T.BitsType(width)
        hi = self.const_int(e.hi, scope)
        lo = self.const_int(e.lo, scope)
        if hi < lo or lo < 0:
            raise _err(f"invalid slice [{hi}:{lo}]", e)
        if _is_bits(b) and hi >= b.w:
            raise _err(f"slice [{hi}:{lo}] is out of range for {t}", e)
        return T.BitsType(hi - lo + 1)

    def part_select_width(self, e: ast.Slice, scope: Scope) -> Optional[int]:
        """`x[lo +: w]` with a run-time `lo` (P4-16 1.2.4 8.6), which the parser writes as
        x[lo + w - 1 : lo]: its width w, or None for an ordinary constant slice."""
        hi = e.hi
        if not (isinstance(hi, ast.Binary) and hi.op == "-" and isinstance(hi.left, ast.Binary)
                and hi.left.op == "+" and repr(hi.left.left) == repr(e.lo)):
            return None
        self.expr(e.lo, scope)
        if self._is_const(e.lo):
            return None
        if not _is_bits(T.base_type(e.lo.type)):
            raise _err(f"slice index must be bit<W>, not {e.lo.type}", e.lo)
        width = self.const_int(hi.left.right, scope)
        self.expr(hi, scope)
        if width <= 0:
            raise _err(f"invalid part-select width {width}", hi.left.right)
        return width

    def unary(self, e: ast.Unary, scope: Scope, expected) -> T.P4Type:
        t = self.expr(e.operand, scope, expected)
        b = T.base_type(t)
        if e.op == "!":
            if not isinstance(t, T.BoolType):
                raise _err(f"'!' needs a bool, not {t}", e)
            return t
        if e.op == "~":
            if not _is_bits(b):
                raise _err(f"'~' needs bit<W> or int<W>, not {t}", e)
            return b
        if not _numeric(b):
            raise _err(f"'{e.op}' needs a number, not {t}", e)
        return b

    def binary(self, e: ast.Binary, scope: Scope, expected) -> T.P4Type:
        op = e.op
        if op in ("&&", "||"):
            self.condition(e.left, scope)
            self.condition(e.right, scope)
            return T.BoolType()
        hint = expected if op in ARITH_OPS + BIT_OPS + ("&&&", "..") else None
        lt = self.expr(e.left, scope, hint)
        rt = self.expr(e.right, scope, hint if op not in ("<<", ">>") else None)
        if op in ("<<", ">>"):
            lb, rb = T.base_type(lt), T.base_type(rt)
            if not _numeric(lb):
                raise _err(f"cannot shift a value of type {lt}", e.left)
            if not _numeric(rb):
                raise _err(f"shift amount must be a number, not {rt}", e.right)
            if _is_bits(rb) and rb.signed:
                amount = self.const_of(e.right) if self._is_const(e.right) else None
                if amount is None or amount < 0:
                    raise _err(f"shift amount must be unsigned, not {rt}", e.right)
            if isinstance(rb, T.IntType):
                amount = self.const_of(e.right)
                if amount < 0:
                    raise _err("shift amount must not be negative", e.right)
                return lb
            return lb
        if op == "++":
            lb, rb = T.base_type(lt), T.base_type(rt)
            if isinstance(lb, T.StringType) and isinstance(rb, T.StringType):
                return lb
            if not (_is_bits(lb) and _is_bits(rb)):
                raise _err(f"'++' needs bit<W> or int<W> operands, not {lt} and {rt}", e)
            return T.BitsType(lb.w + rb.w, lb.signed)
        t = self.unify_operands(e, e.left, e.right, lt, rt, op)
        if op in ("==", "!="):
            if isinstance(t, (T.ExternType, T.TableType, T.ParserType, T.ControlType)) or (
                    isinstance(t, T.StructType) and isinstance(t.decl, ast.TableDeclaration)):
                raise _err(f"values of type {t} cannot be compared", e)
            return T.BoolType()
        b = T.base_type(t)
        if op in COMPARE_OPS:
            if not _numeric(b):
                raise _err(f"cannot compare values of type {t} with '{op}'", e)
            return T.BoolType()
        if op in ("&&&", ".."):
            return T.SetType(t)
        if op in ARITH_OPS + BIT_OPS:
            if not _numeric(b):
                raise _err(f"cannot apply '{op}' to values of type {t}", e)
            if op in BIT_OPS and isinstance(b, T.IntType) is False and not _is_bits(b):
                raise _err(f"cannot apply '{op}' to values of type {t}", e)
            if op in ("/", "%") and _is_bits(b) and b.signed:
                raise _err(f"'{op}' is not defined on signed values ({t})", e)
            return b if op not in BIT_OPS else t if _is_bits(T.base_type(t)) else b
        raise _err(f"unknown operator '{op}'", e)

    def unify_operands(self, e, left, right, lt, rt, op) -> T.P4Type:
        """The common type of two operands: an `int` takes the other side's type (spec 8.9.2);
        otherwise the types must be equal."""
        if isinstance(lt, T.IntType) and not isinstance(rt, T.IntType):
            rt = T.base_type(rt) if isinstance(rt, T.EnumType) else rt
            self.coerce(left, rt)
            return rt
        if isinstance(rt, T.IntType) and not isinstance(lt, T.IntType):
            lt = T.base_type(lt) if isinstance(lt, T.EnumType) else lt
            self.coerce(right, lt)
            return lt
        if lt != rt:
            if T.base_type(lt) == T.base_type(rt):
                return T.base_type(lt)
            for this, other, ot in ((left, right, rt), (right, left, lt)):
                if isinstance(this, (ast.ListExpression, ast.StructExpression)) and isinstance(
                        ot, (T.TupleType, T.StructLike)):
                    self.coerce(this, ot)
                    return ot
                if isinstance(this, ast.InvalidHeader) and isinstance(
                        ot, (T.HeaderType, T.HeaderUnionType)):
                    this.type = ot
                    return ot
            if isinstance(lt, T.DontCareType) or isinstance(rt, T.DontCareType):
                return rt if isinstance(lt, T.DontCareType) else lt
            if isinstance(lt, T.StructLike) and isinstance(right, (ast.ListExpression,
                                                                   ast.StructExpression)):
                self.coerce(right, lt)
                return lt
            raise _err(f"operands of '{op}' have different types: {lt} and {rt}", e)
        return lt

    def cast(self, e: ast.Cast, scope: Scope) -> T.P4Type:
        to = self.resolve(e.to, scope)
        if isinstance(e.expr, (ast.ListExpression, ast.StructExpression, ast.InvalidHeader)):
            self.expr(e.expr, scope, to)
            self.coerce(e.expr, to)
            return to
        src = self.expr(e.expr, scope, to)
        if src == to:
            return to
        sb, tb = T.base_type(src), T.base_type(to)
        ok = False
        if isinstance(sb, T.IntType):
            ok = isinstance(tb, (T.BitsType, T.BoolType, T.IntType))
            if ok and isinstance(tb, T.BoolType):
                ok = self.const_of(e.expr) in (0, 1)
        elif _is_bits(sb):
            ok = _is_bits(tb) or (isinstance(tb, T.BoolType) and sb.w == 1 and not sb.signed) \
                or isinstance(tb, T.IntType)
        elif isinstance(sb, T.BoolType):
            ok = _is_bits(tb) and tb.w == 1 and not tb.signed
        if isinstance(src, T.NewType) and (to == src.underlying or tb == sb):
            ok = True
        if isinstance(to, T.NewType) and (src == to.underlying or tb == sb
                                          or isinstance(sb, T.IntType)):
            ok = True
        if not ok:
            raise _err(f"cannot cast from {src} to {to}", e)
        return to

    def list_expr(self, e: ast.ListExpression, scope: Scope, expected) -> T.P4Type:
        if isinstance(expected, (T.StructType, T.HeaderType)) and not isinstance(
                expected, T.HeaderUnionType):
            if len(e.elements) != len(expected.fields):
                raise _err(f"{expected} has {len(expected.fields)} fields but the initializer "
                           f"has {len(e.elements)}", e)
            for el, f in zip(e.elements, expected.fields):
                self.expr(el, scope, f.type)
                self.coerce(el, f.type)
            return expected
        if isinstance(expected, T.TupleType) and len(expected.elements) == len(e.elements):
            for el, et in zip(e.elements, expected.elements):
                self.expr(el, scope, et)
                self.coerce(el, et)
            return expected
        if isinstance(expected, T.ListType):
            for el in e.elements:
                self.expr(el, scope, expected.element)
                self.coerce(el, expected.element)
            return expected
        if isinstance(expected, T.StackType) and len(e.elements) == expected.size:
            for el in e.elements:
                self.expr(el, scope, expected.element)
            return expected
        return T.TupleType(tuple(self.expr(el, scope) for el in e.elements))

    def struct_expr(self, e: ast.StructExpression, scope: Scope, expected) -> T.P4Type:
        target = self.resolve(e.type_ref, scope) if e.type_ref is not None else expected
        if isinstance(target, T.StructLike):
            given = {n for n, _ in e.fields}
            for n, v in e.fields:
                f = target.field(n)
                if f is None:
                    raise _err(f"{target} has no field '{n}'", v)
                self.expr(v, scope, f.type)
                self.coerce(v, f.type)
            missing = [f.name for f in target.fields if f.name not in given]
            if missing and not isinstance(target, T.HeaderUnionType):
                raise _err(f"initializer of {target} lacks field '{missing[0]}'", e)
            return target
        fields = tuple(T.Field(n, self.expr(v, scope)) for n, v in e.fields)
        return T.StructType("{" + ", ".join(n for n, _ in e.fields) + "}", None, fields)

    # -----------------------------------------------------------------------------------------
    # Calls

    def call(self, e: ast.MethodCall, scope: Scope, expected=None) -> T.P4Type:
        callee = e.callee
        type_args = [self.resolve(a, scope) for a in e.type_args]
        if isinstance(callee, ast.Name):
            decls = (scope.root() if callee.global_scope else scope).lookup_all(callee.name)
            if not decls:
                raise _err(f"'{callee.name}' is not declared", callee)
            decl = decls[0]
            if isinstance(decl, (ast.ExternDeclaration, ast.ParserDeclaration,
                                 ast.ControlDeclaration, ast.PackageTypeDeclaration)):
                t = self.name(callee, scope)
                self.constructor_args(decl, t, e.args, e, scope)
                return t
            if isinstance(decl, ast.ActionDeclaration):
                callee.decl, callee.type = decl, T.ActionType(decl.name, decl)
                self.call_args(decl.params, e.args, e, scope, {}, generic=False)
                return T.VoidType()
            if isinstance(decl, (ast.FunctionDeclaration, ast.ExternFunctionDeclaration)):
                fn = self.pick_overload(decls, e.args, e, f"'{callee.name}'")
                callee.decl = fn
                if fn.name == "verify" and isinstance(fn, ast.ExternFunctionDeclaration) and \
                        isinstance(self.frame.container, ast.ControlDeclaration):
                    raise _err("verify() may only be invoked in parsers", e)
                rt = self.generic_call(fn, e, scope, {}, type_args, callee, expected)
                if fn.name == "static_assert" and isinstance(fn, ast.ExternFunctionDeclaration):
                    self.static_assert(e)
                return rt
            raise _err(f"'{callee.name}' cannot be called", callee)
        if isinstance(callee, ast.Member):
            return self.method_call(e, callee, scope, type_args, expected)
        if isinstance(callee, ast.TypeMember) and callee.member in SIZE_METHODS and not e.args:
            self.resolve(callee.type_ref, scope)
            callee.type = T.FunctionType((), T.IntType())
            return T.IntType()
        if isinstance(callee, ast.TypeMember) and callee.member == "apply":
            # `P.apply(...)` on a parser/control type: an anonymous instance (spec 15.1).
            t = self.resolve(callee.type_ref, scope)
            if isinstance(t.decl if hasattr(t, "decl") else None,
                          (ast.ParserDeclaration, ast.ControlDeclaration)):
                if t.decl.ctor_params:
                    raise _err(f"'{t.decl.name}' has constructor parameters; instantiate it",
                               callee)
                callee.type = T.FunctionType((), T.VoidType())
                self.call_args(t.decl.params, e.args, e, scope, {}, generic=False)
                return T.VoidType()
        raise _err("expression cannot be called", callee)

    def static_assert(self, e: ast.MethodCall) -> None:
        """core.p4's static_assert(check[, message]): checked here, at compile time."""
        if self.const_of(e.args[0].value) is False:
            message = ""
            if len(e.args) > 1 and isinstance(e.args[1].value, ast.StringLiteral):
                message = ": " + e.args[1].value.value
            raise _err("static assertion failed" + message, e)

    def method_call(self, e, callee: ast.Member, scope: Scope, type_args,
                    expected=None) -> T.P4Type:
        target_t = self.expr(callee.expr, scope)
        m = callee.member
        if isinstance(target_t, (T.HeaderType, T.HeaderUnionType)) and m in HEADER_METHODS:
            if target_t.field(m) is None:
                if e.args:
                    raise _err(f"{m}() takes no arguments", e)
                if m != "isValid":
                    self.require_lvalue(callee.expr)
                callee.type = T.FunctionType((), HEADER_METHODS[m])
                return HEADER_METHODS[m]
        if m in SIZE_METHODS and not e.args:
            callee.type = T.FunctionType((), T.IntType())
            return T.IntType()
        if isinstance(target_t, T.StackType) and m in ("push_front", "pop_front"):
            if len(e.args) != 1:
                raise _err(f"{m}() takes one argument", e)
            self.require_lvalue(callee.expr)
            self.const_int(e.args[0].value, scope)
            callee.type = T.FunctionType((T.IntType(),), T.VoidType())
            return T.VoidType()
        if m == "apply" and self.frame.in_action and isinstance(
                target_t, (T.TableType, T.ParserType, T.ControlType)):
            raise _err("apply cannot be called from actions", e)
        if isinstance(target_t, T.TableType) and m == "apply":
            if e.args:
                raise _err("table apply() takes no arguments", e)
            table = target_t.decl
            names = tuple(r.name.decl.name for r in table.prop("actions").value)
            callee.type = T.FunctionType((), T.VoidType())
            return T.StructType(f"{table.name}.apply_result", table, (
                T.Field("hit", T.BoolType()), T.Field("miss", T.BoolType()),
                T.Field("action_run", T.ActionEnumType(table.name, table, names))))
        if isinstance(target_t, (T.ParserType, T.ControlType)) and m == "apply":
            decl = target_t.decl
            callee.type = T.FunctionType((), T.VoidType())
            self.call_args(decl.params, e.args, e, scope, {}, generic=False)
            return T.VoidType()
        if isinstance(target_t, T.ExternType):
            decl = target_t.decl
            methods = [x for x in decl.methods if x.name == m and x.return_type is not None]
            if not methods:
                raise _err(f"extern {decl.name} has no method '{m}'", callee)
            fn = self.pick_overload(methods, e.args, e, f"method '{m}' of {decl.name}")
            tparams = [tp if isinstance(tp, str) else tp.name for tp in decl.type_params]
            subst = dict(zip(tparams, target_t.type_args))
            return self.generic_call(fn, e, scope, subst, type_args, callee, expected)
        if isinstance(target_t, T.StructLike) and target_t.field(m) is not None:
            raise _err(f"field '{m}' of {target_t} cannot be called", callee)
        raise _err(f"{target_t} has no method '{m}'", callee)

    def pick_overload(self, candidates: list, args: list, node, what: str):
        named = {a.name for a in args if a.name}
        fits = []
        for c in candidates:
            required = [p for p in c.params if p.default is None
                        and p.annotation("optional") is None]
            if named:
                names = {p.name for p in c.params}
                if named <= names and all(p.name in named or p.default is not None
                                          or p.annotation("optional") is not None
                                          for p in required[len(args) - len(named):]):
                    fits.append(c)
            elif len(required) <= len(args) <= len(c.params):
                fits.append(c)
        if not fits:
            raise _err(f"no overload of {what} takes {len(args)} arguments", node)
        return fits[0]

    def generic_call(self, fn, e, scope: Scope, subst: dict, type_args: list, callee,
                     expected=None) -> T.P4Type:
        tparams = [tp if isinstance(tp, str) else tp.name for tp in fn.type_params]
        local = dict(subst)
        if type_args:
            if len(type_args) != len(tparams):
                raise _err(f"'{fn.name}' expects {len(tparams)} type arguments", e)
            local.update(zip(tparams, type_args))
        self.call_args(fn.params, e.args, e, scope, local, generic=True)
        rt = self.param_type_ref(fn.return_type, fn, local)
        if isinstance(rt, T.TypeVariable) and expected is not None and not isinstance(
                expected, T.DontCareType):
            local[rt.name] = expected  # the return type alone fixes T: `bit<8> x = r.read();`
            rt = expected
        callee.type = T.FunctionType(tuple(self.param_type(p, local) for p in fn.params), rt)
        if isinstance(rt, T.TypeVariable):
            raise _err(f"cannot infer the return type of '{fn.name}'; give type arguments", e)
        return rt

    def param_type_ref(self, ref, fn, subst: dict) -> T.P4Type:
        """Resolve a prototype's type (parameter or return) under a type-variable binding."""
        scope = self.prototype_scope(fn)
        self.subst_stack.append(subst)
        try:
            return self._resolve(ref, scope)
        finally:
            self.subst_stack.pop()

    def prototype_scope(self, fn) -> Scope:
        """Scope in which an extern method's or function's signature is resolved: the globals
        plus the type parameters of the function and (for methods) of its extern."""
        scope = self.globals
        for d in self.program.declarations:
            if isinstance(d, ast.ExternDeclaration) and fn in d.methods:
                scope = self.generic_scope(d.type_params, scope)
                break
        return self.generic_scope(fn.type_params, scope) if getattr(fn, "type_params", None) \
            else scope

    def param_type(self, p: ast.Parameter, subst: dict) -> T.P4Type:
        if not subst and p.type_ref.type is not None and not _contains_typevar(p.type_ref.type):
            return p.type_ref.type
        for d in self.program.declarations:
            if p in getattr(d, "params", ()) or p in getattr(d, "ctor_params", ()):
                return self.param_type_ref(p.type_ref, d, subst)
            for m in getattr(d, "methods", ()):
                if p in m.params:
                    return self.param_type_ref(p.type_ref, m, subst)
        return p.type_ref.type if p.type_ref.type is not None else T.DontCareType()

    def bind_args(self, params: list, args: list, node) -> list:
        """Pairs (parameter, Argument or None) in parameter order, for positional or named
        arguments (P4-16 spec 6.8.1: all named or all positional)."""
        if any(a.name for a in args):
            if not all(a.name for a in args):
                raise _err("arguments must be all named or all positional", node)
            by_name = {a.name: a for a in args}
            for n in by_name:
                if not any(p.name == n for p in params):
                    raise _err(f"no parameter named '{n}'", node)
            pairs = [(p, by_name.get(p.name)) for p in params]
        else:
            if len(args) > len(params):
                raise _err(f"too many arguments: expected {len(params)}, got {len(args)}", node)
            pairs = [(p, args[i] if i < len(args) else None) for i, p in enumerate(params)]
        for p, a in pairs:
            if a is None and p.default is None and p.annotation("optional") is None:
                raise _err(f"missing argument for parameter '{p.name}'", node)
        return pairs

    def call_args(self, params, args, node, scope: Scope, subst: dict, generic: bool) -> None:
        for p, a in self.bind_args(params, args, node):
            if a is not None:
                self.one_arg(p, a, scope, subst if generic else None)

    def one_arg(self, p: ast.Parameter, a: ast.Argument, scope: Scope, subst) -> None:
        value = a.value
        pt = self.param_type(p, subst) if subst is not None else (
            p.type_ref.type if p.type_ref.type is not None else self.resolve(p.type_ref, scope))
        if value is None or isinstance(value, ast.DontCare):
            if value is not None:
                value.type = pt
            if p.direction not in ("out", "inout") and value is not None:
                raise _err(f"'_' can only be passed to an out parameter ('{p.name}')", value)
            return
        at = self.expr(value, scope, None if _contains_typevar(pt) else pt)
        if subst is not None and _contains_typevar(pt):
            self.unify(pt, at, subst, value)
            pt = self.param_type(p, subst)
        if p.direction in ("out", "inout"):
            self.require_lvalue(value)
        if not _contains_typevar(pt):
            self.coerce(value, pt)

    def unify(self, pt, at, subst: dict, node) -> None:
        if isinstance(pt, T.TypeVariable):
            bound = subst.get(pt.name)
            if bound is None or isinstance(bound, (T.TypeVariable, T.IntType)):
                subst[pt.name] = at
            elif isinstance(at, T.IntType):
                self.coerce(node, bound)
            return
        if isinstance(pt, T.TupleType) and isinstance(at, T.TupleType):
            for x, y in zip(pt.elements, at.elements):
                self.unify(x, y, subst, node)

    # -----------------------------------------------------------------------------------------
    # Implicit conversions

    def coerce(self, e, target, in_keyset: bool = False) -> None:
        """Check that `e` (already typed) may be used where `target` is expected, converting
        `int` constants to the target's width (spec 8.9.1); raises a type error otherwise."""
        src = e.type
        if target is None or src is None or src == target:
            return
        if isinstance(target, (T.DontCareType, T.TypeVariable)) or isinstance(
                src, T.DontCareType):
            return
        tb = T.base_type(target)
        if isinstance(src, T.IntType):
            if isinstance(tb, (T.BitsType, T.IntType)) and (
                    in_keyset or not isinstance(target, T.EnumType)):
                # An int for a serializable enum (p4c accepts it in keysets only) takes the
                # enum's representation type.
                self.retype_int(e, tb if isinstance(target, T.EnumType) else target)
                return
            raise _err(f"cannot use an integer where {target} is expected", e)
        if isinstance(src, T.SetType) and src.element == target:
            return
        if isinstance(target, T.IntType) and _is_bits(T.base_type(src)):
            return  # a fixed-width value where an `int` is expected: p4c converts constants
        if isinstance(src, T.DontCareType) or (isinstance(e, ast.InvalidHeader) and isinstance(
                target, (T.HeaderType, T.HeaderUnionType))):
            e.type = target
            return
        if T.base_type(src) == tb and isinstance(tb, (T.BitsType, T.BoolType)) and (
                not isinstance(target, T.EnumType) or in_keyset):
            return  # a serializable enum or `type` where its representation is expected
        if type(src) is type(target) and isinstance(src, (T.ParserType, T.ControlType,
                                                          T.PackageType, T.ExternType)):
            return  # a parser/control/package argument for a generic prototype parameter
        if isinstance(e, ast.ListExpression) and isinstance(target, T.ListType):
            for el in e.elements:
                self.coerce(el, target.element)
            e.type = target
            return
        if isinstance(src, T.TupleType) and isinstance(target, (T.StructLike, T.TupleType)):
            if isinstance(e, ast.ListExpression):
                # Retype the list against the target (spec 8.13: list to struct/header).
                self._retype_list(e, target)
                return
        if isinstance(src, T.StructType) and isinstance(target, T.StructLike) and \
                isinstance(e, ast.StructExpression) and e.type_ref is None:
            for n, v in e.fields:
                f = target.field(n)
                if f is None:
                    raise _err(f"{target} has no field '{n}'", v)
                self.coerce(v, f.type)
            e.type = target
            return
        if isinstance(src, T.StructLike) and isinstance(target, T.StructLike) and \
                src.name == target.name:
            return
        raise _err(f"type mismatch: expected {target}, got {src}", e)

    def _retype_list(self, e: ast.ListExpression, target) -> None:
        elems = target.elements if isinstance(target, T.TupleType) else [
            f.type for f in target.fields]
        if len(elems) != len(e.elements):
            raise _err(f"{target} has {len(elems)} components but the initializer has "
                       f"{len(e.elements)}", e)
        for el, et in zip(e.elements, elems):
            self.coerce(el, et)
        e.type = target

    def retype_int(self, e, target) -> None:
        """Give an `int`-typed constant expression the fixed type `target`, down its tree."""
        e.type = target
        if isinstance(e, ast.Binary) and e.op in ARITH_OPS + BIT_OPS:
            for side in (e.left, e.right):
                if isinstance(side.type, T.IntType):
                    self.retype_int(side, target)
        elif isinstance(e, ast.Binary) and e.op in ("<<", ">>"):
            if isinstance(e.left.type, T.IntType):
                self.retype_int(e.left, target)
        elif isinstance(e, ast.Unary) and e.op in ("-", "+", "~"):
            self.retype_int(e.operand, target)
        elif isinstance(e, ast.Mux):
            for side in (e.then, e.else_):
                if isinstance(side.type, T.IntType):
                    self.retype_int(side, target)
