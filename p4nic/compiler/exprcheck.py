"""Expression typing for the type checker: operators, casts, member access, calls of actions,
functions, extern methods and built-in methods, generic inference, and implicit conversions.

`ExpressionChecker` is a mixin of typecheck.TypeChecker: its methods use the checker's state
(`constants`, `frame`, `errors`, `match_kinds`, `subst_stack`) and type resolution (`resolve`,
`declared_type`). Rules follow the P4-16 spec sections 8 "Expressions" and 6.8 "Calling
conventions"; where p4c is more permissive than the spec, p4c is followed (noted inline).
"""
from __future__ import annotations

from typing import Optional

from p4nic.compiler import ast, types as T
from p4nic.compiler.errors import CompileError
from p4nic.compiler.scopes import Scope, TypeParameter

ARITH_OPS = ("+", "-", "*", "/", "%", "|+|", "|-|")
BIT_OPS = ("&", "|", "^")
COMPARE_OPS = ("<", ">", "<=", ">=")
MAX_WIDTH = 2 ** 31 - 1  # p4c ir/type.cpp Type_Bits::get: widths must fit in an int
SIZE_METHODS = ("minSizeInBits", "minSizeInBytes", "maxSizeInBits", "maxSizeInBytes")
HEADER_METHODS = {"isValid": T.BoolType(), "setValid": T.VoidType(), "setInvalid": T.VoidType()}


TYPE_DECLARATIONS = (ast.HeaderTypeDeclaration, ast.HeaderUnionDeclaration, ast.StructDeclaration,
                     ast.EnumDeclaration, ast.TypedefDeclaration, ast.ExternDeclaration,
                     ast.ParserDeclaration, ast.ControlDeclaration, ast.ParserTypeDeclaration,
                     ast.ControlTypeDeclaration, ast.PackageTypeDeclaration)


def type_error(msg: str, node) -> CompileError:
    """A CompileError of kind 'type' located at `node`."""
    return CompileError(msg, getattr(node, "loc", None), kind="type")


def member_names(members) -> list:
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


def decl_type(decl):
    """The P4Type of a declaration that has one (variables, parameters, instances, tables...)."""
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


def contains_typevar(t) -> bool:
    if isinstance(t, T.TypeVariable):
        return True
    if isinstance(t, T.TupleType):
        return any(contains_typevar(e) for e in t.elements)
    if isinstance(t, T.StackType):
        return contains_typevar(t.element)
    if isinstance(t, T.ExternType):
        return any(contains_typevar(a) for a in t.type_args)
    return False


def mentions_variable(t, name: str) -> bool:
    """Does type `t` contain type variable `name`?"""
    if isinstance(t, T.TypeVariable):
        return t.name == name
    parts = list(getattr(t, "elements", ()) or ()) + list(getattr(t, "type_args", ()) or ())
    if isinstance(t, (T.StackType, T.ListType)):
        parts.append(t.element)
    return any(mentions_variable(x, name) for x in parts)


def contains_int(t) -> bool:
    """Does type `t` have an `int` (no width) in it?"""
    if isinstance(t, T.IntType):
        return True
    if isinstance(t, T.TupleType):
        return any(map(contains_int, t.elements))
    if isinstance(t, T.StructType) and t.decl is None:   # the type of a `{a = 1}` literal
        return any(contains_int(f.type) for f in t.fields)
    return False


def is_bits(t) -> bool:
    return isinstance(t, T.BitsType)


def _numeric(t) -> bool:
    return isinstance(t, (T.BitsType, T.IntType))



class ExpressionChecker:
    """The expression half of typecheck.TypeChecker, which provides the scopes, `resolve`,
    `usable` (a declaration whose own check failed stops the check of what uses it) and the
    declarations' checks."""

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
                raise type_error(f"invalid width {e.width}", e)
            return T.BitsType(e.width, e.signed)
        if isinstance(e, ast.BoolLiteral):
            return T.BoolType()
        if isinstance(e, ast.StringLiteral):
            return T.StringType()
        if isinstance(e, ast.Name):
            t = self.name(e, scope)
            if isinstance(e.decl, TYPE_DECLARATIONS):
                raise type_error(f"type '{e.name}' cannot be used as a value", e)
            return t
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
        if isinstance(e, ast.Dots):
            if expected is None:
                raise type_error("'...' needs a type from its context", e)
            return expected  # the default value of that type
        if isinstance(e, ast.SelectExpression):
            raise type_error("select expression is only allowed as a parser transition", e)
        if isinstance(e, ast.This):
            if not self.initializing:
                raise type_error("'this' can only be used in an abstract method's "
                                 "implementation", e)
            return self.initializing[-1]
        raise type_error(f"unsupported expression {type(e).__name__}", e)

    def name(self, e: ast.Name, scope: Scope) -> T.P4Type:
        decls = (scope.root() if e.global_scope else scope).lookup_all(e.name)
        if not decls and e.name in self.match_kinds:
            return T.MatchKindType()  # match_kind members are values of type match_kind
        if not decls:
            raise type_error(f"'{e.name}' is not declared", e)
        decl = self.usable(decls[0])
        e.decl = decl
        t = decl_type(decl)
        if t is not None:
            return t
        if isinstance(decl, (ast.FunctionDeclaration, ast.ExternFunctionDeclaration)):
            return T.VoidType()  # a callee; call() types the call
        if isinstance(decl, (ast.EnumDeclaration, ast.TypedefDeclaration, ast.StructDeclaration,
                             ast.HeaderTypeDeclaration, ast.HeaderUnionDeclaration,
                             ast.ExternDeclaration, ast.ParserDeclaration,
                             ast.ControlDeclaration, ast.PackageTypeDeclaration)):
            return self.declared_type(decl, self.home_scope(decl, scope))
        raise type_error(f"'{e.name}' cannot be used as a value", e)

    def type_member(self, node, t, member: str) -> T.P4Type:
        if isinstance(t, T.ErrorType):
            if member not in self.errors:
                raise type_error(f"'{member}' is not a member of error", node)
            return t
        if isinstance(t, T.EnumType):
            if member not in t.members:
                raise type_error(f"'{member}' is not a member of enum {t.name}", node)
            return t
        raise type_error(f"type {t} has no member '{member}'", node)

    @staticmethod
    def is_type_name(e, scope: Scope) -> bool:
        """Does Name `e` denote `error` or an enum (so `e.x` is a member of that type)?"""
        if not isinstance(e, ast.Name):
            return False
        d = (scope.root() if e.global_scope else scope).lookup(e.name)
        if d is None:
            return e.name == "error"
        return isinstance(d, (ast.EnumDeclaration, ast.TypedefDeclaration))

    def member(self, e: ast.Member, scope: Scope) -> T.P4Type:
        if isinstance(e.expr, ast.Name) and self.is_type_name(e.expr, scope):
            if e.expr.name == "error" and scope.lookup("error") is None:
                e.expr.type = T.ErrorType()
                return self.type_member(e, T.ErrorType(), e.member)
            d = scope.lookup(e.expr.name)
            e.expr.decl = d
            t = self.declared_type(d, self.home_scope(d, scope))
            e.expr.type = t
            return self.type_member(e, t, e.member)
        t = self.expr(e.expr, scope)
        if isinstance(t, T.StructLike):
            f = t.field(e.member)
            if f is not None:
                if isinstance(f.type, T.ActionEnumType) and e is not self.switch_expr:
                    raise type_error("'action_run' is only allowed as the expression of a switch",
                                     e)
                return f.type
            if isinstance(t, (T.HeaderType, T.HeaderUnionType)) and e.member in HEADER_METHODS:
                return T.FunctionType((), HEADER_METHODS[e.member])
            raise type_error(f"{t} has no field '{e.member}'", e)
        if isinstance(t, T.StackType):
            if e.member in ("next", "last", "lastIndex") and not isinstance(
                    self.frame.container, ast.ParserDeclaration):
                raise type_error(f"'{e.member}' of a header stack can only be used in a parser", e)
            if e.member in ("next", "last"):
                return t.element
            if e.member in ("size", "lastIndex"):
                return T.BitsType(32)
            if e.member in ("push_front", "pop_front"):
                return T.FunctionType((T.IntType(),), T.VoidType())
            raise type_error(f"header stack has no member '{e.member}'", e)
        if isinstance(t, (T.ExternType, T.TableType, T.ParserType, T.ControlType)):
            return T.VoidType()  # a method; call() types the call
        if isinstance(t, T.StructType) or isinstance(t, T.ErrorType) or isinstance(t, T.EnumType):
            return self.type_member(e, t, e.member)
        raise type_error(f"type {t} has no member '{e.member}'", e)

    def index(self, e: ast.Index, scope: Scope) -> T.P4Type:
        t = self.expr(e.expr, scope)
        it = self.expr(e.index, scope)
        if isinstance(t, T.StackType):
            if isinstance(it, T.IntType):
                self.coerce(e.index, T.BitsType(32))
                i = self.const_of(e.index)
                # only the type of `h[0].minSizeInBits()` counts: p4c accepts it even on H[0]
                # (minsize.p4)
                if (i < 0 or i >= t.size) and e is not self.size_query:
                    raise type_error(f"index {i} is out of range for {t}", e.index)
            elif not is_bits(T.base_type(it)):
                raise type_error(f"array index must be an integer, not {it}", e.index)
            return t.element
        if isinstance(t, T.TupleType):
            i = self.const_of(e.index)
            if not 0 <= i < len(t.elements):
                raise type_error(f"index {i} is out of range for {t}", e.index)
            return t.elements[i]
        raise type_error(f"cannot index a value of type {t}", e)

    def slice(self, e: ast.Slice, scope: Scope) -> T.P4Type:
        t = self.expr(e.expr, scope)
        b = T.base_type(t)
        if not (is_bits(b) or isinstance(b, T.IntType)):
            raise type_error(f"cannot slice a value of type {t}", e)
        width = self.part_select_width(e, scope)
        if width is not None:
            return T.BitsType(width)
        hi = self.const_int(e.hi, scope)
        lo = self.const_int(e.lo, scope)
        if hi < lo or lo < 0:
            raise type_error(f"invalid slice [{hi}:{lo}]", e)
        if is_bits(b) and hi >= b.w:
            raise type_error(f"slice [{hi}:{lo}] is out of range for {t}", e)
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
        if not is_bits(T.base_type(e.lo.type)):
            raise type_error(f"slice index must be bit<W>, not {e.lo.type}", e.lo)
        width = self.const_int(hi.left.right, scope)
        self.expr(hi, scope)
        if width <= 0:
            raise type_error(f"invalid part-select width {width}", hi.left.right)
        return width

    def unary(self, e: ast.Unary, scope: Scope, expected) -> T.P4Type:
        t = self.expr(e.operand, scope, expected)
        b = T.base_type(t)
        if e.op == "!":
            if not isinstance(t, T.BoolType):
                raise type_error(f"'!' needs a bool, not {t}", e)
            return t
        if e.op == "~":
            if not is_bits(b):
                raise type_error(f"'~' needs bit<W> or int<W>, not {t}", e)
            return b
        if not _numeric(b):
            raise type_error(f"'{e.op}' needs a number, not {t}", e)
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
                raise type_error(f"cannot shift a value of type {lt}", e.left)
            if not _numeric(rb):
                raise type_error(f"shift amount must be a number, not {rt}", e.right)
            if isinstance(rt, T.NewType):
                raise type_error(f"the right operand of a shift must be bit<S> or a "
                                 f"non-negative integer constant, not {rt}", e.right)
            if is_bits(rb) and rb.signed:
                amount = self.const_of(e.right) if self._is_const(e.right) else None
                if amount is None or amount < 0:
                    raise type_error(f"shift amount must be unsigned, not {rt}", e.right)
            if isinstance(rb, T.IntType):
                amount = self.const_of(e.right)
                if amount < 0:
                    raise type_error("shift amount must not be negative", e.right)
            elif isinstance(lb, T.IntType) and not self._is_const(e.right):
                raise type_error("shifting an int by a run-time amount: give the left operand a "
                                 "width", e)
            return lb
        if op == "++":
            lb, rb = T.base_type(lt), T.base_type(rt)
            if isinstance(lb, T.StringType) and isinstance(rb, T.StringType):
                return lb
            if not (is_bits(lb) and is_bits(rb)):
                raise type_error(f"'++' needs bit<W> or int<W> operands, not {lt} and {rt}", e)
            return T.BitsType(lb.w + rb.w, lb.signed)
        if op in ("/", "%"):
            self.check_division(e)   # before an `int` operand takes the other's width
        t = self.unify_operands(e, e.left, e.right, lt, rt, op)
        if op in ("==", "!="):
            if isinstance(t, (T.ExternType, T.TableType, T.ParserType, T.ControlType)) or (
                    isinstance(t, T.StructType) and isinstance(t.decl, ast.TableDeclaration)):
                raise type_error(f"values of type {t} cannot be compared", e)
            return T.BoolType()
        b = T.base_type(t)
        if op in COMPARE_OPS:
            if not _numeric(b):
                raise type_error(f"cannot compare values of type {t} with '{op}'", e)
            return T.BoolType()
        if op in ("&&&", ".."):
            return T.SetType(t)
        if op in ARITH_OPS + BIT_OPS:
            if not _numeric(b) or isinstance(lt, T.NewType) or isinstance(rt, T.NewType):
                # values of a `type` only compare for equality (p4c newtype-err.p4); cast first
                raise type_error(f"cannot apply '{op}' to values of type {t}", e)
            if op in ("/", "%") and is_bits(b) and b.signed:
                raise type_error(f"'{op}' is not defined on signed values ({t})", e)
            return b if op not in BIT_OPS else t if is_bits(T.base_type(t)) else b
        raise type_error(f"unknown operator '{op}'", e)

    def check_division(self, e: ast.Binary) -> None:
        """P4-16 spec 8.7: `/` and `%` are defined on non-negative values; a constant divisor
        of zero is an error (p4c's constant folder reports both)."""
        word = "division" if e.op == "/" else "modulo"
        left, right = (self.const_of(x) if self._is_const(x) else None
                       for x in (e.left, e.right))
        if right == 0:
            raise type_error(f"{word} by zero", e)
        if any(isinstance(v, int) and v < 0 for v in (left, right)):
            raise type_error(f"{word} is not defined on negative numbers", e)

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
            raise type_error(f"operands of '{op}' have different types: {lt} and {rt}", e)
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
        if not self.castable(src, to, e.expr):
            raise type_error(f"cannot cast from {src} to {to}", e)
        return to

    def castable(self, src, to, expr) -> bool:
        """Explicit casts p4c allows (TypeInferenceBase::canCastBetween): a `type` or a
        serializable enum to and from exactly its representation, bit<W>/int<W> to any
        width of the same signedness or to the other signedness at the same width, bit<1>
        and bool both ways; an integer constant to a bit type, bool (0 or 1) or `type`."""
        sb, tb = T.base_type(src), T.base_type(to)
        if isinstance(sb, T.IntType):
            if isinstance(tb, T.BoolType):
                return self.const_of(expr) in (0, 1)
            return isinstance(tb, (T.BitsType, T.IntType))
        src_rep, to_rep = (getattr(x, "underlying", None) for x in (src, to))
        if to_rep is not None:
            return src == to or src == to_rep or (
                isinstance(src, T.EnumType) and isinstance(to, T.EnumType) and src_rep == to_rep)
        if src_rep is not None:
            return to == src_rep
        if is_bits(sb):
            if is_bits(tb):
                return sb.w == tb.w or sb.signed == tb.signed
            if isinstance(tb, T.BoolType):
                return sb.w == 1 and not sb.signed
            return isinstance(tb, T.IntType)
        if isinstance(sb, T.BoolType):
            return is_bits(tb) and tb.w == 1 and not tb.signed
        return False

    def list_expr(self, e: ast.ListExpression, scope: Scope, expected) -> T.P4Type:
        elements = e.elements
        if elements and isinstance(elements[-1], ast.Dots) and isinstance(
                expected, (T.StructLike, T.TupleType, T.StackType)):
            # `{a, b, ...}`: the remaining components get default values
            elements[-1].type = expected
            parts = (expected.elements if isinstance(expected, T.TupleType) else
                     [expected.element] * expected.size if isinstance(expected, T.StackType)
                     else [f.type for f in expected.fields])
            if len(elements) - 1 > len(parts):
                raise type_error(f"{expected} has {len(parts)} components but the initializer "
                                 f"has {len(elements) - 1}", e)
            for el, part in zip(elements[:-1], parts):
                self.expr(el, scope, part)
                self.coerce(el, part)
            return expected
        if isinstance(expected, (T.StructType, T.HeaderType)) and not isinstance(
                expected, T.HeaderUnionType):
            if len(e.elements) != len(expected.fields):
                raise type_error(f"{expected} has {len(expected.fields)} fields but the "
                                 f"initializer has {len(e.elements)}", e)
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
                self.coerce(el, expected.element)
            return expected
        return T.TupleType(tuple(self.expr(el, scope) for el in e.elements))

    def struct_expr(self, e: ast.StructExpression, scope: Scope, expected) -> T.P4Type:
        target = self.resolve(e.type_ref, scope) if e.type_ref is not None else expected
        if isinstance(target, T.StructLike):
            given = {n for n, _ in e.fields}
            defaults = any(isinstance(v, ast.Dots) for _, v in e.fields)
            for n, v in e.fields:
                if isinstance(v, ast.Dots):
                    v.type = target  # `...`: the fields not written get default values
                    continue
                f = target.field(n)
                if f is None:
                    raise type_error(f"{target} has no field '{n}'", v)
                self.expr(v, scope, f.type)
                self.coerce(v, f.type)
            missing = [f.name for f in target.fields if f.name not in given]
            if missing and not defaults and not isinstance(target, T.HeaderUnionType):
                raise type_error(f"initializer of {target} lacks field '{missing[0]}'", e)
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
                raise type_error(f"'{callee.name}' is not declared", callee)
            decl = decls[0]
            if isinstance(decl, (ast.ExternDeclaration, ast.ParserDeclaration,
                                 ast.ControlDeclaration, ast.PackageTypeDeclaration)):
                t = self.name(callee, scope)
                self.constructor_args(decl, t, e.args, e, scope)
                return t
            if isinstance(decl, ast.ActionDeclaration):
                if e.type_args:
                    raise type_error("an action call cannot have type arguments", e)
                if isinstance(self.frame.container, ast.ParserDeclaration):
                    raise type_error("actions cannot be called from parsers", e)
                if self.frame.return_type is not None and not self.frame.in_action:
                    raise type_error("functions cannot call actions", e)
                callee.decl, callee.type = decl, T.ActionType(decl.name, decl)
                self.call_args(decl.params, e.args, e, scope, {}, generic=False)
                return T.VoidType()
            if isinstance(decl, (ast.FunctionDeclaration, ast.ExternFunctionDeclaration)):
                fn = self.pick_overload(decls, e.args, e, f"'{callee.name}'")
                if fn is self.frame.function:
                    raise type_error(f"'{callee.name}' cannot call itself (a function is not "
                                     f"declared inside its own body)", callee)
                callee.decl = fn
                if fn.name == "verify" and isinstance(fn, ast.ExternFunctionDeclaration) and \
                        isinstance(self.frame.container, ast.ControlDeclaration):
                    raise type_error("verify() may only be invoked in parsers", e)
                rt = self.generic_call(fn, e, scope, {}, type_args, callee, expected)
                if fn.name == "static_assert" and isinstance(fn, ast.ExternFunctionDeclaration):
                    self.static_assert(e)
                return rt
            raise type_error(f"'{callee.name}' cannot be called", callee)
        if isinstance(callee, ast.Member):
            return self.method_call(e, callee, scope, type_args, expected)
        if isinstance(callee, ast.TypeMember) and callee.member in SIZE_METHODS and not e.args:
            self.resolve(callee.type_ref, scope)
            callee.type = T.FunctionType((), T.IntType())
            return T.IntType()
        if isinstance(callee, ast.TypeMember) and callee.member == "apply":
            # `P.apply(...)` on a parser/control type: an anonymous instance (spec 15.1).
            t = self.resolve(callee.type_ref, scope)
            if getattr(t, "decl", None) is self.frame.container:
                raise type_error(f"self-referencing types are not supported: "
                                 f"'{t.decl.name}' within '{t.decl.name}'", callee)
            if isinstance(t.decl if hasattr(t, "decl") else None,
                          (ast.ParserDeclaration, ast.ControlDeclaration)):
                if t.decl.ctor_params:
                    raise type_error(f"'{t.decl.name}' has constructor parameters; instantiate it",
                                     callee)
                callee.type = T.FunctionType((), T.VoidType())
                self.call_args(t.decl.params, e.args, e, scope, {}, generic=False)
                return T.VoidType()
        raise type_error("expression cannot be called", callee)

    def static_assert(self, e: ast.MethodCall) -> None:
        """core.p4's static_assert(check[, message]): checked here, at compile time."""
        if self.const_of(e.args[0].value) is False:
            message = ""
            if len(e.args) > 1 and isinstance(e.args[1].value, ast.StringLiteral):
                message = ": " + e.args[1].value.value
            raise type_error("static assertion failed" + message, e)

    def method_call(self, e, callee: ast.Member, scope: Scope, type_args,
                    expected=None) -> T.P4Type:
        m = callee.member
        if m in SIZE_METHODS and not e.args:
            self.size_query = callee.expr
        target_t = self.expr(callee.expr, scope)
        if isinstance(target_t, (T.HeaderType, T.HeaderUnionType)) and m in HEADER_METHODS:
            # called, `h.isValid()` is the method even when a field has that name: fields are
            # never callable (spec-issue1060.p4)
            if e.args:
                raise type_error(f"{m}() takes no arguments", e)
            if m != "isValid":
                self.require_lvalue(callee.expr)
            callee.type = T.FunctionType((), HEADER_METHODS[m])
            return HEADER_METHODS[m]
        if m in SIZE_METHODS and not e.args:
            callee.type = T.FunctionType((), T.IntType())
            return T.IntType()
        if isinstance(target_t, T.StackType) and m in ("push_front", "pop_front"):
            if len(e.args) != 1:
                raise type_error(f"{m}() takes one argument", e)
            self.require_lvalue(callee.expr)
            self.const_int(e.args[0].value, scope)
            callee.type = T.FunctionType((T.IntType(),), T.VoidType())
            return T.VoidType()
        if m == "apply" and self.frame.in_action and isinstance(
                target_t, (T.TableType, T.ParserType, T.ControlType)):
            raise type_error("apply cannot be called from actions", e)
        if isinstance(target_t, T.TableType) and m == "apply":
            if e.args:
                raise type_error("table apply() takes no arguments", e)
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
                raise type_error(f"extern {decl.name} has no method '{m}'", callee)
            fn = self.pick_overload(methods, e.args, e, f"method '{m}' of {decl.name}",
                                    unique=True)
            tparams = [tp if isinstance(tp, str) else tp.name for tp in decl.type_params]
            subst = dict(zip(tparams, target_t.type_args))
            rt = self.generic_call(fn, e, scope, subst, type_args, callee, expected)
            if decl.name == "packet_in":
                self.check_packet_in_call(e, m, rt)
            return rt
        if isinstance(target_t, T.StructLike) and target_t.field(m) is not None:
            raise type_error(f"field '{m}' of {target_t} cannot be called", callee)
        raise type_error(f"{target_t} has no method '{m}'", callee)

    @staticmethod
    def check_packet_in_call(e: ast.MethodCall, method: str, result) -> None:
        """core.p4's packet_in rules as p4c checks them: extract() takes a header, the
        two-argument form one with a varbit field and the one-argument form one without;
        lookahead<T>() needs a fixed-width T."""
        def has_varbit(t):
            return isinstance(t, T.StructLike) and any(
                isinstance(f.type, T.VarbitType) or has_varbit(f.type) for f in t.fields)
        if method == "extract" and e.args and e.args[0].value is not None:
            arg = e.args[0].value
            if not isinstance(arg.type, (T.HeaderType, T.TypeVariable)):
                raise type_error(f"extract() needs a header, not {arg.type}", arg)
            if len(e.args) == 2 and not has_varbit(arg.type):
                raise type_error(f"two-argument extract() needs a header with a varbit field; "
                                 f"{arg.type} has none", arg)
            varbits = [f.name for f in getattr(arg.type, "fields", ())
                       if isinstance(f.type, T.VarbitType)]
            if len(varbits) > 1:
                raise type_error(f"{varbits[0]} and {varbits[1]}: a header extracted with its "
                                 f"size has one varbit field, not several", arg)
            if len(e.args) == 1 and has_varbit(arg.type):
                raise type_error(f"{arg.type} has a varbit field: extract it with its size in "
                                 f"bits as the second argument", arg)
        elif method == "lookahead" and (isinstance(result, (T.VoidType, T.VarbitType))
                                        or has_varbit(result)):
            raise type_error(f"lookahead() needs a fixed-width type, not {result}", e)

    def pick_overload(self, candidates: list, args: list, node, what: str,
                      params_field: str = "params", unique: bool = False):
        """The first candidate whose parameters (`params_field`: "params", or "ctor_params"
        for parser/control constructors) accept `args`; with `unique`, the only one (p4c's
        Type_Extern::lookupMethod calls extern methods matched twice ambiguous)."""
        named = {a.name for a in args if a.name}
        fits = []
        for c in candidates:
            params = getattr(c, params_field)
            required = [p for p in params if p.default is None
                        and p.annotation("optional") is None]
            if named:
                names = {p.name for p in params}
                if named <= names and all(p.name in named or p.default is not None
                                          or p.annotation("optional") is not None
                                          for p in required[len(args) - len(named):]):
                    fits.append(c)
            elif len(required) <= len(args) <= len(params):
                fits.append(c)
        if not fits:
            raise type_error(f"no overload of {what} takes {len(args)} arguments", node)
        if unique and len(fits) > 1:
            raise type_error(f"ambiguous call of {what}: candidates at {fits[0].loc} and "
                             f"{fits[1].loc}", node)
        return fits[0]

    def generic_call(self, fn, e, scope: Scope, subst: dict, type_args: list, callee,
                     expected=None) -> T.P4Type:
        tparams = [tp if isinstance(tp, str) else tp.name for tp in fn.type_params]
        local = dict(subst)
        if type_args:
            if len(type_args) != len(tparams):
                raise type_error(f"'{fn.name}' expects {len(tparams)} type arguments", e)
            local.update(zip(tparams, type_args))
        self.call_args(fn.params, e.args, e, scope, local, generic=True)
        for a in e.args:
            at = getattr(a.value, "type", None)
            if isinstance(at, T.TableType) or (
                    isinstance(at, T.StructType) and isinstance(at.decl, ast.TableDeclaration)):
                raise type_error("a table cannot be passed as an argument", a.value)
            if isinstance(at, (T.ParserType, T.ControlType, T.PackageType)):
                raise type_error(f"an argument cannot have type {at}", a.value)
        for tp in tparams:
            if tp in local:
                self.check_sized(local[tp], e.args, e)
            elif any(mentions_variable(self.param_type(p, {}), tp)
                     for p, a in self.bind_args(fn.params, e.args, e) if a is not None):
                raise type_error(f"could not infer a type for type variable {tp}", e)
        rt = self.param_type_ref(fn.return_type, fn, local)
        if isinstance(rt, T.TypeVariable) and expected is not None and not isinstance(
                expected, T.DontCareType):
            local[rt.name] = expected  # the return type alone fixes T: `bit<8> x = r.read();`
            rt = expected
        callee.type = T.FunctionType(tuple(self.param_type(p, local) for p in fn.params), rt)
        if isinstance(rt, T.TypeVariable) and not isinstance(scope.lookup(rt.name),
                                                             TypeParameter):
            # (a type parameter of an enclosing generic parser/control stays a variable)
            raise type_error(f"cannot infer the return type of '{fn.name}'; give type arguments", e)
        return rt

    @staticmethod
    def check_sized(bound, args: list, node) -> None:
        """A type variable bound to `int` has no width (p4c bindVariables.cpp: "could not
        infer a width"); the error points at the argument that gave it."""
        if not contains_int(bound):
            return
        culprit = next((a.value for a in args if a.value is not None
                        and contains_int(getattr(a.value, "type", None))), node)
        raise type_error("could not infer a width", culprit)

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
        if not subst and p.type_ref.type is not None and not contains_typevar(p.type_ref.type):
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
                raise type_error("arguments must be all named or all positional", node)
            by_name = {a.name: a for a in args}
            for n in by_name:
                if not any(p.name == n for p in params):
                    raise type_error(f"no parameter named '{n}'", node)
            pairs = [(p, by_name.get(p.name)) for p in params]
        else:
            if len(args) > len(params):
                raise type_error(f"too many arguments: expected {len(params)}, got {len(args)}",
                                 node)
            pairs = [(p, args[i] if i < len(args) else None) for i, p in enumerate(params)]
        for p, a in pairs:
            if a is None and p.default is None and p.annotation("optional") is None:
                raise type_error(f"missing argument for parameter '{p.name}'", node)
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
                raise type_error(f"'_' can only be passed to an out parameter ('{p.name}')", value)
            return
        at = self.expr(value, scope, None if contains_typevar(pt) else pt)
        if subst is not None and (contains_typevar(pt) or isinstance(pt, (T.ParserType,
                                                                          T.ControlType))):
            self.unify(pt, at, subst, value)
            pt = self.param_type(p, subst)
        if p.direction in ("out", "inout"):
            self.require_lvalue(value)
        if not contains_typevar(pt):
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
        if isinstance(pt, T.ExternType) and isinstance(at, T.ExternType) and pt.decl is at.decl:
            for x, y in zip(pt.type_args, at.type_args):   # register<T> r given register<bool>
                self.unify(x, y, subst, node)
        if isinstance(pt, (T.ParserType, T.ControlType)) and type(at) is type(pt) and isinstance(
                pt.decl, (ast.ParserTypeDeclaration, ast.ControlTypeDeclaration)) and isinstance(
                at.decl, (ast.ParserDeclaration, ast.ControlDeclaration)):
            self.unify_block(pt, at, subst, node)

    def unify_block(self, pt, at, subst: dict, node) -> None:
        """A parser/control given for a parser/control type parameter (a package's
        `Parser<H, M> p`) has its apply parameters: as many, the same directions, and types
        that bind the package's type variables consistently (p4c unifies them)."""
        formal, actual = pt.decl.params, at.decl.params
        why = None
        optional = [f for f in formal[len(actual):]   # may be left out
                    if f.default is not None or f.annotation("optional") is not None]
        if len(actual) > len(formal) or len(actual) + len(optional) < len(formal):
            why = f"it has {len(actual)} parameters, not {len(formal)}"
        inner = dict(zip([tp if isinstance(tp, str) else tp.name for tp in pt.decl.type_params],
                         pt.type_args))
        for f, a in zip(formal, actual):
            if why:
                break
            if f.direction != a.direction:
                why = (f"parameter '{a.name}' is {a.direction or 'directionless'}, not "
                       f"{f.direction or 'directionless'}")
                break
            ft = self.param_type_ref(f.type_ref, pt.decl, inner)
            at_param = a.type_ref.type
            self.unify(ft, at_param, subst, node)
            expected = subst.get(ft.name, ft) if isinstance(ft, T.TypeVariable) else ft
            if at_param is not None and not contains_typevar(expected) and not contains_typevar(
                    at_param) and not isinstance(expected, T.DontCareType) and expected != at_param:
                why = f"parameter '{a.name}' has type {at_param}, not {expected}"
        if why:
            raise type_error(f"{at.decl.name} does not fit {pt}: {why}", node)

    # -----------------------------------------------------------------------------------------
    # Implicit conversions

    def coerce(self, e, target, in_keyset: bool = False) -> None:
        """Check that `e` (already typed) may be used where `target` is expected, converting
        `int` constants to the target's width (spec 8.9.1); raises a type error otherwise."""
        src = e.type
        if target is None or src is None or src == target:
            return
        if isinstance(e, ast.InvalidHeader) and not isinstance(
                T.base_type(target), (T.HeaderType, T.HeaderUnionType, T.DontCareType,
                                      T.TypeVariable)):
            raise type_error(f"an invalid header cannot be used where {target} is expected", e)
        if isinstance(target, T.TypeVariable) and isinstance(src, T.IntType):
            raise type_error(f"could not infer a width: an integer where a value of type "
                             f"{target} is expected", e)
        if isinstance(target, T.TypeVariable) and not isinstance(
                src, (T.TypeVariable, T.DontCareType)) and not contains_typevar(src):
            raise type_error(f"cannot convert {src} to the type variable {target}", e)
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
            raise type_error(f"cannot use an integer where {target} is expected", e)
        if isinstance(src, T.SetType) and src.element == target:
            return
        if isinstance(target, T.IntType) and is_bits(T.base_type(src)):
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
                    raise type_error(f"{target} has no field '{n}'", v)
                self.coerce(v, f.type)
            e.type = target
            return
        if isinstance(src, T.StructLike) and isinstance(target, T.StructLike) and \
                src.name == target.name:
            return
        raise type_error(f"type mismatch: expected {target}, got {src}", e)

    def _retype_list(self, e: ast.ListExpression, target) -> None:
        elems = target.elements if isinstance(target, T.TupleType) else [
            f.type for f in target.fields]
        if len(elems) != len(e.elements):
            raise type_error(f"{target} has {len(elems)} components but the initializer has "
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
