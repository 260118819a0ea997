"""Annotations as P4Info shows them (p4c's control-plane/p4RuntimeArchHandler.h
addAnnotations/addDocumentation and the ToP4 printing of annotations)."""
from __future__ import annotations

from p4nic.compiler import ast

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
    """Copy `node`'s annotations (except those P4Info represents otherwise) into
    `message.annotations`."""
    for a in getattr(node, "annotations", None) or []:
        if a.name in NOT_SERIALIZED or a.name in skip:
            continue
        message.annotations.append(annotation_string(a))


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
