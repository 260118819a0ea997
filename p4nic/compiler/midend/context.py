"""State shared by the midend passes while one program is lowered."""
from __future__ import annotations

from typing import Optional

from p4nic.compiler import ast
from p4nic.compiler.midend import ir
from p4nic.compiler.midend.actions import Label, StatementLowering, call_for_value, resolve_jumps
from p4nic.compiler.midend.constfold import Folder
from p4nic.compiler.midend.externs import Externs, ExternInstance
from p4nic.compiler.midend.flatten import unsupported
from p4nic.compiler.midend.inline import Scope, bind_call, constant_bindings
from p4nic.compiler.p4info.naming import BlockPath, external_name
from p4nic.compiler.midend.localvars import CompileTimeLoc, Names, ScalarLoc, Storage, width_of
from p4nic.compiler.midend.parsers import lookahead_value


def declared_names(program: ast.Program) -> set:
    """Every declared name, so compiler-made names (act, tbl_act, node, calc...) never clash."""
    names = set()

    def walk(d):
        name = getattr(d, "name", None)
        if isinstance(name, str):
            names.add(name)
        for attr in ("locals", "states"):
            for x in getattr(d, attr, None) or []:
                walk(x)
    for d in program.declarations:
        walk(d)
    return names


class MidendContext:
    """The program being built, its storage, names and the registries of actions/externs."""

    def __init__(self, typed):
        self.typed = typed
        self.out = ir.LoweredProgram()
        self.storage = Storage(self.out)
        self.names = Names(declared_names(typed.program))
        self.state_names = Names()
        self.folder = Folder(typed.constants, typed.errors)
        self.globals = Scope(None, BlockPath(None), self.folder)
        self.homes: dict = {}  # id(action/function decl) -> Scope it was declared in
        self.table_actions: dict = {}  # (decl, home path, ActionRef if bound) -> ir.Action
        self.externs = Externs(self)
        self.preserved_fields: dict = {}  # @field_list index -> [Field]
        self.table_results: dict = {}  # id(`t.apply().hit` node) -> (bool temp, negate)
        for d in typed.program.declarations:
            if isinstance(d, ast.Instantiation) and d.name != "main":
                self.instantiate(d, self.globals)

    # -- scopes and names ----------------------------------------------------------------------
    def home_scope(self, decl) -> Scope:
        """The scope an action or function was declared in (a control instance, or top level)."""
        return self.homes.get(id(decl), self.globals)

    def global_action(self, name: str) -> Optional[ast.ActionDeclaration]:
        for d in self.typed.program.declarations:
            if isinstance(d, ast.ActionDeclaration) and d.name == name:
                return d
        return None

    def action_label(self, decl: ast.ActionDeclaration) -> str:
        """The JSON name of an action, without lowering it (for `switch` labels)."""
        return self.home_scope(decl).path.name(decl)

    def table_action(self, decl: ast.ActionDeclaration, use_scope: Scope, ref=None) -> ir.Action:
        """A table's action (ActionRef `ref`, used in `use_scope`), lowered the first time."""
        if not isinstance(decl, ast.ActionDeclaration):
            raise unsupported("expected an action", ref)
        home = self.home_scope(decl)
        bound = list(ref.args) if ref is not None and ref.args else []
        # each reference with bound arguments is its own action, under the same name (p4c)
        key = (decl, home.path, ref if bound else None)  # declarations hash by identity
        if key in self.table_actions:
            return self.table_actions[key]
        name = home.path.name(decl)
        scope = home.child()
        params = []
        for i, p in enumerate(decl.params):
            t = p.type_ref.type
            if p.direction is None and i >= len(bound):
                params.append((p.name, width_of(t)))
                scope.bind(p, ScalarLoc(ir.RuntimeData(len(params) - 1, width_of(t)), t))
        prims: list = []
        end = Label()
        lowering = StatementLowering(self, scope, prims, exit_label=end, return_label=end)
        back = []
        if bound:  # arguments bound in the table's action list, evaluated where it is
            pairs = bind_call(use_scope, decl.params[:len(bound)], bound, ref)
            back = StatementLowering(self, use_scope, prims).bind_params(scope, pairs, ref)
        lowering.statements(decl.body.statements)
        prims.append(end)
        prims.extend(back)
        action = ir.Action(name, params, resolve_jumps(prims), decl.loc)
        self.table_actions[key] = action
        self.out.actions.append(action)
        return action

    # -- instances -----------------------------------------------------------------------------
    def instantiate(self, d: ast.Instantiation, scope: Scope) -> None:
        """Bind an instantiation: sub-control/sub-parser instances are inlined where applied,
        extern instances become BMv2 objects now."""
        target = d.type_ref.decl
        if isinstance(target, (ast.ControlDeclaration, ast.ParserDeclaration)):
            from p4nic.compiler.midend.controls import ControlSite
            pairs = bind_call(scope, target.ctor_params, d.args, d)
            instances = {}
            for p, v in pairs:  # instances passed as constructor arguments
                if isinstance(v, ast.Name) and isinstance(scope.find(v.decl), CompileTimeLoc):
                    instances[p] = scope.find(v.decl)
            kind = "control" if isinstance(target, ast.ControlDeclaration) else "parser"
            site = ControlSite(target, constant_bindings(scope, pairs),
                               scope.path.enter(external_name(d)), instances)
            scope.bind(d, CompileTimeLoc(kind, site))
            return
        scope.bind(d, self.externs.instantiate(scope, d, scope.path.name(d)))

    def extern_of(self, e, scope: Scope, default_name: str) -> ExternInstance:
        """The extern instance a table property names (or constructs in place)."""
        if isinstance(e, ast.Name):
            loc = scope.lookup(e)
            if isinstance(loc, CompileTimeLoc) and loc.kind == "extern":
                return loc.value
        if isinstance(e, ast.ConstructorCall):
            inst = ast.Instantiation(default_name.rsplit(".", 1)[-1], e.type_ref, e.args,
                                     loc=e.loc)
            loc = self.externs.instantiate(scope, inst, default_name)
            return loc.value
        raise unsupported("expected an extern instance", e)

    def instance_site(self, callee, scope: Scope, kind: str):
        """The sub-control/sub-parser that callee `x.apply` applies: a bound instance, or a
        control/parser type applied directly, an anonymous instance named after the type
        (p4c frontends/p4/directCalls.cpp); None if callee is not such an apply."""
        from p4nic.compiler.midend.controls import ControlSite
        cls = ast.ControlDeclaration if kind == "control" else ast.ParserDeclaration
        if isinstance(callee, ast.TypeMember) and callee.member == "apply":
            decl = getattr(callee.type_ref, "decl", None)
        elif isinstance(callee, ast.Member) and callee.member == "apply" and isinstance(
                callee.expr, ast.Name):
            decl = callee.expr.decl
        else:
            return None
        if isinstance(decl, cls):
            return ControlSite(decl, {}, scope.path.enter(decl.name))
        loc = scope.find(decl)
        if isinstance(loc, CompileTimeLoc) and loc.kind == kind:
            return loc.value
        return None

    # -- hooks used by flatten -----------------------------------------------------------------
    def call_for_value(self, flat, e):
        return call_for_value(self, flat, e)

    def lookahead_value(self, flat, e):
        return lookahead_value(flat, e)

