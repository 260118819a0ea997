"""Annotations whose bodies are code: typed like expressions, by the type checker.

p4c parses the bodies of structured annotations (`@x[...]`, P4-16 spec 18.1.3) and of a few
known annotations (here @field_list and @match) as expressions, and types them: names in them
resolve as names in code do (`@field_list(FL_X)` with `const bit<8> FL_X = 1`), and a structured
annotation's values must be compile-time values of type int, string or bool
(frontends/p4/typeChecking/typeChecker.cpp, postorder(IR::Annotation)). Every other annotation
keeps its body as text. Names resolve in the global scope, or in the constants of the parser or
control the annotated element is declared in.
"""
from __future__ import annotations

import dataclasses

from p4nic.compiler import ast, types as T
from p4nic.compiler.consteval import NotConstant, evaluate
from p4nic.compiler.exprcheck import type_error
from p4nic.compiler.scopes import Scope

# Unstructured annotations whose (...) bodies are expressions that the type checker types.
EXPRESSION_ANNOTATIONS = ("field_list", "match")
# Annotations whose body is one string, which may be a constant expression ("a" ++ "b"):
# folded into a string literal here (p4c ParseAnnotations parses them as expressions).
STRING_ANNOTATIONS = ("name", "deprecated", "noWarn")
# Annotations that take no body (ParseAnnotations PARSE_EMPTY).
EMPTY_ANNOTATIONS = ("atomic", "defaultonly", "hidden", "likely", "noSideEffects", "optional",
                     "pure", "tableonly", "unlikely", "disable_optimization", "unroll",
                     "nounroll")


def needs_check(a: ast.Annotation) -> bool:
    """Is `a`'s body code the type checker must type (so check_annotations has work)?"""
    return a.structured or a.name in EXPRESSION_ANNOTATIONS or (
        a.name in STRING_ANNOTATIONS and not (
            len(a.args) == 1 and isinstance(a.args[0], ast.StringLiteral)))

STRUCTURED_VALUE_TYPES = (T.IntType, T.StringType, T.BoolType)


def check_annotations(checker, program: ast.Program) -> None:
    """Type the expression bodies of every annotation in `program` (checker: the TypeChecker,
    whose `expr` types an expression and `guarded` logs an error and carries on)."""
    if not program.expression_annotations:
        return      # nothing to do: no walk over the program
    stack = [(d, checker.globals) for d in program.declarations]
    while stack:
        node, scope = stack.pop()
        for a in getattr(node, "annotations", None) or ():
            if needs_check(a):
                checker.guarded(_check_one, checker, a, scope)
        if isinstance(node, (ast.ControlDeclaration, ast.ParserDeclaration)):
            scope = _constants_scope(node, scope)
        for f in dataclasses.fields(node):
            if f.name in ("decl", "type", "loc", "annotations"):
                continue
            value = getattr(node, f.name)
            for child in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(child, ast.Node) and not isinstance(child, ast.Expression):
                    stack.append((child, scope))


def _constants_scope(block, outer: Scope) -> Scope:
    scope = Scope(outer)
    for d in block.locals:
        if isinstance(d, ast.ConstantDeclaration):
            scope.declare(d.name, d, d.loc)
    return scope


def _check_one(checker, a: ast.Annotation, scope: Scope) -> None:
    if a.name in STRING_ANNOTATIONS and not a.structured:
        _fold_string(checker, a, scope)
        return
    values = []
    for e in list(a.kv.values()) if a.kv else list(a.args):
        if isinstance(e, ast.TypeRef):
            raise type_error(f"@{a.name}: a type cannot be used here, expecting an "
                             f"expression", e)
        t = checker.expr(e, scope)
        if a.name == "match" and not isinstance(t, T.MatchKindType):
            raise type_error("@match: the value must be a match_kind", e)
        if not a.structured:
            continue
        try:
            values.append(evaluate(e, checker.constants))
        except NotConstant:
            raise type_error(f"@{a.name}: structured annotation values must be compile-time "
                             f"constants", e) from None
        if not isinstance(t, STRUCTURED_VALUE_TYPES):
            raise type_error(f"@{a.name}: illegal type {t} for a structured annotation "
                             f"value; must be int, string or bool", e)
    if a.structured:
        a.values = values


def _fold_string(checker, a: ast.Annotation, scope: Scope) -> None:
    """@name/@deprecated/@noWarn: one compile-time string, folded into a literal."""
    where = a.args[0] if len(a.args) == 1 else a
    value = None
    if len(a.args) == 1 and not isinstance(a.args[0], ast.TypeRef):
        checker.expr(a.args[0], scope)
        try:
            value = evaluate(a.args[0], checker.constants)
        except NotConstant:
            pass
    if not isinstance(value, str):
        raise type_error(f"@{a.name}: the annotation's value must be a string", where)
    literal = ast.StringLiteral(value, loc=where.loc)
    literal.type = T.StringType()
    a.args = [literal]
