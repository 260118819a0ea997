"""Control bodies to BMv2 pipelines: a graph of tables and conditionals.

The body is lowered back to front, each statement knowing the node that follows it, so that
`return`, `exit`, `if` joins and `switch (t.apply().action_run)` are plain edges. Runs of
statements that are not table applications become one compiler-made action applied through a
keyless hidden table whose const default action it is (JSON_format.md "pipelines", Note 1;
p4c's tbl_act tables). Sub-control instances are inlined at their `apply` call.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from p4nic.compiler import ast
from p4nic.compiler import types as T
from p4nic.compiler.errors import CompileError
from p4nic.compiler.midend import ir
from p4nic.compiler.midend.actions import Label, StatementLowering, resolve_jumps
from p4nic.compiler.midend.flatten import Flattener, as_bool, as_data, unsupported
from p4nic.compiler.midend.inline import Scope, arguments_overlap, bind_call
from p4nic.compiler.p4info import key_name
from p4nic.compiler.typecheck import entry_priority_values, table_priority_rules
from p4nic.compiler.p4info.naming import BlockPath, control_plane_name
from p4nic.compiler.midend.localvars import (CompileTimeLoc, HeaderLoc, ScalarLoc, StackLoc,
                                             StructLoc, UnionLoc, const_for)

MATCH_KIND_ORDER = {"exact": 0, "lpm": 1, "ternary": 2, "range": 3}


@dataclass
class TableSite:
    """A table of one control instance. Once lowered, `first` is the node that applies it
    (after any key computation), and `bindings` what its instance's scope bound then."""
    decl: ast.TableDeclaration
    scope: Scope
    name: str
    table: Optional[ir.Table] = None
    first: Optional[str] = None
    bindings: dict = field(default_factory=dict)

    def reapply(self, next_tables: dict, at) -> str:
        """Another application of the table: BMv2 holds a table once, with one next_tables
        map, so p4c accepts this only when every application goes on to the same nodes
        (backends/bmv2/common/controlFlowGraph.cpp, CFG::checkMergeable) — and, here, when
        its instance still sees the same storage (a sub-control applied to other arguments
        would need copies of its tables)."""
        same_storage = all(self.scope.bindings.get(k) == v for k, v in self.bindings.items())
        if next_tables != self.table.next_tables or not same_storage:
            raise CompileError(f"table '{self.decl.name}' is applied more than once with "
                               "different successors or arguments; BMv2 cannot express that",
                               at.loc, "unsupported")
        return self.first


@dataclass
class ControlSite:
    """A sub-control instance: its declaration, constructor bindings and instance path.

    Its apply parameters are bound once, at the first call, so that its tables see the same
    storage at every call. `shared_arguments`: every call passes the same arguments, none
    overlapping another, so parameters stand for the arguments themselves (p4c's inliner
    substitutes them); otherwise each parameter is a variable of the instance, copied in before
    and out after each call (p4c's temporaries)."""
    decl: ast.ControlDeclaration
    constants: dict
    path: BlockPath
    instances: dict = field(default_factory=dict)  # constructor parameter -> CompileTimeLoc

    scope: Optional[Scope] = None
    shared_arguments: bool = True
    calls_known: bool = False
    params_bound: bool = False
    first_args: dict = field(default_factory=dict)   # parameter -> its first call's argument
    copied: set = field(default_factory=set)         # id() of parameters copied in and out

    def scope_in(self, caller: Scope) -> Scope:
        """The scope of the instance's body: made at the first apply, kept for later ones so
        that locals, tables and externs exist once per instance (the caller rebinds the apply
        parameters each time)."""
        if self.scope is None:
            self.scope = caller.child(path=self.path, constants=self.constants)
            for p, loc in self.instances.items():
                self.scope.bind(p, loc)
        return self.scope


def table_call(e) -> Optional[tuple]:
    """(table Name, result member) for `t.apply().hit/.miss/.action_run`; (Name, None) for
    `t.apply()`; None otherwise."""
    member = None
    if isinstance(e, ast.Member) and isinstance(e.expr, ast.MethodCall):
        member, e = e.member, e.expr
    if (isinstance(e, ast.MethodCall) and isinstance(e.callee, ast.Member)
            and e.callee.member == "apply" and isinstance(e.callee.expr, ast.Name)
            and isinstance(e.callee.expr.decl, ast.TableDeclaration)):
        return e.callee.expr, member
    return None


def applies(node):
    """Table and sub-control applications inside node."""
    if isinstance(node, ast.MethodCall) and isinstance(node.callee, (ast.Member, ast.TypeMember)) \
            and node.callee.member == "apply":
        yield node
    if isinstance(node, (ast.Node, list, tuple)):
        children = node if isinstance(node, (list, tuple)) else [
            getattr(node, f) for f in node.__dataclass_fields__
            if f not in ("loc", "type", "decl")]
        for c in children:
            if isinstance(c, (ast.Node, list, tuple)):
                yield from applies(c)


def nested_table_results(node):
    """`t.apply().hit/.miss` reads inside node, in source order."""
    if isinstance(node, ast.Member) and node.member in ("hit", "miss") \
            and table_call(node) is not None:
        yield node
        return
    if isinstance(node, (ast.Node, list, tuple)):
        children = node if isinstance(node, (list, tuple)) else [
            getattr(node, f) for f in node.__dataclass_fields__
            if f not in ("loc", "type", "decl")]
        for c in children:
            if isinstance(c, (ast.Node, list, tuple)):
                yield from nested_table_results(c)


def in_place_name(table: ir.Table, prop: ast.TableProperty) -> str:
    """The name of an extern constructed inside a table property: the property's @name, not
    prefixed (as the P4Info back end names it, after p4c hierarchicalNames.h)."""
    if prop.annotation("name") is not None:
        return control_plane_name(prop)
    return f"{table.name}.{prop.name}"


class ControlLowering:
    """Builds one pipeline (ingress or egress) from a top-level control and what it inlines."""

    def __init__(self, ctx, pipeline: ir.Pipeline):
        self.ctx = ctx
        self.pipeline = pipeline
        self.listed: dict = {}  # the actions of the table being lowered, by declaration

    # -- instances -----------------------------------------------------------------------------
    def instance(self, decl: ast.ControlDeclaration, scope: Scope,
                 next_node: Optional[str]) -> Optional[str]:
        """Lower a control whose apply parameters `scope` already binds; returns its first node."""
        init = []
        for d in decl.locals:
            self.local(d, scope, init)
        self.note_calls(decl, scope)
        return self.block(init + list(decl.body.statements), scope, next_node, next_node)

    @staticmethod
    def note_calls(decl: ast.ControlDeclaration, scope: Scope) -> None:
        """For each sub-control instance `decl` declares: do all its calls in `decl`'s body
        pass the same, non-overlapping arguments (ControlSite.shared_arguments)?"""
        calls: dict = {}
        for c in applies(decl.body):
            if isinstance(c.callee, ast.Member) and isinstance(c.callee.expr, ast.Name):
                calls.setdefault(id(c.callee.expr.decl), []).append(c)
        for d in decl.locals:
            loc = scope.find(d) if isinstance(d, ast.Instantiation) else None
            if not (isinstance(loc, CompileTimeLoc) and loc.kind == "control"):
                continue
            site = loc.value
            if site.calls_known or not calls.get(id(d)):
                continue
            site.calls_known = True
            bound = [bind_call(scope, site.decl.params, c.args, c) for c in calls[id(d)]]
            first = bound[0]
            for other, call in zip(bound[1:], calls[id(d)][1:]):
                for (p, a), (_, b) in zip(first, other):
                    if ast.same_expression(a, b):
                        continue
                    if p.direction is None:
                        raise CompileError(f"'{p.name}': a directionless parameter must be given "
                                           f"the same value in every call of '{d.name}'",
                                           call.loc, "unsupported")
                    site.shared_arguments = False
            if arguments_overlap([a for p, a in first if p.direction is not None]):
                site.shared_arguments = False

    def local(self, d, scope: Scope, init: list) -> None:
        if scope.find(d) is not None and not isinstance(d, ast.VariableDeclaration):
            return  # declared when this instance was applied before
        if isinstance(d, ast.VariableDeclaration):
            init.append(d)
        elif isinstance(d, (ast.ActionDeclaration, ast.FunctionDeclaration)):
            self.ctx.homes[id(d)] = scope
        elif isinstance(d, ast.TableDeclaration):
            scope.bind(d, CompileTimeLoc("table", TableSite(d, scope, scope.path.name(d))))
        elif isinstance(d, ast.Instantiation):
            self.ctx.instantiate(d, scope)
            profile = getattr(scope.find(d).value, "emitted", None)
            if isinstance(profile, ir.ActionProfile):  # listed even if no table uses it
                self.pipeline.action_profiles.append(profile)
        elif isinstance(d, ast.ConstantDeclaration):
            pass
        else:
            raise unsupported(f"{type(d).__name__} is not supported inside a control", d)

    # -- statement lists -----------------------------------------------------------------------
    def block(self, stmts: list, scope: Scope, next_node: Optional[str],
              return_target: Optional[str]) -> Optional[str]:
        for s in stmts:
            if isinstance(s, ast.VariableDeclaration) and scope.find(s) is None:
                scope.bind(s, self.ctx.storage.alloc(s.name, s.type_ref.type, s.loc))
        node = next_node
        group: list = []
        for s in reversed(stmts):
            if isinstance(s, ast.ReturnStatement):
                group, node = [], return_target
            elif isinstance(s, ast.ExitStatement):
                group, node = [s], None
            elif self.direct_action_args(s, scope) is not None:
                node = self.action_table(group, scope, node)
                group = []
                node = self.direct_action_call(s, scope, node)
            elif self.is_simple(s) and not any(nested_table_results(s)):
                group.insert(0, s)
            elif self.is_simple(s):
                node = self.action_table(group, scope, node)
                group = []
                calls = self.table_result_temps(s)
                node = self.action_table([s], scope, node)
                node = self.hoist_table_calls(calls, scope, node)
            else:
                node = self.action_table(group, scope, node)
                group = []
                node = self.statement(s, scope, node, return_target)
        return self.action_table(group, scope, node)

    @staticmethod
    def is_simple(s) -> bool:
        if isinstance(s, (ast.AssignmentStatement, ast.VariableDeclaration,
                          ast.ConstantDeclaration, ast.EmptyStatement)):
            return True
        if isinstance(s, (ast.ForStatement, ast.ForInStatement)):
            return not any(applies(s))  # loops run inside one action (actions.py)
        if isinstance(s, ast.MethodCallStatement):
            c = s.call.callee
            if table_call(s.call) is not None:
                return False
            if isinstance(c, (ast.Member, ast.TypeMember)) and c.member == "apply":
                return False
            return True
        return False

    def table_result_temps(self, node_ast) -> list:
        """Temporaries for the `t.apply().hit/.miss` reads inside node_ast, bound before the
        code reading them is lowered; `hoist_table_calls` then applies the tables."""
        calls = list(nested_table_results(node_ast))
        for member in calls:
            tmp = self.ctx.storage.alloc("hit", T.BoolType())
            self.ctx.table_results[id(member)] = (tmp, member.member == "miss")
        return calls

    def hoist_table_calls(self, calls: list, scope: Scope, first: Optional[str]) -> Optional[str]:
        """Apply each table before `first`, recording hit or miss in its temporary (every such
        table is applied, in source order)."""
        for member in reversed(calls):
            tmp, _ = self.ctx.table_results[id(member)]
            hit = self.hidden_table([ir.Primitive("assign", [tmp.expr, ir.Const(1, 1)])],
                                    member.loc, first)
            miss = self.hidden_table([ir.Primitive("assign", [tmp.expr, ir.Const(0, 1)])],
                                     member.loc, first)
            first = self.table(table_call(member)[0], scope, {"__HIT__": hit, "__MISS__": miss},
                               first)
        return first

    @staticmethod
    def direct_action_args(s, scope: Scope) -> Optional[tuple]:
        """For `a(...);` in a control body: (arguments of its directional parameters, values
        of its directionless ones) when the latter are constants; None otherwise."""
        if not isinstance(s, ast.MethodCallStatement):
            return None
        callee = s.call.callee
        decl = callee.decl if isinstance(callee, ast.Name) else None
        if not isinstance(decl, ast.ActionDeclaration):
            return None
        pairs = bind_call(scope, decl.params, s.call.args, s.call)
        bound = [ast.Argument(v, loc=s.loc) for p, v in pairs if p.direction]
        values = [scope.folder.try_number(v) if v is not None else None
                  for p, v in pairs if not p.direction]
        return None if None in values else (bound, values)

    def direct_action_call(self, s, scope: Scope, next_node: Optional[str]) -> str:
        """`a(...)` in a control body applies the action itself (its directional arguments
        bound, its directionless ones as action data) through a hidden table with it as const
        default action, as p4c does — so the action keeps its name (and P4Info id)."""
        bound, values = self.direct_action_args(s, scope)
        callee = s.call.callee
        ref = ast.ActionRef(callee, bound, loc=s.loc) if bound else None
        action = self.ctx.table_action(callee.decl, scope, ref)
        table = ir.Table(self.ctx.names.numbered(f"tbl_{action.name.rsplit('.', 1)[-1]}"), [],
                         [action], {action.name: next_node}, next_node, action, values, True,
                         hidden=True, loc=s.loc)
        self.pipeline.tables.append(table)
        return table.name

    def action_table(self, stmts: list, scope: Scope, next_node: Optional[str]) -> Optional[str]:
        """A compiler-made action running `stmts`, applied by a hidden keyless table."""
        if not any(not isinstance(s, (ast.EmptyStatement, ast.ConstantDeclaration)) and not (
                isinstance(s, ast.VariableDeclaration) and s.init is None
                and not isinstance(T.base_type(s.type_ref.type), T.HeaderType))
                   for s in stmts):
            return next_node
        prims: list = []
        end = Label()
        StatementLowering(self.ctx, scope, prims, exit_label=end).statements(stmts)
        prims.append(end)
        prims = resolve_jumps(prims)
        if not prims:
            return next_node
        return self.hidden_table(prims, stmts[0].loc, next_node)

    def hidden_table(self, prims: list, loc, next_node: Optional[str]) -> str:
        action = ir.Action(self.ctx.names.numbered("act"), [], prims, loc)
        self.ctx.out.actions.append(action)
        table = ir.Table(self.ctx.names.numbered(f"tbl_{action.name}"), [], [action],
                         {action.name: next_node}, next_node, action, [], True,
                         hidden=True, loc=loc)
        self.pipeline.tables.append(table)
        return table.name

    def statement(self, s, scope: Scope, next_node, return_target) -> Optional[str]:
        if isinstance(s, ast.BlockStatement):
            return self.block(s.statements, scope, next_node, return_target)
        if isinstance(s, ast.IfStatement):
            return self.if_(s, scope, next_node, return_target)
        if isinstance(s, ast.SwitchStatement):
            return self.switch(s, scope, next_node, return_target)
        if isinstance(s, ast.MethodCallStatement):
            tc = table_call(s.call)
            if tc is not None:
                return self.table(tc[0], scope, None, next_node)
            return self.apply_instance(s.call, scope, next_node)
        raise unsupported(f"{type(s).__name__} is not supported in a control on BMv2", s)

    def if_(self, s: ast.IfStatement, scope, next_node, return_target, hoisted=False):
        then_first = lambda: self.block([s.then], scope, next_node, return_target)
        else_first = lambda: (self.block([s.else_], scope, next_node, return_target)
                              if s.else_ is not None else next_node)
        cond, negated = s.cond, False
        while isinstance(cond, ast.Unary) and cond.op == "!":
            cond, negated = cond.operand, not negated
        tc = table_call(cond)
        if tc is not None and tc[1] in ("hit", "miss"):
            hit_first, miss_first = (then_first, else_first)
            if (tc[1] == "miss") != negated:
                hit_first, miss_first = else_first, then_first
            miss = miss_first()
            hit = hit_first()
            return self.table(tc[0], scope, {"__HIT__": hit, "__MISS__": miss}, next_node)
        if not hoisted and any(nested_table_results(s.cond)):
            calls = self.table_result_temps(s.cond)
            first = self.if_(s, scope, next_node, return_target, hoisted=True)
            return self.hoist_table_calls(calls, scope, first)
        pre: list = []
        flat = Flattener(self.ctx, scope, pre)
        expr = as_bool(flat.value(s.cond))
        if isinstance(expr, ir.BoolConst):
            return then_first() if expr.value else else_first()
        false_next = else_first()
        true_next = then_first()
        cond_node = ir.Conditional(self.ctx.names.fresh("node"), expr, true_next, false_next,
                                   getattr(s.cond, "loc", None) or s.loc)   # p4c: the condition
        self.pipeline.conditionals.append(cond_node)
        if pre:
            return self.hidden_table(resolve_jumps(pre), s.loc, cond_node.name)
        return cond_node.name

    def switch(self, s: ast.SwitchStatement, scope, next_node, return_target):
        tc = table_call(s.expr)
        if tc is None or tc[1] != "action_run":
            # A switch on a value: the same lowering as an if/else chain.
            return self.value_switch(s, scope, next_node, return_target)
        targets, pending, default = {}, [], next_node
        for case in s.cases:
            pending.append(case.label)
            if case.body is None:
                continue
            first = self.block([case.body], scope, next_node, return_target)
            for lab in pending:
                if isinstance(lab, ast.DefaultExpression):
                    default = first
                else:
                    targets[id(lab.decl)] = (lab.decl, first)
            pending = []
        for lab in pending:  # trailing labels without a body go straight on
            if not isinstance(lab, ast.DefaultExpression):
                targets[id(lab.decl)] = (lab.decl, next_node)
        by_name = {}
        for decl, first in targets.values():
            by_name[self.ctx.action_label(decl)] = first
        return self.table(tc[0], scope, ("switch", by_name, default), next_node)

    def value_switch(self, s: ast.SwitchStatement, scope, next_node, return_target):
        chain = []
        pending = []
        for case in s.cases:
            pending.append(case.label)
            if case.body is not None:
                chain.append((pending, case.body))
                pending = []
        node = next_node
        pre: list = []
        flat = Flattener(self.ctx, scope, pre)
        value = as_data(flat.value(s.expr))
        if pre or not isinstance(value, (ir.Field, ir.Const)):
            tmp = flat.temp(s.expr.type, "switch_value")
            pre.append(ir.Primitive("assign", [tmp.expr, value], s.loc))
            value = tmp.expr
        for labels, body in reversed(chain):
            first = self.block([body], scope, next_node, return_target)
            if any(isinstance(x, ast.DefaultExpression) for x in labels):
                node = first
                continue
            cond = None
            for lab in labels:
                eq = ir.Op("==", value, as_data(flat.value(lab)), is_bool=True)
                cond = eq if cond is None else ir.Op("or", cond, eq, is_bool=True)
            c = ir.Conditional(self.ctx.names.fresh("node"), cond, first, node, s.loc)
            self.pipeline.conditionals.append(c)
            node = c.name
        if pre:
            return self.hidden_table(resolve_jumps(pre), s.loc, node)
        return node

    def apply_instance(self, call: ast.MethodCall, scope: Scope, next_node):
        site = self.ctx.instance_site(call.callee, scope, "control")
        if site is None:
            raise unsupported("only controls can be applied here", call)
        child = site.scope_in(scope)
        pre: list = []
        back: list = []
        self.bind_arguments(site, child, bind_call(scope, site.decl.params, call.args, call),
                            call, scope, pre, back)
        after = self.hidden_table(resolve_jumps(back), call.loc, next_node) if back else next_node
        first = self.instance(site.decl, child, after)
        if pre:
            return self.hidden_table(resolve_jumps(pre), call.loc, first)
        return first

    def bind_arguments(self, site: ControlSite, child: Scope, pairs: list, call, scope: Scope,
                       pre: list, back: list) -> None:
        """Bind the instance's apply parameters at its first call; at every call, copy into
        `pre` and out into `back` those that are variables of the instance. A parameter stands
        for its argument's own storage when every call passes the same one (or it is an
        instance or standard_metadata, which must then be the same at every call)."""
        flat = Flattener(self.ctx, scope, pre)
        first = not site.params_bound
        site.params_bound = True
        for p, arg in pairs:
            if p.direction is None or arg is None or isinstance(arg, ast.DontCare):
                if first:
                    StatementLowering(self.ctx, scope, pre).bind_params(child, [(p, arg)], call,
                                                                         copy_out=False)
                continue
            if not first and id(p) not in site.copied:
                if not site.shared_arguments and not ast.same_expression(arg, site.first_args[p]):
                    raise unsupported(f"'{p.name}' must be the same in every call of this "
                                      f"instance on BMv2", arg)
                continue
            src = flat.loc(arg)
            if first:
                site.first_args[p] = arg
                fixed = isinstance(src, CompileTimeLoc) or (
                    isinstance(src, HeaderLoc) and not isinstance(src.type, T.HeaderType))
                if fixed or (site.shared_arguments and self.is_storage(arg, src, scope)):
                    child.bind(p, src)
                    continue
                n = scope.folder.try_number(arg) if p.direction == "in" else None
                if n is not None and site.shared_arguments:
                    child.bind(p, ScalarLoc(const_for(n, p.type_ref.type), p.type_ref.type))
                    continue
                child.bind(p, self.ctx.storage.alloc(p.name, p.type_ref.type, p.loc))
                site.copied.add(id(p))
            var = child.find(p)
            if p.direction in ("in", "inout"):
                flat.copy(var, src, call)
            elif isinstance(var, HeaderLoc):
                pre.append(ir.Primitive("remove_header", [var.ref], call.loc))
            if p.direction in ("out", "inout"):
                Flattener(self.ctx, scope, back).copy(src, var, call)

    @staticmethod
    def is_storage(arg, src, scope: Scope) -> bool:
        """Is `arg` a place (a variable, field, header, struct or stack at constant indexes)
        that a parameter can stand for?"""
        e = arg
        while isinstance(e, (ast.Member, ast.Index)):
            if isinstance(e, ast.Index) and scope.folder.try_number(e.index) is None:
                return False
            e = e.expr
        if not isinstance(e, ast.Name):
            return False
        if isinstance(src, ScalarLoc):
            return isinstance(src.expr, ir.Field)
        return isinstance(src, (HeaderLoc, StructLoc, StackLoc, UnionLoc))

    # -- tables --------------------------------------------------------------------------------
    def site(self, name: ast.Name, scope: Scope) -> TableSite:
        loc = scope.lookup(name)
        if not (isinstance(loc, CompileTimeLoc) and loc.kind == "table"):
            raise unsupported("expected a table", name)
        return loc.value

    def table(self, name: ast.Name, scope: Scope, nexts, next_node) -> str:
        site = self.site(name, scope)
        decl = site.decl
        if site.table is not None:
            return site.reapply(self.next_tables(site.table, nexts, next_node), name)
        tscope = site.scope
        site.bindings = dict(tscope.bindings)
        pre: list = []
        flat = Flattener(self.ctx, tscope, pre)
        table = ir.Table(site.name, [], [], {}, next_node, None, loc=decl.loc)
        selector_inputs = []
        key_prop = decl.prop("key")
        keys = key_prop.value if key_prop is not None else []
        calls = self.table_result_temps(keys)  # `t2.apply().hit` as a key: t2 goes first
        for k in keys:
            target, mask = self.key_target(flat, k, pre)
            name = key_name(k)
            if k.match_kind == "selector":
                selector_inputs.append(target)
                continue
            mt = "ternary" if k.match_kind == "optional" else k.match_kind
            table.keys.append(ir.TableKey(mt, target, mask, name))
        kinds = [k.match_type for k in table.keys]
        if kinds.count("lpm") > 1:   # p4c's BMv2 back end (control.h) refuses these too
            raise unsupported(f"table '{decl.name}' has more than one lpm key, which BMv2 "
                              f"does not support", decl)
        table.match_type = max(kinds, key=lambda m: MATCH_KIND_ORDER.get(m, 0), default="exact")
        self.table_properties(table, decl, tscope, selector_inputs)
        table.next_tables = self.next_tables(table, nexts, next_node)
        self.pipeline.tables.append(table)
        first = table.name
        if pre:
            first = self.hidden_table(resolve_jumps(pre), decl.loc, first)
        site.table, site.first = table, self.hoist_table_calls(calls, tscope, first)
        return site.first

    @staticmethod
    def next_tables(table: ir.Table, nexts, next_node: Optional[str]) -> dict:
        """Where the table goes on: by action (`nexts` None: all to next_node; a ("switch",
        by_name, other) triple), or the given {"__HIT__", "__MISS__"} map."""
        if nexts is None:
            return {a.name: next_node for a in table.actions}
        if isinstance(nexts, tuple):
            _, by_name, other = nexts
            return {a.name: by_name.get(a.name, other) for a in table.actions}
        return nexts

    def key_target(self, flat: Flattener, k: ast.KeyElement, pre: list):
        e = k.expr
        mask = None
        if (isinstance(e, ast.Binary) and e.op == "&"
                and flat.scope.folder.try_number(e.right) is not None):
            mask = flat.scope.folder.try_number(e.right)
            e = e.left
        if isinstance(e, ast.MethodCall) and isinstance(e.callee, ast.Member) \
                and e.callee.member == "isValid":
            h = flat.loc(e.callee.expr)
            if isinstance(h, HeaderLoc) and h.name is not None:
                return ir.Field(h.name, "$valid$", 1), None
        if isinstance(e, (ast.Name, ast.Member, ast.Index)):
            loc = flat.loc(e)
            if isinstance(loc, ScalarLoc) and isinstance(loc.expr, ir.Field):
                return loc.expr, mask
        tmp = self.ctx.storage.alloc("key", k.expr.type, k.loc)
        flat.copy(tmp, flat.loc(k.expr), k)
        return tmp.expr, None

    def table_properties(self, table: ir.Table, decl, scope: Scope, selector_inputs) -> None:
        folder = scope.folder
        size = decl.prop("size")
        if size is not None:
            table.max_size = folder.int_of(size.value, "table size")
        actions_prop = decl.prop("actions")
        listed = {}  # id(action decl) -> ir.Action: default and entries use the listed one
        for ref in (actions_prop.value if actions_prop is not None else []):
            action = self.ctx.table_action(ref.name.decl, scope, ref)
            table.actions.append(action)
            listed.setdefault(id(ref.name.decl), action)
        self.listed = listed
        default = decl.prop("default_action")
        if default is not None:
            ref = default.value
            table.default_action = self.listed_action(ref, scope)
            table.default_args = self.action_args(ref, scope)
            table.default_const = default.const
        else:
            no_action = self.ctx.global_action("NoAction")
            if no_action is not None:
                table.default_action = listed.get(id(no_action)) or self.ctx.table_action(
                    no_action, scope)
        if table.default_action is not None and table.default_action not in table.actions:
            table.actions.append(table.default_action)
        timeout = decl.prop("support_timeout")
        if timeout is not None:
            table.support_timeout = bool(folder.value(timeout.value))
        impl = decl.prop("implementation")
        if impl is not None:
            inst = self.ctx.extern_of(impl.value, scope, in_place_name(table, impl))
            profile = inst.emitted
            if not isinstance(profile, ir.ActionProfile):
                raise unsupported("implementation must be an action_profile or "
                                  "action_selector", impl)
            if inst.kind == "action_selector":
                table.kind = "indirect_ws"
                if profile.selector_input and profile.selector_input != selector_inputs:
                    raise unsupported(f"action selector '{profile.name}' is shared by tables "
                                      f"whose selector keys differ; BMv2 gives a selector one "
                                      f"list of inputs", impl)
                profile.selector_input = selector_inputs
            else:
                table.kind = "indirect"
            table.action_profile = profile.name
            if profile not in self.pipeline.action_profiles:
                self.pipeline.action_profiles.append(profile)
        counters = decl.prop("counters")
        if counters is not None:
            inst = self.ctx.extern_of(counters.value, scope, in_place_name(table, counters))
            table.with_counters = True
            if inst.kind == "direct_counter":
                inst.binding, inst.size = table.name, table.max_size
        meters = decl.prop("meters")
        if meters is not None:
            inst = self.ctx.extern_of(meters.value, scope, in_place_name(table, meters))
            inst.binding, inst.size = table.name, table.max_size
            table.direct_meters = inst.name
        entries = decl.prop("entries")
        if entries is not None:
            for i, entry in enumerate(entries.value):
                table.entries.append(self.entry(table, entry, scope, i))
            if any(e.priority is not None for e in table.entries):
                self.bmv2_priorities(table, decl, scope.folder)

    def listed_action(self, ref: ast.ActionRef, scope: Scope) -> ir.Action:
        listed = self.listed.get(id(ref.name.decl))
        return listed if listed is not None else self.ctx.table_action(ref.name.decl, scope, ref)

    @staticmethod
    def action_args(ref: ast.ActionRef, scope: Scope) -> list:
        """The control-plane (directionless) arguments of an action reference, as numbers."""
        decl = ref.name.decl
        pairs = bind_call(scope, decl.params, ref.args, ref)
        return [scope.folder.int_of(v, "action argument") for p, v in pairs
                if p.direction is None and v is not None]

    def entry(self, table: ir.Table, entry: ast.TableEntry, scope: Scope, index: int):
        folder = scope.folder
        keys = entry.keys.elements if isinstance(entry.keys, ast.ListExpression) and len(
            table.keys) != 1 else [entry.keys]
        if isinstance(entry.keys, ast.ListExpression) and len(table.keys) == 1 and len(
                entry.keys.elements) == 1:
            keys = entry.keys.elements
        match = []
        for key, ks in zip(table.keys, keys):
            match.append(self.entry_key(key, ks, folder))
        ref = entry.action
        prio = folder.int_of(entry.priority, "priority") if entry.priority is not None else None
        spec = ir.TableEntrySpec(match, self.listed_action(ref, scope),
                                 self.action_args(ref, scope), prio)
        ann = entry.annotation("priority")
        if ann is not None and ann.args:  # BMv2's own order: smallest wins (control.h)
            spec.bmv2_priority = folder.int_of(ann.args[0], "@priority")
        return spec

    @staticmethod
    def entry_key(key: ir.TableKey, ks, folder):
        width = key.target.width
        full = (1 << width) - 1
        wildcard = isinstance(ks, (ast.DontCare, ast.DefaultExpression))
        if key.match_type == "exact":
            return ("exact", folder.int_of(ks, "entry key") & full)
        if key.match_type == "lpm":
            if wildcard:
                return ("lpm", 0, 0)
            if isinstance(ks, ast.Binary) and ks.op == "&&&":
                value, m = folder.int_of(ks.left), folder.int_of(ks.right) & full
                return ("lpm", value & full, bin(m).count("1"))
            return ("lpm", folder.int_of(ks) & full, width)
        if key.match_type == "ternary":
            if wildcard:
                return ("ternary", 0, 0)
            if isinstance(ks, ast.Binary) and ks.op == "&&&":
                return ("ternary", folder.int_of(ks.left) & full, folder.int_of(ks.right) & full)
            return ("ternary", folder.int_of(ks) & full, full)
        if key.match_type == "range":
            if wildcard:
                return ("range", 0, full)
            if isinstance(ks, ast.Binary) and ks.op == "..":
                return ("range", folder.int_of(ks.left) & full, folder.int_of(ks.right) & full)
            v = folder.int_of(ks) & full
            return ("range", v, v)
        raise CompileError(f"match kind {key.match_type} in const entries", ks.loc,
                           "unsupported")

    @staticmethod
    def bmv2_priorities(table: ir.Table, decl, folder) -> None:
        """Entries with `priority=` values: p4c computes the missing ones (the previous one's
        minus priority_delta, plus when the smallest wins), orders the entries by priority,
        and its BMv2 back end numbers them in that order (control.h: position, smaller
        wins), unless @priority gives a BMv2 priority."""
        largest_wins, delta = table_priority_rules(decl, folder.value)
        prios = entry_priority_values([e.priority for e in table.entries], largest_wins, delta)
        order = sorted(range(len(prios)), key=lambda i: -prios[i] if largest_wins else prios[i])
        for rank, i in enumerate(order):
            if table.entries[i].bmv2_priority is None:
                table.entries[i].bmv2_priority = rank + 1

