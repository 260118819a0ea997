"""DSL errors and warnings: file:line:column, the source line and a caret, every one found.

Checking carries on after an error, so one run reports every independent mistake in a file
(up to MAX_ERRORS), as a compiler does. Warnings (a rule no packet can reach) never stop a
file from loading; they stay on the loaded model.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Optional

from p4nic.compiler.errors import SourceLocation, format_error

MAX_ERRORS = 50


def location(loc):
    """A SourceLocation for anything that can make one (an ast.Pos), else `loc` itself."""
    make = getattr(loc, "location", None)
    return make() if make is not None else loc


@dataclass(frozen=True)
class Diagnostic:
    severity: str                     # "error" or "warning"
    message: str
    loc: Optional[SourceLocation]

    def __str__(self) -> str:
        text = format_error(self.message, self.loc)
        if self.severity != "error":
            # format_error writes "file:l:c: error: ..." (or "error: ..." without a place)
            head = f"{self.loc}: error: " if self.loc is not None else "error: "
            text = text.replace(head, head.replace("error:", f"{self.severity}:"), 1)
        return text


class DslError(Exception):
    """A file that cannot be loaded; `errors` holds every problem found (`Diagnostic`s),
    `warnings` what else was noticed. `str()` prints them all, as `p4nic check` does."""

    def __init__(self, errors: list, warnings: list = (), truncated: bool = False):
        self.errors = list(errors)
        self.warnings = list(warnings)
        self.truncated = truncated
        first = self.errors[0] if self.errors else None
        super().__init__(first.message if first else "error")

    def __str__(self) -> str:
        lines = [str(d) for d in self.errors]
        if self.truncated:
            lines.append(f"error: stopped after {len(self.errors)} errors")
        return "\n".join(lines)


class Diagnostics:
    """Collects what a load finds; `fail()` raises DslError when there were errors."""

    def __init__(self, limit: int = MAX_ERRORS):
        self.limit = limit
        self.errors: list = []
        self.warnings: list = []
        self.truncated = False
        self._seen = set()

    def error(self, message: str, loc: Optional[SourceLocation]) -> None:
        loc = location(loc)
        key = (message, loc)
        if key in self._seen:
            return
        self._seen.add(key)
        if len(self.errors) >= self.limit:
            self.truncated = True
            return
        self.errors.append(Diagnostic("error", message, loc))

    def warning(self, message: str, loc: Optional[SourceLocation]) -> None:
        loc = location(loc)
        key = ("w", message, loc)
        if key not in self._seen:
            self._seen.add(key)
            self.warnings.append(Diagnostic("warning", message, loc))

    def fail(self) -> None:
        if self.errors:
            raise DslError(self.errors, self.warnings, self.truncated)


def suggest(word: str, known) -> str:
    """" (did you mean 'x'?)" for the nearest of `known`, or ""."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
