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
  constant typed expression (consteval.evaluate).
* `typed.main`: the top-level `main` Instantiation; `typed.blocks`: the package's arguments in
  parameter order, as `Block`s (package parameter name, the ParserDeclaration/ControlDeclaration
  it instantiates, its constructor arguments). `typed.block(name)` finds one by parameter name
  (v1model: p, vr, ig, eg, ck, dep).
* `typed.type_of(node)`: the P4Type of a TypeRef, an expression, or a declaration
  (parameters, variables, constants, struct fields, instances, tables, actions).
* Names for the control plane (and BMv2 JSON): p4info/naming.py (`BlockPath(top, path).name(decl)`).
* Table properties are checked: key expressions typed, match kinds known, action references
  (ActionRef.name is a typed Name whose decl is the ActionDeclaration), bound action arguments
  typed against the action's parameters, entries' keysets typed against the keys. `size` may
  depend on constructor parameters, so it is evaluated per instance (p4info/collect.py).
* Special types: a method callee (`Member`/`Name`) gets `FunctionType(params, return)` with the
  generic parameters bound; `t.apply()` is a StructType "<t>.apply_result" with `hit`, `miss`
  and `action_run` (ActionEnumType); keysets `a &&& m`, `lo .. hi` and value sets are SetType;
  a match kind used as a value (`exact`) is a Name with decl None and type MatchKindType.
* A serializable enum may stand where its bit type is expected (p4c casts it implicitly); the
  node keeps the EnumType, so consumers compare with `types.base_type`.

Errors are CompileError(kind="type") at the offending node, following p4c's front-end rules
where p4c is stricter than the spec (tests/compiler/errors/type_*.p4 show each message).
Checking goes on after an error, as p4c's does: each top-level declaration, each local of a
parser or control, each statement and each parser transition is checked on its own; one that
fails is logged, and a declaration that failed is marked so that what uses it is skipped
rather than reported again. All errors (up to `max_errors`) are raised together at the end
(errors.CompileErrors; a single error is raised as itself).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from p4nic.compiler import ast, types as T
from p4nic.compiler.annocheck import check_annotations
from p4nic.compiler.consteval import NotConstant, evaluate
from p4nic.compiler.errors import DEFAULT_MAX_ERRORS, CompileError, CompileErrors, ErrorLog
from p4nic.compiler.exprcheck import (MAX_WIDTH, TYPE_DECLARATIONS, ExpressionChecker,
                                      contains_typevar, decl_type, is_bits, member_names,
                                      type_error)
from p4nic.compiler.scopes import Scope, TypeParameter

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

    @staticmethod
    def type_of(node) -> Optional[T.P4Type]:
        """The P4Type of a TypeRef, an expression, or a declaration (Parameter,
        VariableDeclaration, ConstantDeclaration, StructField, Instantiation, table, action)."""
        if isinstance(node, (ast.TypeRef, ast.Expression)):
            return node.type
        return decl_type(node)


def typecheck(program: ast.Program, max_errors: int = DEFAULT_MAX_ERRORS) -> TypedProgram:
    """Resolve and type `program` in place; CompileError (kind 'type'), or CompileErrors when
    there are several, if it has errors."""
    return TypeChecker(program, max_errors).run()


class _Skipped(Exception):
    """A check reached a declaration whose own check failed: that error is logged already,
    so what uses the declaration is left unchecked instead of reported as a second fault."""


def _check_select_key(t, node) -> None:
    """p4c accepts bit, int, bool, enum and error values (and tuples of them) in select."""
    if isinstance(t, T.TupleType):
        for element in t.elements:
            _check_select_key(element, node)
        return
    if not isinstance(T.base_type(t), (T.BitsType, T.BoolType, T.EnumType, T.ErrorType,
                                       T.TypeVariable)):
        raise type_error(f"a value of type {t} cannot be used in select", node)


def _always_returns(st) -> bool:
    """Does every path through `st` end in `return` (or `exit`)?"""
    if isinstance(st, (ast.ReturnStatement, ast.ExitStatement)):
        return True
    if isinstance(st, ast.BlockStatement):
        return any(_always_returns(s) for s in st.statements)
    if isinstance(st, ast.IfStatement):
        return st.else_ is not None and _always_returns(st.then) and _always_returns(st.else_)
    if isinstance(st, ast.SwitchStatement):
        has_default = any(isinstance(c.label, ast.DefaultExpression) for c in st.cases)
        return has_default and all(c.body is None or _always_returns(c.body) for c in st.cases)
    return False


@dataclass
class _Frame:
    """Where checking is: the enclosing action/function (for `return`) and parser/control."""
    return_type: object = None
    in_action: bool = False
    container: object = None
    function: object = None     # the function whose body this is (not callable from it)


class TypeChecker(ExpressionChecker):
    """Declarations, statements and type resolution; expressions in exprcheck.py."""

    def __init__(self, program: ast.Program, max_errors: int = DEFAULT_MAX_ERRORS):
        self.program = program
        self.log = ErrorLog(max_errors)
        self.failed: set = set()  # declarations whose check failed
        self.globals = Scope()
        self.top_level = set(program.declarations)
        self.errors: list = []
        self.match_kinds: list = []
        self.constants: dict = {}
        self.type_cache: dict = {}
        self.subst_stack: list = [{}]
        self.frame = _Frame()
        self.switch_expr = None  # the expression of the switch being checked (action_run)
        self.size_query = None  # the receiver of the minSizeInBits() etc. being checked
        self.loop_depth = 0
        self.initializing = []  # types of the instances whose abstract methods are being checked
        self.declaring: set = set()  # struct/header/union declarations being resolved

    # -----------------------------------------------------------------------------------------
    # Top level

    def run(self) -> TypedProgram:
        for d in self.program.declarations:
            if isinstance(d, ast.ErrorDeclaration):
                for m in member_names(d.members):
                    if m in self.errors:
                        self.log.add(type_error(f"error member '{m}' is declared twice", d))
                    else:
                        self.errors.append(m)
            elif isinstance(d, ast.MatchKindDeclaration):
                for m in member_names(d.members):
                    if m in self.match_kinds:
                        self.log.add(type_error(f"match_kind member '{m}' is declared twice", d))
                    else:
                        self.match_kinds.append(m)
            else:
                if self.guarded(self.check_redeclaration, d, failed=d):
                    self.guarded(self.globals.declare, d.name, d, d.loc, failed=d)
        main = None
        for d in self.program.declarations:
            if d not in self.failed:
                self.guarded(self.check_declaration, d, self.globals, failed=d)
            if isinstance(d, ast.Instantiation) and d.name == "main":
                main = d
        check_annotations(self, self.program)
        blocks = []
        if main is not None and main not in self.failed:
            self.guarded(lambda: blocks.extend(self.package_blocks(main)))
        self.log.check()
        return TypedProgram(self.program, self.errors, self.match_kinds, self.constants, main,
                            blocks)

    def check_redeclaration(self, d) -> None:
        """p4c's symbol table: a top-level name may be declared again (overloads) only as
        the same kind of thing, type or value; `main` is the package instance."""
        is_type = isinstance(d, TYPE_DECLARATIONS)
        if d.name == "main" and is_type:
            raise type_error("'main' must be a package instance", d)
        for other in self.globals.lookup_all(d.name):
            if isinstance(other, TYPE_DECLARATIONS) != is_type:
                raise type_error(f"'{d.name}' is declared again as a different kind of thing "
                                 f"(first at {other.loc})", d)

    def guarded(self, check, *args, failed=None) -> bool:
        """Run one independent check. Its CompileError is logged (and `failed`, the declaration
        checked, marked as failed) and checking goes on; False if it failed. An unexpected
        exception after an error was logged is taken as that error's consequence."""
        try:
            check(*args)
            return True
        except CompileErrors as e:
            if e.limit_reached:
                raise
            self.log.add(e)
        except CompileError as e:
            self.log.add(e)
        except _Skipped:
            pass
        except Exception:
            if not self.log.errors:
                raise
        if failed is not None:
            self.failed.add(failed)
        return False

    def usable(self, decl):
        """`decl`, unless its check failed (then what uses it is skipped)."""
        if decl in self.failed:
            raise _Skipped()
        return decl

    def package_blocks(self, main: ast.Instantiation) -> list:
        package = main.type_ref.decl
        if not isinstance(package, ast.PackageTypeDeclaration):
            raise type_error("'main' must be an instance of a package", main)
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
            self.declared_type(d, scope)   # a generic one with its type variables
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
            et = self.resolve(d.element_type, scope)
            if not isinstance(T.base_type(et), (T.BitsType, T.StructType, T.TupleType,
                                                T.EnumType)):
                raise type_error(f"value_set elements cannot have type {et}", d.element_type)
            self.const_int(d.size, scope)
        else:
            raise type_error(f"unsupported declaration {type(d).__name__}", d)

    def generic_scope(self, type_params, parent: Scope, where=None) -> Scope:
        """A scope declaring `type_params`; `where` (the generic declaration) locates errors."""
        scope = Scope(parent)
        for tp in type_params:
            name = tp if isinstance(tp, str) else getattr(tp, "name", str(tp))
            if name in scope.names:
                raise type_error(f"duplicate type parameter '{name}'", where or tp)
            scope.declare(name, TypeParameter(name, getattr(tp, "loc", None)))
        return scope

    def check_prototype_types(self, d, scope: Scope) -> None:
        """Resolve parameter types of extern/parser/control/package prototypes (generic ones
        with their type variables unbound), so that errors in them surface here."""
        inner = self.generic_scope(d.type_params, scope, d)
        if isinstance(d, ast.ExternDeclaration):
            self.check_extern_methods(d)
            for m in d.methods:
                mscope = self.generic_scope(m.type_params, inner, m)
                self.resolve_params(m.params, mscope)
                for p in m.params:
                    if getattr(p.type_ref.type, "decl", None) is d:
                        raise type_error(f"self-referencing types are not supported: "
                                         f"'{d.name}' within '{d.name}'", p.type_ref)
                if m.return_type is not None:
                    if isinstance(self.resolve(m.return_type, mscope), T.IntType):
                        raise type_error("int: illegal return type for a method",
                                         m.return_type)
            return
        self.resolve_params(d.params, inner)
        if isinstance(d, ast.ExternFunctionDeclaration):
            self.resolve(d.return_type, inner)

    @staticmethod
    def check_extern_methods(d: ast.ExternDeclaration) -> None:
        """Constructors have no return type; two methods with the same name need different
        parameter lists (p4c frontend.cpp CheckDuplicateMethods)."""
        seen = {}
        for m in d.methods:
            if m.name == d.name and m.return_type is not None:
                raise type_error(f"{d.name}: invalid constructor; it cannot have a return type", m)
            signature = (m.name, tuple(p.name for p in m.params))
            if signature in seen:
                raise type_error(f"duplicate declaration of {m.name} (previous at "
                                 f"{seen[signature].loc})", m)
            seen[signature] = m

    @staticmethod
    def check_param_direction(p: ast.Parameter, t) -> None:
        if p.direction is not None and isinstance(t, (T.IntType, T.StringType)):
            raise type_error(f"parameter '{p.name}' of type {t} must be directionless", p)
        if p.direction is not None and isinstance(t, T.ExternType):
            raise type_error(f"'{p.name}': a parameter with type {t} cannot have a direction", p)
        if isinstance(t, (T.ControlType, T.ParserType)) and isinstance(
                t.decl, (ast.ControlDeclaration, ast.ParserDeclaration)):
            kind = "control" if isinstance(t, T.ControlType) else "parser"
            raise type_error(f"'{p.name}': a parameter cannot have the type of {kind} "
                             f"{t.decl.name}; use a {kind} type declaration", p)
        if p.direction == "out" and p.default is not None:
            raise type_error(f"out parameter '{p.name}' cannot have a default value", p)

    def resolve_params(self, params, scope: Scope) -> None:
        names = [p.name for p in params]
        for p in params:
            if names.count(p.name) > 1:
                raise type_error(f"duplicate parameter '{p.name}'", p)
            self.check_param_direction(p, self.resolve(p.type_ref, scope))
            if p.default is not None:
                self.default_value(p, scope)

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
                raise type_error(f"{w}: this implementation does not support bitstrings this large",
                                 ref.width)
            if w < (1 if ref.signed else 0) or (w == 0 and ref.signed):
                raise type_error(f"invalid width {w} for {'int' if ref.signed else 'bit'}<>", ref)
            return T.BitsType(w, ref.signed)
        if isinstance(ref, ast.VarbitTypeRef):
            w = self.const_int(ref.max_width, scope)
            if not 0 <= w <= MAX_WIDTH:
                raise type_error(f"invalid varbit size {w}", ref.max_width)
            return T.VarbitType(w)
        if isinstance(ref, ast.StackTypeRef):
            elem = self.resolve(ref.element, scope)
            size = self.const_int(ref.size, scope)
            if size < 0:
                raise type_error(f"header stack size must be non-negative, not {size}", ref)
            return T.StackType(elem, size)
        if isinstance(ref, ast.TupleTypeRef):
            elements = tuple(self.resolve(e, scope) for e in ref.elements)
            for e, t in zip(ref.elements, elements):
                if isinstance(t, (T.DontCareType, T.VoidType, T.ParserType, T.ControlType,
                                  T.PackageType, T.ExternType)):
                    raise type_error(f"{t}: not supported as a tuple field", e)
            return T.TupleType(elements)
        if isinstance(ref, ast.ListTypeRef):
            return T.ListType(self.resolve(ref.element, scope))
        if isinstance(ref, ast.NamedTypeRef):
            return self.resolve_named(ref, scope)
        raise type_error(f"unsupported type {type(ref).__name__}", ref)

    def lookup_type_decl(self, name: str, global_scope: bool, scope: Scope, node):
        decl = (scope.root() if global_scope else scope).lookup(name)
        if decl is None:
            raise type_error(f"unknown type '{name}'", node)
        return decl

    def resolve_named(self, ref: ast.NamedTypeRef, scope: Scope) -> T.P4Type:
        decl = self.usable(self.lookup_type_decl(ref.name, ref.global_scope, scope, ref))
        ref.decl = decl
        args = tuple(self.resolve(a, scope) for a in ref.type_args)
        if isinstance(decl, (ast.StructDeclaration, ast.HeaderTypeDeclaration,
                             ast.HeaderUnionDeclaration)) and decl.type_params and not args:
            raise type_error(f"{ref.name}: no type arguments supplied for generic type", ref)
        if any(_mentions(a, decl) for a in args):
            raise type_error(f"{ref.name}: contains itself as a type argument", ref)
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
            return self.declared_type(decl, self.home_scope(decl, scope), args, ref)
        raise type_error(f"'{ref.name}' is not a type", ref)

    def home_scope(self, decl, scope: Scope) -> Scope:
        """The scope a type declaration's own names resolve in: the globals for top-level
        declarations (wherever they are used from), else the current one."""
        return self.globals if decl in self.top_level else scope

    def declared_type(self, decl, scope: Scope, args: tuple = (), use=None) -> T.P4Type:
        """The P4Type of a type declaration, specialised with `args` (checked against the
        declaration's type parameters; errors point at `use`, the reference)."""
        if decl in self.declaring:
            raise type_error(f"self-referencing types are not supported: '{decl.name}' within "
                             f"'{decl.name}'", use or decl)
        key = (decl, args)
        if key in self.type_cache:
            return self.type_cache[key]
        tparams = [tp if isinstance(tp, str) else tp.name
                   for tp in getattr(decl, "type_params", [])]
        if args and len(args) != len(tparams):
            raise type_error(f"'{decl.name}' expects {len(tparams)} type argument"
                             f"{'' if len(tparams) == 1 else 's'}, got {len(args)}", use or decl)
        name = decl.name
        if args:
            name += "<" + ", ".join(map(str, args)) + ">"
        if isinstance(decl, ast.ExternDeclaration):
            t = T.ExternType(decl.name, decl, args)
        elif isinstance(decl, (ast.ParserDeclaration, ast.ParserTypeDeclaration)):
            t = T.ParserType(name, decl, args)
        elif isinstance(decl, (ast.ControlDeclaration, ast.ControlTypeDeclaration)):
            t = T.ControlType(name, decl, args)
        elif isinstance(decl, ast.PackageTypeDeclaration):
            t = T.PackageType(name, decl, args)
        elif isinstance(decl, ast.TypedefDeclaration):
            underlying = self.resolve(decl.type_ref, scope)
            if decl.new_type and not isinstance(underlying, (T.BitsType, T.BoolType, T.NewType)):
                raise type_error(f"'type' applies to bit<W>, int<W>, bool and other 'type's, "
                                 f"not {underlying}", decl.type_ref)
            t = T.NewType(decl.name, decl, underlying) if decl.new_type else underlying
        elif isinstance(decl, ast.EnumDeclaration):
            t = self.enum_type(decl, scope)
        else:
            cls = {ast.HeaderTypeDeclaration: T.HeaderType, ast.StructDeclaration: T.StructType,
                   ast.HeaderUnionDeclaration: T.HeaderUnionType}[type(decl)]
            self.subst_stack.append(dict(zip(tparams, args)))
            self.declaring.add(decl)
            try:
                fields = self.declared_fields(cls, decl, tparams, scope)
            finally:
                self.subst_stack.pop()
                self.declaring.discard(decl)
            t = cls(name, decl, tuple(fields))
        self.type_cache[key] = t
        return t

    def declared_fields(self, cls, decl, tparams, scope: Scope) -> list:
        """The resolved fields of a struct, header or union declaration."""
        fscope = self.generic_scope(decl.type_params, scope, decl) if tparams else scope
        fields = []
        seen = set()
        for f in decl.fields:
            if f.name in seen:
                raise type_error(f"duplicate field '{f.name}' in {decl.name}", f)
            seen.add(f.name)
            ft = self.resolve(f.type_ref, fscope)
            self.check_field_type(cls, decl, f, ft)
            fields.append(T.Field(f.name, ft))
        return fields

    def check_field_type(self, cls, decl, f, ft) -> None:
        """P4-16 spec 7.2.2/7.2.4: header fields are bit/int/varbit/serializable enums/bool;
        union fields are headers."""
        if cls is T.HeaderType:
            b = T.base_type(ft)
            if not isinstance(b, (T.BitsType, T.VarbitType, T.BoolType, T.TypeVariable,
                                  T.StructType, T.StackType)) or (
                    isinstance(b, T.StructType) and not _flat_struct(b)):
                raise type_error(f"field '{f.name}' of header {decl.name} cannot have type {ft}", f)
        elif cls is T.HeaderUnionType and not isinstance(ft, (T.HeaderType, T.TypeVariable)):
            raise type_error(f"field '{f.name}' of header union {decl.name} must be a header, "
                             f"not {ft}", f)
        if isinstance(ft, (T.StringType, T.IntType, T.ParserType, T.ControlType, T.ExternType,
                           T.PackageType)):
            raise type_error(f"field '{f.name}' of {decl.name} cannot have type {ft}", f)

    def enum_type(self, decl: ast.EnumDeclaration, scope: Scope) -> T.EnumType:
        names = member_names(decl.members)
        if len(set(names)) != len(names):
            raise type_error(f"duplicate member in enum {decl.name}", decl)
        if decl.underlying is None:
            return T.EnumType(decl.name, decl, tuple(names))
        declared = self.resolve(decl.underlying, scope)
        underlying = T.base_type(declared)
        if not is_bits(underlying) or isinstance(declared, T.NewType):
            raise type_error(f"underlying type of enum {decl.name} must be bit<W> or int<W>, "
                             f"not {underlying}", decl.underlying)
        values = []
        # a member's value may name earlier members (issue3616.p4: `d = a`), seen as constants
        # of the underlying type, as p4c's front end accepts
        members = Scope(scope)
        for m in decl.members:
            value_expr = m[1] if isinstance(m, tuple) else getattr(m, "value", None)
            if value_expr is None:
                raise type_error(f"member of serializable enum {decl.name} needs a value", decl)
            self.expr(value_expr, members, underlying)
            self.coerce(value_expr, underlying)
            values.append(self.const_of(value_expr))
            earlier = ast.ConstantDeclaration(names[len(values) - 1], decl.underlying, value_expr,
                                              loc=value_expr.loc)
            self.constants[earlier] = values[-1]
            members.declare(earlier.name, earlier, earlier.loc)
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
            raise type_error("expression is not a compile-time constant", nc.expr or e) from None

    def const_int(self, e, scope: Scope) -> int:
        self.expr(e, scope)
        v = self.const_of(e)
        if isinstance(v, bool) or not isinstance(v, int):
            raise type_error("expected an integer constant", e)
        return v

    def check_constant(self, d: ast.ConstantDeclaration, scope: Scope) -> None:
        t = self.resolve(d.type_ref, scope)
        self.expr(d.value, scope, t)
        self.coerce(d.value, t)
        try:
            self.constants[d] = evaluate(d.value, self.constants)
        except NotConstant as nc:
            raise type_error(f"initializer of constant '{d.name}' is not a compile-time constant",
                             nc.expr or d.value) from None

    def check_variable(self, d: ast.VariableDeclaration, scope: Scope) -> None:
        t = self.resolve(d.type_ref, scope)
        if isinstance(t, T.IntType):
            raise type_error(f"cannot declare variable '{d.name}' with type int; use bit<W> or "
                             f"int<W>", d)
        if isinstance(t, (T.ParserType, T.ControlType, T.ExternType, T.PackageType)):
            raise type_error(f"cannot declare a variable of type {t}; instantiate it instead", d)
        if d.init is not None:
            self.expr(d.init, scope, t)
            self.coerce(d.init, t)

    # -----------------------------------------------------------------------------------------
    # Parsers, controls, actions, functions

    def check_params(self, params, scope: Scope) -> None:
        seen = set()
        for p in params:
            if p.name in seen:
                raise type_error(f"duplicate parameter '{p.name}'", p)
            seen.add(p.name)
            self.check_param_direction(p, self.resolve(p.type_ref, scope))
            if p.default is not None:
                self.default_value(p, scope)
        for p in params:
            scope.declare(p.name, p, p.loc)

    def default_value(self, p: ast.Parameter, scope: Scope) -> None:
        self.expr(p.default, scope, p.type_ref.type)
        self.coerce(p.default, p.type_ref.type)
        instance = isinstance(p.default.type, (T.ParserType, T.ControlType, T.ExternType,
                                               T.PackageType))
        if not instance and not isinstance(p.default, ast.Dots) and \
                not self._is_const(p.default):
            raise type_error(f"the default value of parameter '{p.name}' must be a compile-time "
                             f"constant", p.default)

    def check_action(self, d: ast.ActionDeclaration, scope: Scope) -> None:
        inner = Scope(scope)
        self.check_params(d.params, inner)
        directionless = False
        for p in d.params:
            if isinstance(p.type_ref.type, (T.ExternType, T.ParserType, T.ControlType)):
                raise type_error(f"action parameter '{p.name}' cannot have type "
                                 f"{p.type_ref.type}", p)
            if p.direction is None:
                directionless = True
                if isinstance(p.type_ref.type, T.IntType):
                    raise type_error(f"action parameter '{p.name}' cannot have type int", p)
            elif directionless:
                raise type_error(f"parameter '{p.name}' has a direction but follows directionless "
                                 f"ones: directionless action parameters come last", p)
        saved, self.frame = self.frame, _Frame(T.VoidType(), True, self.frame.container)
        try:
            self.block(d.body, Scope(inner))  # locals may shadow parameters (p4c warns)
        finally:
            self.frame = saved

    def check_function(self, d: ast.FunctionDeclaration, scope: Scope) -> None:
        inner = self.generic_scope(d.type_params, scope, d)
        rt = self.resolve(d.return_type, inner)
        self.check_params(d.params, inner)
        saved, self.frame = self.frame, _Frame(rt, False, self.frame.container, d)
        try:
            self.block(d.body, Scope(inner))
        finally:
            self.frame = saved
        if not isinstance(rt, T.VoidType) and not _always_returns(d.body):
            raise type_error(f"function '{d.name}' does not return a value on all paths", d)

    def check_parser(self, d: ast.ParserDeclaration, scope: Scope) -> None:
        inner = self.generic_scope(d.type_params, scope, d)
        self.check_params(d.params + d.ctor_params, inner)
        inner = Scope(inner)
        for builtin in ("accept", "reject"):
            inner.declare(builtin, ast.ParserState(builtin, [], None, loc=d.loc))
        saved, self.frame = self.frame, _Frame(None, False, d)
        try:
            for local in d.locals:
                self.guarded(self.local_declaration, local, inner, failed=local)
            for s in d.states:
                if s.name in ("accept", "reject"):
                    raise type_error(f"state '{s.name}' is built in and cannot be redefined", s)
                inner.declare(s.name, s, s.loc)
            if not any(s.name == "start" for s in d.states):
                raise type_error(f"parser '{d.name}' has no 'start' state", d)
            transitions_checked = True
            for s in d.states:
                sscope = Scope(inner)
                for st in s.statements:
                    self.guarded(self.statement, st, sscope, failed=st)
                transitions_checked &= self.guarded(self.transition, s, sscope)
            if transitions_checked:
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
        raise type_error(f"parser '{d.name}' never reaches accept or reject", d)

    def transition(self, s: ast.ParserState, scope: Scope) -> None:
        tr = s.transition
        if tr is None:
            raise type_error(f"state '{s.name}' has no transition", s)
        if isinstance(tr, ast.Name):
            self.state_target(tr, tr.name, scope)
            return
        if not isinstance(tr, ast.SelectExpression):
            raise type_error("a transition must name a state or be a select expression", tr)
        key_types = []
        for e in tr.exprs:
            t = self.expr(e, scope)
            if isinstance(t, T.IntType):
                raise type_error("select key needs a width; cast the integer", e)
            _check_select_key(t, e)
            key_types.append(t)
        tr.type = T.TupleType(tuple(key_types)) if len(key_types) != 1 else key_types[0]
        for case in tr.cases:
            self.keyset(case.keyset, key_types, scope)
            self.state_target(case, case.state, scope)

    def state_target(self, node, name: str, scope: Scope) -> None:
        decl = scope.lookup(name)
        if not isinstance(decl, ast.ParserState):
            raise type_error(f"unknown parser state '{name}'", node)
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
                raise type_error(f"keyset has {len(ks.elements)} components but the key has 1", ks)
            for el, part in zip(ks.elements, parts):
                self.keyset(el, [part], scope)
            ks.type = kt
            return
        if len(key_types) != 1:
            if isinstance(ks, ast.Name):
                t = self.expr(ks, scope)
                if isinstance(t, T.SetType):
                    return
            count = len(ks.elements) if isinstance(ks, ast.ListExpression) else 1
            raise type_error(f"keyset has {count} components but the key has {len(key_types)}",
                             ks)
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
        inner = self.generic_scope(d.type_params, scope, d)
        self.check_params(d.params + d.ctor_params, inner)
        inner = Scope(inner)
        saved, self.frame = self.frame, _Frame(None, False, d)
        try:
            for local in d.locals:
                self.guarded(self.local_declaration, local, inner, failed=local)
            self.block(d.body, Scope(inner))
        finally:
            self.frame = saved

    def local_declaration(self, d, scope: Scope) -> None:
        if isinstance(d, ast.Declaration):
            try:
                self.check_declaration(d, scope)
            finally:   # declared even when its check fails: its uses are then skipped
                scope.declare(d.name, d, d.loc)
        else:
            self.statement(d, scope)

    def check_instantiation(self, d: ast.Instantiation, scope: Scope) -> None:
        t = self.resolve(d.type_ref, scope)
        t = self.pick_constructor_overload(d.type_ref, d.args, scope) or t
        decl = getattr(t, "decl", None) or getattr(d.type_ref, "decl", None)  # via typedefs
        container = self.frame.container
        if decl is not None and decl is container:
            raise type_error(f"self-referencing types are not supported: '{decl.name}' within "
                             f"'{decl.name}'", d.type_ref)
        if container is None and isinstance(decl, (ast.ParserDeclaration,
                                                   ast.ControlDeclaration)):
            raise type_error(f"'{d.name}': a parser or control cannot be instantiated at top "
                             f"level", d)
        if d.has_initializer and not isinstance(decl, ast.ExternDeclaration):
            raise type_error("initializers are only allowed for extern instances", d)
        if isinstance(container, ast.ControlDeclaration) and isinstance(
                decl, ast.ParserDeclaration) or isinstance(
                container, ast.ParserDeclaration) and isinstance(decl, ast.ControlDeclaration):
            what = "parser" if isinstance(decl, ast.ParserDeclaration) else "control"
            where = "control" if isinstance(container, ast.ControlDeclaration) else "parser"
            raise type_error(f"a {what} cannot be instantiated in a {where}", d)
        t = self.constructor_args(decl, t, d.args, d, scope) or t
        if d.initializer or any(getattr(m, "abstract", False)
                                for m in getattr(decl, "methods", ())):
            self.check_initializer(d, decl, t, scope)

    def check_initializer(self, d: ast.Instantiation, decl, t, scope: Scope) -> None:
        """`E(...) e = { ... }`: the block implements exactly the extern's abstract methods."""
        if not isinstance(decl, ast.ExternDeclaration):
            raise type_error("only extern instances take an initializer block", d)
        abstract = {m.name for m in decl.methods if m.abstract}
        optional = {m.name for m in decl.methods if m.abstract and m.annotation("optional")}
        given = {m.name: m for m in d.initializer if isinstance(m, ast.FunctionDeclaration)}
        for name, m in given.items():
            if name not in abstract:
                raise type_error(f"'{name}' is not an abstract method of {decl.name}", m)
            self.check_implementation(m, next(x for x in decl.methods if x.name == name), t,
                                      scope)
        missing = sorted(abstract - optional - set(given))
        if missing:
            raise type_error(f"instance '{d.name}' does not implement abstract method "
                             f"'{missing[0]}' of {decl.name}", d)
        self.initializing.append(t)
        block = Scope(scope)  # the block's own instances and methods see each other (virtual2.p4)
        try:
            for member in d.initializer:
                self.local_declaration(member, block)
        finally:
            self.initializing.pop()

    def check_implementation(self, impl, abstract, t, scope: Scope) -> None:
        """An abstract method's implementation has its prototype: parameters (count,
        directions, types) and return type, with the instance's type arguments."""
        for p in impl.params:
            self.resolve(p.type_ref, scope)
        self.resolve(impl.return_type, scope)
        subst = dict(zip([tp if isinstance(tp, str) else tp.name
                          for tp in abstract_extern(self.program, abstract).type_params],
                         getattr(t, "type_args", ())))
        mismatch = None
        names = {p.name for p in impl.params}
        wanted = [p for p in abstract.params   # @optional ones may be left out
                  if p.annotation("optional") is None or p.name in names]
        if len(impl.params) != len(wanted):
            mismatch = f"{len(impl.params)} parameters instead of {len(wanted)}"
        for mine, theirs in zip(impl.params, wanted):
            if mismatch:
                break
            expected = self.param_type(theirs, subst)
            if mine.direction != theirs.direction:
                mismatch = (f"parameter '{mine.name}' is {mine.direction or 'directionless'}, "
                            f"not {theirs.direction or 'directionless'}")
            elif not contains_typevar(expected) and mine.type_ref.type != expected:
                mismatch = (f"parameter '{mine.name}' has type {mine.type_ref.type}, not "
                            f"{expected}")
        if mismatch is None and abstract.return_type is not None:
            expected = self.param_type_ref(abstract.return_type, abstract, subst)
            if not contains_typevar(expected) and impl.return_type.type != expected:
                mismatch = f"it returns {impl.return_type.type}, not {expected}"
        if mismatch:
            raise type_error(f"'{impl.name}' does not implement the abstract method's "
                             f"prototype: {mismatch}", impl)

    def pick_constructor_overload(self, ref, args: list, scope: Scope) -> Optional[T.P4Type]:
        """Parsers and controls overloaded by constructor parameters: rebind `ref` to the one
        taking `args` (resolve_named takes the first declaration) and return its type."""
        if not isinstance(ref, ast.NamedTypeRef):
            return None
        decls = (scope.root() if ref.global_scope else scope).lookup_all(ref.name)
        blocks = [d for d in decls if isinstance(d, (ast.ParserDeclaration,
                                                     ast.ControlDeclaration))]
        if len(blocks) > 1:
            chosen = self.pick_overload(blocks, args, ref, f"'{ref.name}'", "ctor_params")
            ref.decl = chosen
            ref.type = self.declared_type(chosen, scope)
            return ref.type
        return None

    def constructor_args(self, decl, t, args, node, scope: Scope) -> Optional[T.P4Type]:
        """Check `T(args)`: an extern's constructor (overloaded by arity), a parser's or
        control's constructor parameters, or a package's parameters. For a generic extern
        written without type arguments, returns its type with the inferred ones."""
        if isinstance(decl, ast.ExternDeclaration):
            ctors = [m for m in decl.methods if m.return_type is None and m.name == decl.name]
            ctor = self.pick_overload(ctors, args, node, f"constructor of {decl.name}")
            tparams = [tp if isinstance(tp, str) else tp.name for tp in decl.type_params]
            subst = dict(zip(tparams, t.type_args))
            self.call_args(ctor.params, args, node, scope, subst, generic=True)
            for tp in tparams:   # type arguments left to inference must get a sized type
                bound = subst.get(tp)
                if bound is None:
                    raise type_error(f"could not infer a type for type parameter {tp} of "
                                     f"{decl.name}", node)
                self.check_sized(bound, args, node)
            if tparams and not t.type_args:   # the type the arguments gave it
                return T.ExternType(t.name, decl, tuple(subst[tp] for tp in tparams))
            return None
        if isinstance(decl, (ast.ParserDeclaration, ast.ControlDeclaration)):
            self.call_args(decl.ctor_params, args, node, scope, {}, generic=False)
            return
        if isinstance(decl, ast.PackageTypeDeclaration):
            tparams = [tp if isinstance(tp, str) else tp.name for tp in decl.type_params]
            subst = dict(zip(tparams, getattr(t, "type_args", ()) or ()))
            self.call_args(decl.params, args, node, scope, subst, generic=True)
            return
        raise type_error(f"'{getattr(decl, 'name', decl)}' cannot be instantiated", node)

    # -----------------------------------------------------------------------------------------
    # Tables

    def check_table(self, d: ast.TableDeclaration, scope: Scope) -> None:
        key_types = []
        actions_prop = d.prop("actions")
        if actions_prop is None:
            raise type_error(f"table '{d.name}' has no 'actions' property", d)
        names = [p.name for p in d.properties]
        if "default_action" in names and names.index("default_action") < names.index("actions"):
            raise type_error(f"table '{d.name}' has no action list yet where its default "
                             f"action is given; list the actions first",
                             d.prop("default_action"))
        action_names = []
        for ref in actions_prop.value:
            self.action_ref(ref, scope, bound_only=True)
            if ref.name.decl.name in action_names:
                raise type_error(f"action '{ref.name.decl.name}' is listed twice in table "
                                 f"'{d.name}'", ref)
            action_names.append(ref.name.decl.name)
        seen = set()
        for prop in d.properties:
            if prop.name in seen:
                raise type_error(f"table property '{prop.name}' is given twice", prop)
            seen.add(prop.name)
            if prop.name == "key":
                for k in prop.value:
                    for n in _names_in(k.expr):
                        if n.name == d.name and not n.global_scope:
                            raise type_error(f"'{n.name}': a table cannot refer to itself", n)
                    t = self.expr(k.expr, scope)
                    if isinstance(t, T.IntType):
                        raise type_error("table key needs a width; cast the integer", k.expr)
                    if k.match_kind not in self.match_kinds:
                        raise type_error(f"unknown match kind '{k.match_kind}'", k)
                    key_types.append(t)
            elif prop.name == "default_action":
                self.action_ref(prop.value, scope, bound_only=False)
                listed = [r.name.decl for r in actions_prop.value]
                if prop.value.name.decl not in listed:
                    raise type_error(f"default action '{prop.value.name.decl.name}' is not in the "
                                     f"actions list of table '{d.name}'", prop.value)
                self.check_bound_args(prop.value, actions_prop.value)
            elif prop.name in ("size", "max_group_size", "priority", "largest_priority_wins"):
                self.expr(prop.value, scope)
            elif prop.name in ("actions", "entries"):
                continue
            elif isinstance(prop.value, ast.Expression):
                self.expr(prop.value, scope)
        entries = d.prop("entries")
        if entries is not None:
            names = [p.name for p in d.properties]
            if "key" in names and names.index("key") > names.index("entries"):
                raise type_error(f"the entries of table '{d.name}' must come after its key",
                                 entries)
            listed = [r.name.decl for r in actions_prop.value]
            default_only = {r.name.decl for r in actions_prop.value
                            if r.annotation("defaultonly") is not None}
            for entry in entries.value:
                if not key_types:
                    raise type_error(f"table '{d.name}' has entries but no key", entry)
                self.keyset(entry.keys, key_types, scope)
                self.action_ref(entry.action, scope, bound_only=False)
                if entry.action.name.decl not in listed:
                    raise type_error(f"action '{entry.action.name.decl.name}' is not in the "
                                     f"actions list of table '{d.name}'", entry.action)
                if entry.action.name.decl in default_only:
                    raise type_error(f"action '{entry.action.name.decl.name}' is @defaultonly "
                                     f"and cannot be used in an entry", entry.action)
                self.check_bound_args(entry.action, actions_prop.value)
                if entry.priority is not None:
                    self.const_int(entry.priority, scope)
                self.check_entry_masks(entry, d.prop("key").value)
            self.check_entry_priorities(d, entries.value)
        if d.prop("default_action") is None:
            self.check_no_action(d, scope)

    def check_no_action(self, d: ast.TableDeclaration, scope: Scope) -> None:
        """A table without a default action gets NoAction (p4c createBuiltins.cpp), which
        must be core.p4's: an action without parameters."""
        found = scope.root().lookup_all("NoAction")
        if not found:
            raise type_error("NoAction is not declared; did you include core.p4? (table "
                             f"'{d.name}' has no default action)", d)
        if not isinstance(found[0], ast.ActionDeclaration):
            raise type_error("NoAction: expected to be an action; did you include core.p4?",
                             found[0])
        if found[0].params:
            raise type_error("NoAction: expected an action with no parameters; did you include "
                             "core.p4?", found[0])

    @staticmethod
    def check_bound_args(ref: ast.ActionRef, listed: list) -> None:
        """Arguments the action list binds (its directional ones) must be repeated as they are
        by the default action and entries."""
        for item in listed:
            if item.name.decl is not ref.name.decl:
                continue
            for bound, given in zip(item.args, ref.args):
                if not _same_argument(bound.value, given.value):
                    raise type_error("argument does not match the one bound in the actions "
                                     "list", given.value)

    def check_entry_priorities(self, table, entries: list) -> None:
        """p4c's EntryPriorities rules: only tables with ternary, range or optional keys take
        entry priorities, `const entries` none; the first entry gives one if any does, and
        the ones computed from it (priority_delta) stay within 0..2^64."""
        key = table.prop("key")
        kinds = {k.match_kind for k in key.value} if key is not None else set()
        with_priority = [e for e in entries if e.priority is not None]
        if not with_priority:
            return
        if not kinds - {"exact", "lpm"}:
            raise type_error(f"the keys of table '{table.name}' do not use priorities, but an "
                             f"entry gives one", with_priority[0].priority)
        if table.prop("entries").const:
            raise type_error(f"table '{table.name}' has const entries, which cannot have "
                             f"priorities", with_priority[0].priority)
        if entries[0].priority is None:
            raise type_error("the first entry must have a priority when others have one",
                             entries[0].keys)
        largest_wins, delta = table_priority_rules(table, self.const_of)
        if delta < 0:
            raise type_error("priority_delta must be a positive value",
                             table.prop("priority_delta").value)
        if entry_priority_values([self.const_of(e.priority) if e.priority is not None else None
                                  for e in entries], largest_wins, delta) is None:
            raise type_error(f"table '{table.name}': overflow in the priorities computed for "
                             f"its entries (priority_delta)", table)

    def check_entry_masks(self, entry, keys: list) -> None:
        """Masks in entries: an lpm key takes a prefix mask, an optional key none."""
        parts = entry.keys.elements if isinstance(entry.keys, ast.ListExpression) and len(
            keys) > 1 else [entry.keys]
        for part, key in zip(parts, keys):
            if not (isinstance(part, ast.Binary) and part.op == "&&&"):
                continue
            if key.match_kind == "optional":
                raise type_error("a mask is not allowed for an optional key", part)
            if key.match_kind == "lpm" and self._is_const(part.right):
                mask = self.const_of(part.right)
                width = T.base_type(key.expr.type).width()
                inverted = ~mask & ((1 << width) - 1)
                if inverted & (inverted + 1):
                    raise type_error(f"mask {mask:#x} of an lpm key is not a prefix", part.right)

    def action_ref(self, ref: ast.ActionRef, scope: Scope, bound_only: bool) -> None:
        """`a(args)` in a table: in `actions` the args bind a prefix of the parameters (those
        with a direction); in default_action/entries every parameter gets an argument."""
        name = ref.name
        if isinstance(name, ast.MethodCall):  # parsers may build a call node for `a(1)`
            ref.args, ref.name = list(name.args), name.callee
            name = ref.name
        decls = (scope.root() if getattr(name, "global_scope", False) else scope).lookup_all(
            getattr(name, "name", ""))
        decl = self.usable(decls[0]) if decls else None
        if not isinstance(decl, ast.ActionDeclaration):
            raise type_error(f"'{getattr(name, 'name', '?')}' is not an action", name)
        name.decl = decl
        name.type = T.ActionType(decl.name, decl)
        params = decl.params
        if bound_only:
            if len(ref.args) > len(params):
                raise type_error(f"too many arguments for action '{decl.name}'", ref)
            for p, a in zip(params, ref.args):
                self.one_arg(p, a, scope, {})
        else:
            self.call_args(params, ref.args, ref, scope, {}, generic=False)

    # -----------------------------------------------------------------------------------------
    # Statements

    def block(self, b: ast.BlockStatement, scope: Scope) -> None:
        for st in b.statements:
            self.guarded(self.statement, st, scope, failed=st)

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
            if isinstance(self.frame.container, ast.ParserDeclaration) and \
                    self.frame.return_type is None:
                raise type_error("return is not allowed in a parser state", st)
            rt = self.frame.return_type
            if st.value is not None:
                if rt is None or isinstance(rt, T.VoidType):
                    raise type_error("return with a value outside a function that returns one", st)
                self.expr(st.value, scope, rt)
                self.coerce(st.value, rt)
            elif rt is not None and not isinstance(rt, T.VoidType):
                raise type_error(f"return needs a value of type {rt}", st)
        elif isinstance(st, (ast.BreakStatement, ast.ContinueStatement)):
            if not self.loop_depth:
                word = "break" if isinstance(st, ast.BreakStatement) else "continue"
                raise type_error(f"'{word}' outside a for loop", st)
        elif isinstance(st, (ast.ExitStatement, ast.EmptyStatement)):
            pass
        elif isinstance(st, ast.ConstantDeclaration):
            try:
                self.check_constant(st, scope)
            finally:
                scope.declare(st.name, st, st.loc)
        elif isinstance(st, ast.VariableDeclaration):
            try:
                self.check_variable(st, scope)
            finally:
                scope.declare(st.name, st, st.loc)
        elif isinstance(st, ast.Instantiation):
            raise type_error(f"instance '{st.name}' must be declared with the parser's or "
                             f"control's locals, not inside a block of statements", st)
        elif isinstance(st, ast.ForStatement):
            inner = Scope(scope)
            for s in st.init:
                self.statement(s, inner)
            if st.cond is not None:
                self.condition(st.cond, inner)
            for s in st.updates:
                self.statement(s, inner)
            self.loop_body(st.body, Scope(inner))
        elif isinstance(st, ast.ForInStatement):
            inner = Scope(scope)
            ct = self.expr(st.collection, inner)
            self.check_variable(st.var, inner)
            element = getattr(ct, "element", None)
            vt = st.var.type_ref.type
            if element is not None and not isinstance(element, (T.IntType, T.TypeVariable)) \
                    and vt != element and T.base_type(vt) != T.base_type(element):
                raise type_error(f"the loop variable has type {vt}, but the elements are "
                                 f"{element}", st.var)
            inner.declare(st.var.name, st.var, st.var.loc)
            self.loop_body(st.body, Scope(inner))
        elif isinstance(st, ast.Declaration):
            try:
                self.check_declaration(st, scope)
            finally:
                scope.declare(st.name, st, st.loc)
        else:
            raise type_error(f"unsupported statement {type(st).__name__}", st)

    def loop_body(self, body, scope: Scope) -> None:
        self.loop_depth += 1
        try:
            self.statement(body, scope)
        finally:
            self.loop_depth -= 1

    def condition(self, e, scope: Scope) -> None:
        t = self.expr(e, scope)
        if not isinstance(t, T.BoolType):
            raise type_error(f"condition must be a bool, not {t}", e)

    def switch(self, st: ast.SwitchStatement, scope: Scope) -> None:
        self.switch_expr = st.expr
        t = self.expr(st.expr, scope)
        seen = set()
        default_seen = False
        for case in st.cases:
            label = case.label
            if default_seen:
                raise type_error("a switch label follows the 'default' label", label)
            if isinstance(label, ast.DefaultExpression):
                label.type = T.DontCareType()
                default_seen = True
            elif isinstance(t, T.ActionEnumType):
                name = getattr(label, "name", None)
                if not isinstance(label, ast.Name) or name not in t.members:
                    raise type_error(f"'{name or '?'}' is not an action of table '{t.name}'", label)
                label.decl = t.decl.actions_by_name[name] if hasattr(t.decl, "actions_by_name") \
                    else scope.lookup(name)
                label.type = t
                if name in seen:
                    raise type_error(f"duplicate switch label '{name}'", label)
                seen.add(name)
            else:
                if not isinstance(T.base_type(t), (T.BitsType, T.EnumType, T.ErrorType)) and \
                        not isinstance(t, T.EnumType):
                    raise type_error(f"cannot switch on a value of type {t}", st.expr)
                lt = self.expr(label, scope, t)
                if isinstance(t, T.EnumType) and lt != t:
                    raise type_error(f"switch label of type {lt} for a switch on {t}", label)
                self.coerce(label, t)
                value = self.const_of(label)
                if value in seen:
                    raise type_error("duplicate switch label", label)
                seen.add(value)
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
                raise type_error(f"cannot assign to parameter '{e.name}' "
                                 f"({d.direction or 'directionless'})", e)
            raise type_error(f"cannot assign to '{e.name}'", e)
        if isinstance(e, (ast.Member, ast.Index, ast.Slice)):
            if isinstance(e, ast.Member) and isinstance(e.expr.type, T.StackType):
                if e.member not in ("next", "last"):
                    raise type_error(f"cannot assign to '{e.member}' of a header stack", e)
            self.require_lvalue(e.expr)
            return
        if isinstance(e, ast.DontCare):
            return
        raise type_error("expression is not assignable", e)


def _mentions(t, decl) -> bool:
    """Does type `t` (a type argument) contain a specialisation of `decl`?"""
    if getattr(t, "decl", None) is decl:
        return True
    parts = list(getattr(t, "type_args", ()) or ()) + list(getattr(t, "elements", ()) or ())
    parts += [f.type for f in getattr(t, "fields", ()) or ()]
    if isinstance(t, T.StackType):
        parts.append(t.element)
    return any(_mentions(p, decl) for p in parts)


def _flat_struct(t) -> bool:
    """A struct that may sit in a header: only bit/int/bool/serializable values, nested."""
    for f in t.fields:
        b = T.base_type(f.type)
        if isinstance(b, T.StructType):
            if not _flat_struct(b):
                return False
        elif not isinstance(b, (T.BitsType, T.BoolType, T.TypeVariable)):
            return False
    return True


def _names_in(e):
    """Every ast.Name in expression `e`."""
    if isinstance(e, ast.Name):
        yield e
    elif isinstance(e, ast.Node):
        for f in e.__dataclass_fields__:
            if f in ("decl", "type", "loc"):
                continue
            v = getattr(e, f)
            for x in v if isinstance(v, (list, tuple)) else (v,):
                if isinstance(x, ast.Node):
                    yield from _names_in(x)


def abstract_extern(program: ast.Program, method) -> ast.ExternDeclaration:
    """The extern declaring `method`."""
    return next(d for d in program.declarations
                if isinstance(d, ast.ExternDeclaration) and method in d.methods)


def _same_argument(a, b) -> bool:
    """ast.same_expression, with `{f = x, g = y}` equal in any field order."""
    if isinstance(a, ast.StructExpression) and isinstance(b, ast.StructExpression):
        fields = dict(b.fields)
        return len(a.fields) == len(fields) and all(
            name in fields and _same_argument(v, fields[name]) for name, v in a.fields)
    return ast.same_expression(a, b)


def table_priority_rules(table, value) -> tuple:
    """(largest_priority_wins, priority_delta) of a table, defaults true and 1 (P4-16 spec
    14.2.1.4); `value` evaluates a property's expression."""
    largest = table.prop("largest_priority_wins")
    delta = table.prop("priority_delta")
    return (bool(value(largest.value)) if largest is not None else True,
            value(delta.value) if delta is not None else 1)


def entry_priority_values(given: list, largest_wins: bool, delta: int) -> Optional[list]:
    """The priority of each entry (`given`: its priority= value or None; the first has one):
    an entry without one gets the previous one's minus `delta` (plus, when the smallest
    wins). None when a computed value leaves 0..2^64 (p4c entryPriorities.cpp)."""
    out, current = [], given[0]
    for g in given:
        current = g if g is not None else current
        out.append(current)
        current = current - delta if largest_wins else current + delta
        if not 0 <= current < 1 << 64:
            return None
    return out
