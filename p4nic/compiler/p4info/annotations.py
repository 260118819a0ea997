"""Annotations as P4Info shows them (p4c's control-plane/p4RuntimeArchHandler.h
addAnnotations/addDocumentation and the ToP4 printing of annotations)."""
from __future__ import annotations

from p4nic.compiler import ast
from p4nic.compiler.errors import CompileError

# Represented elsewhere in P4Info, never as annotation strings.
NOT_SERIALIZED = ("name", "id", "brief", "description")


def _expr_text(e) -> str:
    if isinstance(e, ast.StringLiteral):
        return '"' + e.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(e, ast.BoolLiteral):
        return "true" if e.value else "false"
    if isinstance(e, ast.IntLiteral):
        if e.width is not None:
            return f"{e.width}{'s' if e.signed else 'w'}{e.value}"
        return str(e.value)
    if isinstance(e, ast.Name):
        return ("." if e.global_scope else "") + e.name
    if isinstance(e, ast.Member):
        return _expr_text(e.expr) + "." + e.member
    return None


def annotation_string(a: ast.Annotation) -> str:
    """An annotation printed back as P4 source, the way p4c's ToP4 prints it."""
    if a.kv:
        body = ", ".join(f"{k}={_expr_text(v) or getattr(v, 'raw', v)}" for k, v in a.kv.items())
        return f"@{a.name}[{body}]"
    if a.args:
        texts = [_expr_text(x) for x in a.args]
        if all(t is not None for t in texts):
            return f"@{a.name}(" + ", ".join(texts) + ")"
    if a.raw and a.raw.strip():
        return f"@{a.name}({a.raw.strip()})"
    return f"@{a.name}"


def add_annotations(message, node, skip=()) -> None:
    """Copy `node`'s annotations into `message`: structured ones (all of them) into
    `structured_annotations`, the others, except those P4Info represents otherwise, as strings
    into `annotations` (p4c's addAnnotations)."""
    for a in getattr(node, "annotations", None) or []:
        if a.structured:
            add_structured(message.structured_annotations.add(), a)
        elif a.name not in NOT_SERIALIZED and a.name not in skip:
            message.annotations.append(annotation_string(a))


def add_structured(msg, a: ast.Annotation) -> None:
    """A StructuredAnnotation: an expression list or a key-value list of typed values (p4c's
    serializeOneStructuredAnnotation; an empty body gives neither)."""
    msg.name = a.name
    if a.kv:
        for (key, expr), value in zip(a.kv.items(), a.values):
            pair = msg.kv_pair_list.kv_pairs.add()
            pair.key = key
            _set_value(pair.value, value, expr)
    else:
        for expr, value in zip(a.args, a.values):
            _set_value(msg.expression_list.expressions.add(), value, expr)


def _set_value(out, value, expr) -> None:
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        if not -(1 << 63) <= value < (1 << 63):
            raise CompileError("integer in a structured annotation must fit in int64; consider "
                               "a string for larger values", expr.loc, kind="type")
        out.int64_value = value
    else:
        out.string_value = value


def add_documentation(message, node) -> None:
    """`@brief`/`@description` into `message.doc` (set only when one is present)."""
    for a in getattr(node, "annotations", None) or []:
        if a.name in ("brief", "description") and a.args and isinstance(a.args[0],
                                                                         ast.StringLiteral):
            setattr(message.doc, a.name, a.args[0].value)


def user_id(node):
    """The integer of an `@id(N)` annotation, or None."""
    a = node.annotation("id") if hasattr(node, "annotation") else None
    if a is not None and a.args and isinstance(a.args[0], ast.IntLiteral):
        return a.args[0].value
    return None


def is_hidden(node) -> bool:
    return hasattr(node, "annotation") and node.annotation("hidden") is not None


def set_preamble(preamble, id_: int, name: str, alias: str, node, skip=()) -> None:
    preamble.id = id_
    preamble.name = name
    preamble.alias = alias
    add_annotations(preamble, node, skip)
    add_documentation(preamble, node)
