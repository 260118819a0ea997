"""Straight-line code: action bodies, inlined functions and actions, control-body statements.

BMv2 runs an action as a list of primitives; `if`, `switch` on values, `return` and `exit`
inside one become `_jump_if_zero`/`_jump` primitives (JSON_format.md, "actions"), as p4c
emits them. Calls of other actions and of functions are inlined with their parameters bound
(inline.py).
"""
from __future__ import annotations

from typing import Optional

from p4nic.compiler import ast
from p4nic.compiler import types as T
from p4nic.compiler.midend import ir
from p4nic.compiler.midend.ir import Label
from p4nic.compiler.midend.flatten import Flattener, as_bool, as_data, unsupported
from p4nic.compiler.midend.inline import Scope, bind_call
from p4nic.compiler.midend.localvars import (
    CompileTimeLoc, HeaderLoc, ScalarLoc, StackLoc, UnionLoc, const_for, is_scalar)


def resolve_jumps(prims: list) -> list:
    """Drop label markers and turn Label parameters into primitive indices."""
    out = []
    for p in prims:
        if isinstance(p, Label):
            p.index = len(out)
        else:
            out.append(p)
    for p in out:
        p.params = [ir.Const(x.index, 32) if isinstance(x, Label) else x for x in p.params]
    return out


class StatementLowering:
    """Appends the primitives of statements to `out`. `exit_label` is where `exit` jumps after
    marking the packet (the end of the outermost action), running `exit_backs` (the copy-backs
    of the calls it is inlined in, innermost first) on the way; `return_label` and `return_loc`
    are the current function's or action's end and result storage."""

    def __init__(self, ctx, scope: Scope, out: list, in_parser: bool = False,
                 exit_label: Optional[Label] = None, return_label: Optional[Label] = None,
                 return_loc=None, exit_backs: Optional[list] = None):
        self.ctx = ctx
        self.scope = scope
        self.out = out
        self.in_parser = in_parser
        self.exit_label = exit_label
        self.return_label = return_label
        self.return_loc = return_loc
        self.exit_backs = exit_backs or []
        self.loop: Optional[tuple] = None  # (break label, continue label) of the inner loop

    @property
    def flat(self) -> Flattener:
        return Flattener(self.ctx, self.scope, self.out, self.in_parser)

    def statements(self, stmts: list) -> None:
        for s in stmts:
            self.statement(s)

    def statement(self, s) -> None:
        if isinstance(s, ast.BlockStatement):
            self.statements(s.statements)
        elif isinstance(s, ast.AssignmentStatement):
            self.flat.assign(s.left, s.right, s)
        elif isinstance(s, ast.MethodCallStatement):
            self.call(s.call)
        elif isinstance(s, ast.VariableDeclaration):
            self.declare(s)
        elif isinstance(s, ast.ConstantDeclaration):
            pass  # folded through typed.constants
        elif isinstance(s, ast.IfStatement):
            self.if_(s)
        elif isinstance(s, ast.SwitchStatement):
            self.switch(s)
        elif isinstance(s, ast.ExitStatement):
            self.out.append(ir.Primitive("exit", [], s.loc))
            for back in self.exit_backs:
                self.out.extend(ir.Primitive(p.op, list(p.params), p.loc) for p in back)
            if self.exit_label is not None:
                self.jump(self.exit_label, s)
        elif isinstance(s, ast.ReturnStatement):
            if s.value is not None and self.return_loc is not None:
                self.flat.copy(self.return_loc, self.flat.loc(s.value), s)
            if self.return_label is None:
                raise unsupported("'return' is not supported here", s)
            self.jump(self.return_label, s)
        elif isinstance(s, ast.EmptyStatement):
            pass
        elif isinstance(s, ast.ForStatement):
            self.for_(s)
        elif isinstance(s, ast.ForInStatement):
            self.for_in(s)
        elif isinstance(s, (ast.BreakStatement, ast.ContinueStatement)) and self.loop:
            self.jump(self.loop[0] if isinstance(s, ast.BreakStatement) else self.loop[1], s)
        else:
            raise unsupported(f"{type(s).__name__} is not supported here on BMv2", s)

    def jump(self, label: Label, node) -> None:
        if self.in_parser:
            raise unsupported("control flow inside a parser state is not supported", node)
        self.out.append(ir.Primitive("_jump", [label], node.loc))

    def declare(self, d: ast.VariableDeclaration) -> None:
        loc = self.scope.find(d)
        if loc is None:  # the control-flow pass binds a block's locals before lowering it
            loc = self.ctx.storage.alloc(d.name, d.type_ref.type, d.loc)
            self.scope.bind(d, loc)
        if d.init is not None:
            self.flat.copy(loc, self.flat.loc(d.init), d)
        elif isinstance(loc, HeaderLoc):
            # A fresh local header starts invalid (spec 8.22); storage is reused per packet.
            self.out.append(ir.Primitive("remove_header", [loc.ref], d.loc))

    def if_(self, s: ast.IfStatement) -> None:
        cond = as_bool(self.flat.value(s.cond))
        if isinstance(cond, ir.BoolConst):
            branch = s.then if cond.value else s.else_
            if branch is not None:
                self.statement(branch)
            return
        if self.in_parser:
            raise unsupported("'if' inside a parser state is not supported on BMv2", s)
        else_label, end = Label(), Label()
        self.out.append(ir.Primitive("_jump_if_zero", [as_data(cond), else_label], s.loc))
        self.statement(s.then)
        if s.else_ is not None:
            self.out.append(ir.Primitive("_jump", [end], s.loc))
        self.out.append(else_label)
        if s.else_ is not None:
            self.statement(s.else_)
        self.out.append(end)

    def loop_body(self, body, brk: Label, cont: Label) -> None:
        outer, self.loop = self.loop, (brk, cont)
        self.statement(body)
        self.loop = outer

    def for_(self, s: ast.ForStatement) -> None:
        """A loop runs inside one action: BMv2's `_jump` may go backwards (P4-16 1.2.4 for)."""
        self.statements(s.init)
        top, cont, end = Label(), Label(), Label()
        self.out.append(top)
        if s.cond is not None:
            cond = as_bool(self.flat.value(s.cond))
            self.out.append(ir.Primitive("_jump_if_zero", [as_data(cond), end], s.loc))
        self.loop_body(s.body, end, cont)
        self.out.append(cont)
        self.statements(s.updates)
        self.out += [ir.Primitive("_jump", [top], s.loc), end]

    def for_in(self, s: ast.ForInStatement) -> None:
        """`for (T x in lo .. hi)`: x takes every value from lo to hi inclusive."""
        rng = s.collection
        if not (isinstance(rng, ast.Binary) and rng.op == ".."):
            raise unsupported("only 'for (x in lo .. hi)' loops are supported on BMv2", s)
        self.declare(s.var)
        var = self.scope.find(s.var)
        lo, hi = as_data(self.flat.value(rng.left)), as_data(self.flat.value(rng.right))
        top, cont, end = Label(), Label(), Label()
        self.out.append(ir.Primitive("assign", [var.expr, lo], s.loc))
        self.out.append(ir.Primitive("_jump_if_zero", [
            as_data(ir.Op("<=", lo, hi, is_bool=True)), end], s.loc))
        self.out.append(top)
        self.loop_body(s.body, end, cont)
        self.out.append(cont)
        self.out.append(ir.Primitive("_jump_if_zero", [
            as_data(ir.Op("!=", var.expr, hi, is_bool=True)), end], s.loc))
        width = var.expr.width
        self.out.append(ir.Primitive("assign", [var.expr, ir.Op(
            "&", ir.Op("+", var.expr, ir.Const(1)), ir.Const((1 << width) - 1, width),
            width=width)], s.loc))
        self.out += [ir.Primitive("_jump", [top], s.loc), end]

    def switch(self, s: ast.SwitchStatement) -> None:
        """A switch on a value: compare against each label in turn (no fall-out: P4 cases
        do not fall through, empty cases share the next body)."""
        if self.in_parser:
            raise unsupported("'switch' inside a parser state is not supported", s)
        value = as_data(self.flat.value(s.expr))
        end = Label()
        pending = []
        for case in s.cases:
            pending.append(case.label)
            if case.body is None:
                continue
            next_case = Label()
            labels, pending = pending, []
            if not any(isinstance(x, ast.DefaultExpression) for x in labels):
                cond = None
                for lab in labels:
                    eq = ir.Op("==", value, as_data(self.flat.value(lab)), is_bool=True)
                    cond = eq if cond is None else ir.Op("or", cond, eq, is_bool=True)
                self.out.append(ir.Primitive("_jump_if_zero", [as_data(cond), next_case],
                                             case.loc))
            self.statement(case.body)
            self.out.append(ir.Primitive("_jump", [end], case.loc))
            self.out.append(next_case)
        self.out.append(end)

    # -- calls ---------------------------------------------------------------------------------
    def call(self, call: ast.MethodCall) -> None:
        callee = call.callee
        if isinstance(callee, ast.Member):
            base_t = callee.expr.type
            method = callee.member
            if method in ("setValid", "setInvalid") and not isinstance(
                    T.base_type(base_t), T.ExternType):
                loc = self.flat.loc(callee.expr)
                op = "add_header" if method == "setValid" else "remove_header"
                if isinstance(loc, UnionLoc):
                    raise unsupported("setValid/setInvalid on a header union", call)
                self.out.append(ir.Primitive(op, [loc.ref], call.loc))
                return
            if method in ("push_front", "pop_front") and isinstance(T.base_type(base_t),
                                                                   T.StackType):
                loc = self.flat.loc(callee.expr)
                ref = ir.UnionStackRef(loc.name) if loc.of_unions else ir.StackRef(loc.name)
                n = self.scope.folder.int_of(call.args[0].value, "push/pop count")
                self.out.append(ir.Primitive("push" if method == "push_front" else "pop",
                                             [ref, ir.Const(n, 32)], call.loc))
                return
            if method == "isValid":
                return
        decl = callee.decl if isinstance(callee, ast.Name) else None
        if isinstance(decl, (ast.ActionDeclaration, ast.FunctionDeclaration)):
            self.inline_call(decl, call)
            return
        if self.ctx.externs.call(self, call):
            return
        raise unsupported("this call is not supported here on BMv2", call)

    def inline_call(self, decl, call: ast.MethodCall, result=None) -> None:
        """Inline an action or function call: parameters bound, body lowered, then the
        copy-back of out/inout arguments — also on the way out of an `exit` inside it."""
        home = self.ctx.home_scope(decl)
        body_scope = home.child()
        back = self.bind_params(body_scope, bind_call(self.scope, decl.params, call.args, call),
                                call)
        end = Label()
        inner = StatementLowering(self.ctx, body_scope, self.out, self.in_parser,
                                  self.exit_label, end, result, [back] + self.exit_backs)
        body = list(decl.body.statements)
        tail = body.pop() if body and isinstance(body[-1], ast.ReturnStatement) else None
        inner.statements(body)
        if tail is not None and tail.value is not None and result is not None:
            # a return at the end needs no jump (parsers, which cannot jump, rely on this)
            inner.flat.copy(result, inner.flat.loc(tail.value), tail)
        self.out.append(end)
        self.out.extend(back)

    def bind_params(self, target: Scope, pairs: list, node, copy_out: bool = True) -> list:
        """Bind a call's parameters in `target`. Directionless and `in` parameters get the
        argument's value (copied into a temporary unless it is a constant). `out`/`inout`
        values are copied in and out through a temporary, P4's copy-in/copy-out (spec 6.7);
        header stacks, unions, standard_metadata and instances — and everything when
        copy_out is False, for inlined controls and parsers — alias the caller's storage.
        Returns the copy-back primitives the caller emits after the body."""
        back: list = []
        for p, arg in pairs:
            t = p.type_ref.type
            if arg is None or isinstance(arg, ast.DontCare):
                target.bind(p, self.ctx.storage.alloc(p.name, t, p.loc))
                continue
            if p.direction in ("out", "inout"):
                loc = self.flat.loc(arg)
                aliased = isinstance(loc, (CompileTimeLoc, StackLoc, UnionLoc)) or (
                    isinstance(loc, HeaderLoc) and not isinstance(loc.type, T.HeaderType))
                if not copy_out or aliased:  # standard_metadata itself goes to the externs
                    target.bind(p, loc)
                    continue
                tmp = self.ctx.storage.alloc(p.name, t, p.loc)
                if p.direction == "inout":
                    self.flat.copy(tmp, loc, node)
                elif isinstance(tmp, HeaderLoc):
                    self.out.append(ir.Primitive("remove_header", [tmp.ref], node.loc))
                Flattener(self.ctx, self.scope, back).copy(loc, tmp, node)
                target.bind(p, tmp)
                continue
            if is_scalar(t) or isinstance(T.base_type(t), T.IntType):
                n = self.scope.folder.try_number(arg)
                if n is not None:
                    target.bind(p, ScalarLoc(const_for(n, t), t))
                    continue
            src = self.flat.loc(arg)
            if isinstance(src, CompileTimeLoc):
                target.bind(p, src)
                continue
            tmp = self.ctx.storage.alloc(p.name, t, p.loc)
            self.flat.copy(tmp, src, node)
            target.bind(p, tmp)
        return back


def call_for_value(ctx, flat: Flattener, e: ast.MethodCall):
    """The value of a function call: inlined, its result in a temporary."""
    decl = e.callee.decl if isinstance(e.callee, ast.Name) else None
    lowering = StatementLowering(ctx, flat.scope, flat.sink, flat.in_parser)
    if isinstance(decl, ast.FunctionDeclaration):
        result = ctx.storage.alloc("retval", e.type, e.loc)
        lowering.inline_call(decl, e, result)
        return result
    raise unsupported("this call is not supported in an expression on BMv2", e)
