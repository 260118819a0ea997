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


class CompileErrors(CompileError):
    """Several independent errors of one program, in the order they were found. `message`,
    `loc` and `kind` are the first one's; `str()` shows each, as p4c lists every error it finds
    (up to --maxErrorCount) rather than stopping at the first."""

    def __init__(self, errors: list, limit_reached: bool = False):
        first = errors[0]
        super().__init__(first.message, first.loc, first.kind)
        self.errors = list(errors)
        self.limit_reached = limit_reached

    def __str__(self) -> str:
        text = "\n".join(format_error(e.message, e.loc) for e in self.errors)
        if self.limit_reached:
            text += f"\nerror: number of errors exceeded the maximum of {len(self.errors)}"
        return text


# p4c's ErrorReporter default for --maxErrorCount.
DEFAULT_MAX_ERRORS = 20


class ErrorLog:
    """Collects the errors of one pass that carries on after an error. `add` raises the
    CompileErrors when an error beyond the first `limit` arrives; `check` raises what was
    logged, if anything (one error as itself, so a single error reads exactly as before)."""

    def __init__(self, limit: int = DEFAULT_MAX_ERRORS):
        self.limit = max(1, limit)
        self.errors: list = []
        self._seen: set = set()

    def add(self, error: CompileError) -> None:
        for e in getattr(error, "errors", [error]):
            key = (e.message, e.loc)
            if key in self._seen:
                continue   # the same fault met again through another use
            self._seen.add(key)
            if len(self.errors) >= self.limit:
                raise CompileErrors(self.errors, limit_reached=True)
            self.errors.append(e)

    def check(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise CompileErrors(self.errors)


# Source lines longer than this are shown as a window around the column.
MAX_SHOWN_LINE = 160


def format_error(message: str, loc: Optional[SourceLocation]) -> str:
    """`file:line:col: error: message`, then the source line and a caret under the column."""
    if loc is None:
        return f"error: {message}"
    out = f"{loc}: error: {message}"
    if loc.text:
        line = loc.text.rstrip("\n").expandtabs(1)
        column = max(0, loc.column - 1)
        if len(line) > MAX_SHOWN_LINE:
            # Show a window of a very long line (generated code), marking what was cut.
            start = max(0, min(column - MAX_SHOWN_LINE // 2, len(line) - MAX_SHOWN_LINE))
            prefix = "..." if start else ""
            suffix = "..." if start + MAX_SHOWN_LINE < len(line) else ""
            line = prefix + line[start:start + MAX_SHOWN_LINE] + suffix
            column = column - start + len(prefix)
        out += f"\n{line}\n{' ' * column}^"
    return out

