"""Compile errors that point at the source: file:line:column, the line itself, and a caret."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class SourceLocation:
    """A position in an original source file (after undoing the preprocessor's line map).

    `text` is the full source line, kept so that an error can be shown without rereading files.
    Lines and columns count from 1.
    """
    file: str
    line: int
    column: int
    text: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class CompileError(Exception):
    """A user-facing compiler error; `str()` is the full message with the caret line.

    kind is 'syntax', 'type', 'unsupported' or 'preprocessor'; it appears in nothing but helps
    tests and tools sort errors.
    """

    def __init__(self, message: str, loc: Optional[SourceLocation] = None, kind: str = "error"):
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.kind = kind

    def __str__(self) -> str:
        return format_error(self.message, self.loc)


def format_error(message: str, loc: Optional[SourceLocation]) -> str:
    """`file:line:col: error: message`, then the source line and a caret under the column."""
    if loc is None:
        return f"error: {message}"
    out = f"{loc}: error: {message}"
    if loc.text:
        line = loc.text.rstrip("\n").expandtabs(1)
        caret = " " * max(0, loc.column - 1) + "^"
        out += f"\n{line}\n{caret}"
    return out
