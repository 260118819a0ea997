"""Find the control-plane objects of a typed program and their fully qualified names.

p4c writes P4Info after its front end (backends/bmv2/simple_switch/main.cpp calls
serializeP4RuntimeIfRequired before the midend), so what P4Info shows is what survives the
front end, named as the front end names it:

* names are those of naming.py (inlined sub-blocks, hierarchical names);
* top-level actions used by a table keep their global name (localizeActions.cpp);
* tables, actions and sub-blocks nothing uses are removed (unusedDeclarations.cpp), extern
  instances are kept even when unused; actions called from other actions are inlined into the
  caller;
* an action called directly from a control body has its parameters bound at the call
  (removeParameters.cpp turns them all into locals), so P4Info lists it without parameters —
  unless a table, which comes first in p4c's order (localizeActions.cpp gives each user its
  own copy, and the serializer keeps the first copy of a name), lists it;
* a table with no `default_action` gets `NoAction` as default, and as a `@defaultonly` entry of
  its action list when it is not listed (createBuiltins.cpp).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import partial

from p4nic.compiler import ast
from p4nic.compiler.consteval import NotConstant, evaluate
from p4nic.compiler.errors import CompileError
from p4nic.compiler.p4info.naming import BlockPath, control_plane_name, external_name


def iter_nodes(node, condition_value=None):
    """Every ast node below `node` (inclusive), not following resolved `decl` links. With
    `condition_value(expr) -> bool | None`, the dead branch of an `if` or `?:` whose condition
    is a known constant is skipped, as p4c's front end folds it away before writing P4Info."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (list, tuple)):
            stack.extend(reversed(n))
            continue
        if not isinstance(n, ast.Node):
            continue
        yield n
        if condition_value is not None and isinstance(n, (ast.IfStatement, ast.Mux)):
            known = condition_value(n.cond)
            if known is not None:
                live = n.then if known else n.else_
                stack.extend([x for x in (live, n.cond) if x is not None])
                continue
        for f in dataclasses.fields(n):
            if f.name in ("decl", "type", "loc"):
                continue
            v = getattr(n, f.name)
            if isinstance(v, (ast.Node, list, tuple)):
                stack.append(v)


@dataclass
class Table:
    decl: ast.TableDeclaration
    name: str
    scope: BlockPath
    actions: list            # [(ActionDeclaration, control-plane name, ActionRef annotations)]
    default_action: ast.ActionDeclaration   # NoAction when the table names none
    default_name: str
    default_args: list       # ast.Arguments of the default action
    constants: dict          # values of constants and constructor parameters here


@dataclass
class Instance:
    decl: ast.Instantiation | ast.ValueSetDeclaration
    name: str
    extern: str                         # extern type name (counter, register, ...) or value_set
    constants: dict                     # values of constants and constructor parameters here


@dataclass
class ControlPlaneObjects:
    tables: list = field(default_factory=list)
    actions: dict = field(default_factory=dict)      # name -> ActionDeclaration
    instances: list = field(default_factory=list)    # extern instances and value sets
    digests: list = field(default_factory=list)      # (name, P4Type)
    called_directly: set = field(default_factory=set)  # action names shown without params
    extern_function_called: bool = False             # in a control (p4c then creates type_info)


class Collector:
    def __init__(self, typed):
        self.typed = typed
        self.out = ControlPlaneObjects()
        self.top_level = set(typed.program.declarations)
        self.no_action = next((d for d in typed.program.declarations
                               if isinstance(d, ast.ActionDeclaration) and d.name == "NoAction"),
                              None)
        self.digest_auto_names: dict = {}

    def run(self) -> ControlPlaneObjects:
        seen = set()
        constants = self.typed.constants
        for d in self.typed.program.declarations:
            if isinstance(d, ast.Instantiation) and d.name != "main":
                self.instance(d, BlockPath(None), seen, constants)
        for b in self.typed.blocks:
            if b.instance is not None:
                self.instance(b.instance, BlockPath(None), seen, constants)
            elif isinstance(b.decl, (ast.ControlDeclaration, ast.ParserDeclaration)):
                self.block(b.decl, BlockPath(b.decl.name), seen,
                           bind_constructor_args(b.decl, b.args, constants))
        return self.out

    def instance(self, inst: ast.Instantiation, scope: BlockPath, seen, constants) -> None:
        key = (id(inst), scope)  # one declaration, instantiated once per enclosing instance
        if key in seen:
            return
        seen.add(key)
        decl = instance_decl(inst)
        if isinstance(inst.type_ref.decl, ast.TypedefDeclaration):
            return  # p4c's evaluator makes no block for an instance of a typedef'd extern type
        if isinstance(decl, ast.ExternDeclaration):
            self.out.instances.append(Instance(inst, scope.name(inst), decl.name, constants))
        elif isinstance(decl, (ast.ControlDeclaration, ast.ParserDeclaration)):
            inner = bind_constructor_args(decl, inst.args, constants)
            if scope.top is None:
                self.block(decl, BlockPath(decl.name), seen, inner)
            else:
                self.block(decl, scope.enter(external_name(inst)), seen, inner)

    def block(self, decl, scope: BlockPath, seen, constants: dict) -> None:
        """Collect what one parser/control instance contributes; `constants` also holds the
        values of its constructor parameters."""
        used, inlined, direct_applies = self.used(decl, constants)
        for local in decl.locals:
            if isinstance(local, ast.Instantiation):
                sub = instance_decl(local)
                if isinstance(sub, ast.ExternDeclaration) or local in used:
                    self.instance(local, scope, seen, constants)
            elif isinstance(local, ast.TableDeclaration) and local in used:
                self.table(local, scope, constants)
            elif isinstance(local, ast.ValueSetDeclaration) and local in used:
                self.out.instances.append(Instance(local, scope.name(local), "value_set",
                                                   constants))
        for type_ref in direct_applies:
            path = ("." if type_ref.global_scope else "") + type_ref.name
            self.block(type_ref.decl, scope.enter(path), seen, self.typed.constants)
        if isinstance(decl, ast.ControlDeclaration):
            for a in used:
                name = self.action_name(a, scope) if isinstance(a, ast.ActionDeclaration) \
                    else None
                if name is not None and name not in self.out.actions:
                    self.add_action(name, a)
                    self.out.called_directly.add(name)
            self.scan_calls(decl, used | inlined, constants)

    def used(self, decl, constants: dict) -> tuple:
        """Declarations the block's code reaches (its apply body or states), following tables
        to their actions and calls into functions. Actions reached only from other actions'
        bodies are left out: p4c's front end inlines those calls (InlineActions works inside
        actions only) and then drops the unused callee; actions called from the apply body
        stay. Returns (reached declarations, actions only called from actions, the type refs of
        `C.apply()` direct applications)."""
        roots = [decl.body] if isinstance(decl, ast.ControlDeclaration) else list(decl.states)
        condition_value = partial(known_condition, constants)
        reached, work = set(), [(r, False) for r in roots]
        inner_actions = set()
        direct_applies = []
        while work:
            root, in_action = work.pop()
            for n in iter_nodes(root, condition_value):
                if isinstance(n, ast.TypeMember) and n.member == "apply" and isinstance(
                        getattr(n.type_ref, "decl", None),
                        (ast.ControlDeclaration, ast.ParserDeclaration)):
                    direct_applies.append(n.type_ref)
                target = getattr(n, "decl", None) if isinstance(n, ast.Name) else None
                if target is None:
                    continue
                if isinstance(target, ast.ActionDeclaration) and in_action:
                    if target not in reached and target not in inner_actions:
                        inner_actions.add(target)
                        work.append((target.body, True))
                    continue
                if target in reached:
                    continue
                reached.add(target)
                if isinstance(target, ast.TableDeclaration):
                    work.append((target.properties, False))
                elif isinstance(target, ast.Instantiation):
                    work.append((target.args, False))  # instances passed to constructors
                elif isinstance(target, ast.ActionDeclaration):
                    if target not in inner_actions:
                        work.append((target.body, True))
                elif isinstance(target, ast.FunctionDeclaration):
                    work.append((target.body, in_action))
        return reached, inner_actions - reached, direct_applies

    def table(self, t: ast.TableDeclaration, scope: BlockPath, constants: dict) -> None:
        actions = [(ref.name.decl, self.action_name(ref.name.decl, scope), ref.annotations)
                   for ref in t.prop("actions").value]
        default = t.prop("default_action")
        if default is not None:
            action = default.value.name.decl
            default_name, default_args = self.action_name(action, scope), default.value.args
        else:
            if self.no_action is None:
                raise CompileError(f"table '{t.name}' has no default_action and NoAction is "
                                   f"not declared; did you include core.p4?", t.loc,
                                   kind="type")
            action, default_name, default_args = self.no_action, "NoAction", []
            if not any(a is action for a, _, _ in actions):
                actions.append((action, control_plane_name(action),
                                [ast.Annotation("defaultonly")]))
        self.out.tables.append(Table(t, scope.name(t), scope, actions, action, default_name,
                                     default_args, constants))
        for a, name, _ in actions:
            self.add_action(name, a)

    def add_action(self, name: str, action: ast.ActionDeclaration) -> None:
        """Two actions may not share a control-plane name (p4c
        duplicateActionControlPlaneNameCheck.cpp); the same action may be reached twice."""
        other = self.out.actions.setdefault(name, action)
        if other is not action:
            raise CompileError(f"'{name}': conflicting control plane name: action "
                               f"'{other.name}' at {other.loc} has it too", action.loc,
                               kind="type")

    def action_name(self, action: ast.ActionDeclaration, scope: BlockPath) -> str:
        if action in self.top_level:
            return control_plane_name(action)
        return scope.name(action)

    def scan_calls(self, control: ast.ControlDeclaration, used: set, constants: dict) -> None:
        """Extern function calls (and digests among them) in the control's code, actions and
        functions included, as p4c sees them after inlining."""
        roots = [control.body] + [
            d.body for d in used if isinstance(d, (ast.ActionDeclaration, ast.FunctionDeclaration))]
        for root in roots:
            for n in iter_nodes(root, partial(known_condition, constants)):
                if not isinstance(n, ast.MethodCall) or not isinstance(n.callee, ast.Name):
                    continue
                fn = n.callee.decl
                if not isinstance(fn, ast.ExternFunctionDeclaration):
                    continue
                self.out.extern_function_called = True
                if fn.name == "digest" and len(n.args) == 2:
                    self.digest(n)

    def digest(self, call: ast.MethodCall) -> None:
        data_type = call.args[1].value.type
        if call.type_args:
            data_type = call.type_args[0].type
        decl = getattr(data_type, "decl", None)
        if decl is not None and hasattr(data_type, "fields"):
            name = control_plane_name(decl, data_type.name)
        else:
            name = self.digest_auto_names.setdefault(id(call),
                                                     f"digest_{len(self.digest_auto_names)}")
        if all(n != name for n, _ in self.out.digests):
            self.out.digests.append((name, data_type))


def known_condition(constants: dict, cond):
    """The value of a condition that is a compile-time constant, else None."""
    try:
        v = evaluate(cond, constants)
    except NotConstant:
        return None
    return v if isinstance(v, bool) else None


def bind_constructor_args(decl, args: list, constants: dict) -> dict:
    """`constants` plus the values of `decl`'s constructor parameters given `args` (positional
    or named, defaults filled in); arguments that are not constants (instances) stay unbound."""
    params = getattr(decl, "ctor_params", [])
    if not params:
        return constants
    inner = dict(constants)
    by_name = {a.name: a for a in args if a.name}
    for i, p in enumerate(params):
        arg = by_name.get(p.name) if by_name else (args[i] if i < len(args) else None)
        value = arg.value if arg is not None else p.default
        if value is None:
            continue
        try:
            inner[p] = evaluate(value, constants)
        except NotConstant:
            pass
    return inner


def instance_decl(inst: ast.Instantiation):
    """The extern/parser/control declaration an instantiation makes (through typedefs)."""
    return getattr(inst.type_ref.type, "decl", None) or inst.type_ref.decl


def collect(typed) -> ControlPlaneObjects:
    return Collector(typed).run()
