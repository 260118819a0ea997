"""A C preprocessor for P4 that needs no gcc: includes, macros, conditionals, and a line map.

p4c runs `cpp -C -undef -nostdinc -x assembler-with-cpp` (frontends/common/parser_options.cpp);
this module does the same job in-process. Its output keeps one output line per input line
wherever it can (comments become spaces, continued lines are padded with blank lines), so every
later error can name the original file:line:column through `PreprocessedSource.location`.
"""
from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence

from p4nic.compiler.errors import CompileError, SourceLocation

BUNDLED_INCLUDE_DIR = Path(__file__).parent / "p4include"

# Macros every p4c-bm2-ss compilation sees (backends/bmv2/simple_switch/main.cpp adds the first).
PREDEFINED_MACROS = {"__TARGET_BMV2__": "1", "__P4NIC__": "1"}

MAX_INCLUDE_DEPTH = 200
MAX_EXPANSION_TOKENS = 1_000_000

_PP_TOKEN = re.compile(r"""
    (?P<space>[ \t\f\v\r]+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.])*)
  | (?P<string>"(?:\\.|[^"\\\n])*")
  | (?P<paste>\#\#)
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)

# Every preprocessing identifier is (part of) such a word; so is more (the tail of `8w5`).
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BUILTIN_MACROS = ("__LINE__", "__FILE__")
_DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*([A-Za-z_]*)(.*)$", re.DOTALL)


@dataclass(frozen=True)
class LineOrigin:
    """Where one output line came from: the reported file/line (after #line) and the real file."""
    file: str
    line: int
    real_file: str
    real_line: int


@dataclass
class PreprocessedSource:
    """Preprocessed program text and the map from its lines back to the original sources."""
    text: str
    origins: list = field(default_factory=list)          # LineOrigin per output line
    file_lines: dict = field(default_factory=dict)       # real file -> its original lines
    # Output line number -> (line before macro expansion, line after), for lines macros changed.
    expansions: dict = field(default_factory=dict)

    def location(self, line: int, column: int) -> SourceLocation:
        """The original file:line:column (1-based) of a position in `text`, with its line text."""
        if not self.origins:
            return SourceLocation("<input>", line, column, "")
        origin = self.origins[max(0, min(line, len(self.origins)) - 1)]
        lines = self.file_lines.get(origin.real_file, [])
        text = lines[origin.real_line - 1] if 0 < origin.real_line <= len(lines) else ""
        if line in self.expansions:
            column = _column_before_expansion(*self.expansions[line], column)
        return SourceLocation(origin.file, origin.line, column, text.rstrip("\r\n"))


def _column_before_expansion(before: str, after: str, column: int) -> int:
    """Map a column of a macro-expanded line back to the unexpanded line: text that expansion
    kept maps exactly, text a macro produced maps to the start of the macro's invocation."""
    index = column - 1
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if j1 <= index < j2 or (index >= j2 and j2 == len(after)):
            return (i1 + (index - j1) if tag == "equal" else i1) + 1
    return column


@dataclass
class Macro:
    name: str
    params: Optional[list]      # None for object-like macros
    body: list                  # pp tokens (kind, text)
    variadic: bool = False


def preprocess(path: str, include_dirs: Sequence[str] = (),
               defines: Optional[Mapping[str, str]] = None) -> PreprocessedSource:
    """Preprocess the P4 file at `path`; raises CompileError (kind 'preprocessor') on bad input."""
    pp = _Preprocessor(include_dirs, defines or {})
    if not os.path.isfile(path):
        raise CompileError(f"cannot open source file '{path}'", None, kind="preprocessor")
    try:
        pp.run_file(str(path), depth=0)
    except RecursionError:
        raise CompileError("macros nest too deeply to expand (hundreds of levels)", None,
                           kind="preprocessor") from None
    return PreprocessedSource("".join(line + "\n" for line in pp.out_lines), pp.origins,
                              pp.file_lines, pp.expansions)


def tokenize_pp(text: str) -> list:
    """Split a line into preprocessing tokens (kind, text)."""
    return [(m.lastgroup, m.group()) for m in _PP_TOKEN.finditer(text)]


def _join(tokens) -> str:
    return "".join(text for _, text in tokens)


_COMMENT_OR_STRING = re.compile(r'"(?:\\.|[^"\\])*"?|//[^\n]*|/\*.*?(?:\*/|\Z)', re.DOTALL)


def _strip_comments(text: str, path: str) -> str:
    """Replace comments with spaces, keeping newlines and columns; strings stay untouched."""
    def blank(m: re.Match) -> str:
        found = m.group()
        if found[0] == '"':
            return found
        if found.startswith("/*") and (len(found) < 4 or not found.endswith("*/")):
            raise CompileError("unterminated /* comment", _loc_in(path, text, m.start()),
                               kind="preprocessor")
        return re.sub(r"[^\n]", " ", found)
    return _COMMENT_OR_STRING.sub(blank, text)


def _loc_in(path: str, text: str, offset: int) -> SourceLocation:
    line_no = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return SourceLocation(path, line_no, offset - start + 1, text[start:end if end >= 0 else None])


class _Preprocessor:
    def __init__(self, include_dirs: Sequence[str], defines: Mapping[str, str]):
        self.include_dirs = [str(d) for d in include_dirs]
        self.macros: dict = {}
        for name, value in {**PREDEFINED_MACROS, **dict(defines)}.items():
            self.macros[name] = Macro(name, None, tokenize_pp(str(value)))
        self.out_lines: list = []
        self.expansions: dict = {}
        self.origins: list = []
        self.file_lines: dict = {}
        self.once_files: set = set()

    # -- files ---------------------------------------------------------------------------------

    def run_file(self, path: str, depth: int, from_loc: Optional[SourceLocation] = None):
        real = os.path.realpath(path)
        if real in self.once_files:
            return
        if depth > MAX_INCLUDE_DEPTH:
            raise CompileError(f"#include nested too deeply (include cycle?) at '{path}'",
                               from_loc, kind="preprocessor")
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                raw = f.read()
        except OSError as e:
            raise CompileError(f"cannot read '{path}': {e.strerror}", from_loc,
                               kind="preprocessor") from None
        raw = raw.removeprefix("\ufeff")     # a UTF-8 byte order mark is not program text
        self.file_lines[path] = raw.split("\n")
        text = _strip_comments(raw.replace("\r\n", "\n"), path)
        _FileRun(self, path, text.split("\n"), depth).run()

    def find_include(self, name: str, quoted: bool, current: str) -> Optional[str]:
        dirs = ([os.path.dirname(current) or "."] if quoted else []) + self.include_dirs
        dirs.append(str(BUNDLED_INCLUDE_DIR))
        for d in dirs:
            candidate = os.path.join(d, name)
            if os.path.isfile(candidate):
                return candidate
        return None

    def emit(self, text: str, origin: LineOrigin):
        self.out_lines.append(text)
        self.origins.append(origin)


class _FileRun:
    """Processes one file's lines (comments already stripped)."""

    def __init__(self, pp: _Preprocessor, path: str, lines: list, depth: int):
        self.pp = pp
        self.path = path
        self.lines = lines
        self.depth = depth
        self.reported_file = path
        self.line_offset = 0          # reported line = real line + offset (changed by #line)
        # Each conditional frame: [active, any_branch_taken, seen_else, parent_active, loc]
        self.conds: list = []
        self.expansion_budget = MAX_EXPANSION_TOKENS    # per line, reset by each expansion

    def active(self) -> bool:
        return all(frame[0] for frame in self.conds)

    def origin(self, real_line: int) -> LineOrigin:
        return LineOrigin(self.reported_file, real_line + self.line_offset, self.path, real_line)

    def loc(self, real_line: int, column: int = 1) -> SourceLocation:
        lines = self.pp.file_lines.get(self.path, [])
        text = lines[real_line - 1] if 0 < real_line <= len(lines) else ""
        return SourceLocation(self.reported_file, real_line + self.line_offset, column,
                              text.rstrip("\r"))

    def error(self, message: str, real_line: int, column: int = 1):
        raise CompileError(message, self.loc(real_line, column), kind="preprocessor")

    def run(self):
        i = 0
        n = len(self.lines)
        if n and self.lines[-1] == "":
            n -= 1                      # the text ended with a newline
        while i < n:
            start = i
            logical = self.lines[i]
            while logical.endswith("\\") and i + 1 < n:
                i += 1
                logical = logical[:-1] + self.lines[i]
            i += 1
            extra_lines = i - start - 1
            real_line = start + 1
            m = _DIRECTIVE.match(logical)
            if m:
                self.directive(m.group(1), m.group(2), real_line, logical)
                self.pp.emit("", self.origin(real_line))
            elif self.active() and not self.mentions_macro(logical):
                self.pp.emit(logical, self.origin(real_line))
            elif self.active():
                # A function-like macro call may spread its arguments over following lines.
                while self.has_open_macro_call(logical) and i < n \
                        and not _DIRECTIVE.match(self.lines[i]):
                    logical += " " + self.lines[i]
                    i += 1
                    extra_lines += 1
                expanded = self.expand_line(logical, real_line)
                if expanded != logical:
                    self.pp.expansions[len(self.pp.out_lines) + 1] = (logical, expanded)
                self.pp.emit(expanded, self.origin(real_line))
            else:
                self.pp.emit("", self.origin(real_line))
            for k in range(extra_lines):
                self.pp.emit("", self.origin(real_line + k + 1))
        if self.conds:
            self.error("unterminated conditional directive (#if/#ifdef without #endif)",
                       self.conds[-1][4])

    # -- directives ----------------------------------------------------------------------------

    def directive(self, name: str, rest: str, line: int, text: str):
        column = text.find("#") + 1
        if name in ("if", "ifdef", "ifndef"):
            parent = self.active()
            if not parent:
                value = False
            elif name == "if":
                value = self.eval_condition(rest, line)
            else:
                macro = rest.strip().split()[0] if rest.strip() else ""
                if not re.fullmatch(r"[A-Za-z_]\w*", macro):
                    self.error(f"#{name} needs a macro name", line, column)
                value = (macro in self.pp.macros) == (name == "ifdef")
            self.conds.append([value, value, False, parent, line])
            return
        if name in ("elif", "else", "endif"):
            if not self.conds:
                self.error(f"#{name} without #if", line, column)
            frame = self.conds[-1]
            if name == "endif":
                self.conds.pop()
            elif frame[2]:
                self.error(f"#{name} after #else", line, column)
            elif name == "else":
                frame[2] = True
                frame[0] = frame[3] and not frame[1]
                frame[1] = True
            else:
                take = frame[3] and not frame[1] and self.eval_condition(rest, line)
                frame[0] = take
                frame[1] = frame[1] or take
            return
        if not self.active():
            return
        if name == "include":
            self.include(rest, line, column)
        elif name == "define":
            self.define(rest, line, column)
        elif name == "undef":
            self.pp.macros.pop(rest.strip(), None)
        elif name == "error":
            self.error(f"#error {rest.strip()}", line, column)
        elif name == "warning":
            pass
        elif name == "line" or re.fullmatch(r"[0-9]*", name) and rest.strip()[:1].isdigit():
            self.line_directive(rest if name == "line" else name + rest, line, column)
        elif name == "pragma":
            # cpp passes #pragma through and p4c's lexer skips any line starting with '#'
            # (frontends/parsers/p4/p4lexer.ll), so `#pragma` has no effect on P4 code.
            if rest.strip() == "once":
                self.pp.once_files.add(os.path.realpath(self.path))
        elif name == "":
            pass                                    # a lone '#' is a null directive
        else:
            self.error(f"unknown preprocessor directive '#{name}'", line, column)

    def include(self, rest: str, line: int, column: int):
        spec = rest.strip()
        if not spec.startswith(('"', "<")):
            spec = self.expand_line(spec, line).strip()
        m = re.fullmatch(r'"([^"]+)"|<([^>]+)>', spec)
        if not m:
            self.error('#include expects "FILE" or <FILE>', line, column)
        name = m.group(1) or m.group(2)
        found = self.pp.find_include(name, quoted=m.group(1) is not None, current=self.path)
        if found is None:
            self.error(f"cannot find include file '{name}'", line, column)
        self.pp.run_file(found, self.depth + 1, self.loc(line, column))

    def define(self, rest: str, line: int, column: int):
        m = re.match(r"[ \t]*([A-Za-z_]\w*)", rest)
        if not m:
            self.error("#define needs a macro name", line, column)
        name = m.group(1)
        after = rest[m.end():]
        params = None
        variadic = False
        if after.startswith("("):
            close = after.find(")")
            if close < 0:
                self.error(f"missing ')' in parameter list of macro '{name}'", line, column)
            inside = after[1:close]
            params = [p.strip() for p in inside.split(",")] if inside.strip() else []
            if params and params[-1] == "...":
                params[-1] = "__VA_ARGS__"
                variadic = True
            for p in params:
                if not re.fullmatch(r"[A-Za-z_]\w*", p):
                    self.error(f"bad parameter '{p}' in macro '{name}'", line, column)
            after = after[close + 1:]
        self.pp.macros[name] = Macro(name, params, tokenize_pp(after.strip()), variadic)

    def line_directive(self, rest: str, line: int, column: int):
        tokens = self.expand_line(rest, line).split(None, 1)
        if not tokens or not tokens[0].isdigit():
            self.error("#line expects a line number", line, column)
        self.line_offset = int(tokens[0]) - (line + 1)
        if len(tokens) > 1:
            m = re.match(r'"([^"]*)"', tokens[1].strip())
            if m:
                self.reported_file = m.group(1)

    # -- #if expressions -----------------------------------------------------------------------

    def eval_condition(self, text: str, line: int) -> bool:
        tokens = [t for t in tokenize_pp(text) if t[0] != "space"]
        resolved = []
        i = 0
        while i < len(tokens):
            kind, value = tokens[i]
            if kind == "ident" and value == "defined":
                if i + 1 < len(tokens) and tokens[i + 1][1] == "(":
                    if i + 3 >= len(tokens) or tokens[i + 3][1] != ")":
                        self.error("bad defined(...) in #if", line)
                    name, i = tokens[i + 2][1], i + 4
                elif i + 1 < len(tokens):
                    name, i = tokens[i + 1][1], i + 2
                else:
                    self.error("'defined' without a macro name in #if", line)
                resolved.append(("number", "1" if name in self.pp.macros else "0"))
                continue
            resolved.append(tokens[i])
            i += 1
        self.expansion_budget = MAX_EXPANSION_TOKENS
        expanded = [t for t in self.expand(resolved, frozenset(), line) if t[0] != "space"]
        expanded = [("number", "0") if kind == "ident" else (kind, value)
                    for kind, value in expanded]
        if not expanded:
            self.error("#if with no expression", line)
        try:
            return _ConditionEvaluator(expanded).evaluate() != 0
        except ValueError as e:
            self.error(f"bad #if expression: {e}", line)

    # -- macro expansion -----------------------------------------------------------------------

    def mentions_macro(self, text: str) -> bool:
        """Whether a word of the line could name a macro: most lines name none and are copied
        as they are, without tokenising them."""
        macros = self.pp.macros
        return any(w in macros or w in _BUILTIN_MACROS for w in _WORD.findall(text))

    def has_open_macro_call(self, text: str) -> bool:
        """True when the line ends inside the argument list of a function-like macro."""
        tokens = [t for t in tokenize_pp(text) if t[0] != "space"]
        for idx, (kind, value) in enumerate(tokens):
            macro = self.pp.macros.get(value) if kind == "ident" else None
            if macro and macro.params is not None and idx + 1 < len(tokens) \
                    and tokens[idx + 1][1] == "(":
                depth = 0
                for _, v in tokens[idx + 1:]:
                    depth += {"(": 1, ")": -1}.get(v, 0)
                    if depth == 0:
                        break
                if depth > 0:
                    return True
        return False

    def expand_line(self, text: str, line: int) -> str:
        if not any(k == "ident" and v in self.pp.macros or v in _BUILTIN_MACROS
                   for k, v in tokenize_pp(text)):
            return text
        self.expansion_budget = MAX_EXPANSION_TOKENS
        return _join(self.expand(tokenize_pp(text), frozenset(), line))

    def spend(self, tokens: list, macro: Macro, line: int) -> list:
        """Count a macro's replacement against the line's budget, so that macros that double
        at every level end in an error instead of exhausting memory."""
        self.expansion_budget -= len(tokens)
        if self.expansion_budget < 0:
            self.error(f"expansion of macro '{macro.name}' is too large "
                       f"(over {MAX_EXPANSION_TOKENS} tokens on one line)", line)
        return tokens

    def expand(self, tokens: list, disabled: frozenset, line: int) -> list:
        out = []
        i = 0
        while i < len(tokens):
            kind, value = tokens[i]
            if kind != "ident":
                out.append(tokens[i])
                i += 1
                continue
            if value == "__LINE__":
                out.append(("number", str(line + self.line_offset)))
                i += 1
                continue
            if value == "__FILE__":
                out.append(("string", '"%s"' % self.reported_file))
                i += 1
                continue
            macro = self.pp.macros.get(value)
            if macro is None or value in disabled:
                out.append(tokens[i])
                i += 1
                continue
            if macro.params is None:
                body = self.spend(self.substitute(macro, {}), macro, line)
                out.extend(self.expand(body, disabled | {value}, line))
                i += 1
                continue
            j = i + 1
            while j < len(tokens) and tokens[j][0] == "space":
                j += 1
            if j >= len(tokens) or tokens[j][1] != "(":
                out.append(tokens[i])            # a function-like macro name without a call
                i += 1
                continue
            args, i = self.collect_args(tokens, j, macro, line)
            body = self.spend(self.substitute(macro, args, disabled, line), macro, line)
            out.extend(self.expand(body, disabled | {value}, line))
        return out

    def collect_args(self, tokens: list, open_index: int, macro: Macro, line: int):
        args, current, depth = [], [], 0
        k = open_index
        while k < len(tokens):
            kind, value = tokens[k]
            if value == "(":
                depth += 1
                if depth == 1:
                    k += 1
                    continue
            elif value == ")":
                depth -= 1
                if depth == 0:
                    args.append(current)
                    break
            elif value == "," and depth == 1 and not (
                    macro.variadic and len(args) == len(macro.params) - 1):
                args.append(current)
                current = []
                k += 1
                continue
            current.append(tokens[k])
            k += 1
        else:
            self.error(f"unterminated call of macro '{macro.name}'", line)
        if len(macro.params) == 0 and len(args) == 1 and not _join(args[0]).strip():
            args = []
        variadic_without_extra = macro.variadic and len(args) == len(macro.params) - 1
        if len(args) != len(macro.params) and not variadic_without_extra:
            self.error(f"macro '{macro.name}' takes {len(macro.params)} argument(s), "
                       f"got {len(args)}", line)
        named = {p: _trim(a) for p, a in zip(macro.params, args)}
        if macro.variadic:
            named.setdefault("__VA_ARGS__", [])
        return named, k + 1

    def substitute(self, macro: Macro, args: dict, disabled: frozenset = frozenset(),
                   line: int = 0) -> list:
        """The macro body with parameters replaced: `#p` stringifies, `a ## b` pastes."""
        body = macro.body
        out: list = []
        i = 0
        while i < len(body):
            kind, value = body[i]
            if value == "#" and macro.params is not None:
                j = _next_non_space(body, i + 1)
                if j < len(body) and body[j][1] in args:
                    text = _join(args[body[j][1]]).strip()
                    out.append(("string", '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')))
                    i = j + 1
                    continue
            if kind == "paste":
                while out and out[-1][0] == "space":
                    out.pop()
                j = _next_non_space(body, i + 1)
                right = args.get(body[j][1], [body[j]]) if j < len(body) else []
                left = out.pop() if out else ("other", "")
                pasted = tokenize_pp(left[1] + _join(right))
                out.extend(pasted)
                i = j + 1
                continue
            if kind == "ident" and value in args:
                next_j = _next_non_space(body, i + 1)
                if next_j < len(body) and body[next_j][0] == "paste":
                    out.extend(args[value])          # operands of ## are not expanded
                else:
                    out.extend(self.expand(args[value], disabled, line))
                i += 1
                continue
            out.append(body[i])
            i += 1
        return out


def _trim(tokens: list) -> list:
    start, end = 0, len(tokens)
    while start < end and tokens[start][0] == "space":
        start += 1
    while end > start and tokens[end - 1][0] == "space":
        end -= 1
    return tokens[start:end]


def _next_non_space(tokens: list, i: int) -> int:
    while i < len(tokens) and tokens[i][0] == "space":
        i += 1
    return i


class _ConditionEvaluator:
    """Integer expressions of #if, with C's operators and precedence."""

    BINARY = [("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", "<=", ">", ">="),
              ("<<", ">>"), ("+", "-"), ("*", "/", "%")]

    def __init__(self, tokens: list):
        # Re-glue two-character operators that the pp tokenizer split.
        merged = []
        for kind, value in tokens:
            if merged and merged[-1][0] == "other" and kind == "other" and \
                    merged[-1][1] + value in ("||", "&&", "==", "!=", "<=", ">=", "<<", ">>"):
                merged[-1] = ("other", merged[-1][1] + value)
            else:
                merged.append((kind, value))
        self.tokens = merged
        self.pos = 0

    def peek(self) -> str:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else ""

    def take(self) -> str:
        value = self.peek()
        self.pos += 1
        return value

    def evaluate(self) -> int:
        value = self.ternary()
        if self.pos != len(self.tokens):
            raise ValueError(f"unexpected '{self.peek()}'")
        return value

    def ternary(self) -> int:
        cond = self.binary(0)
        if self.peek() == "?":
            self.take()
            then = self.ternary()
            if self.take() != ":":
                raise ValueError("expected ':'")
            else_ = self.ternary()
            return then if cond else else_
        return cond

    def binary(self, level: int) -> int:
        if level == len(self.BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek() in self.BINARY[level]:
            op = self.take()
            right = self.binary(level + 1)
            left = _apply(op, left, right)
        return left

    def unary(self) -> int:
        op = self.peek()
        if op in ("!", "~", "-", "+"):
            self.take()
            value = self.unary()
            return {"!": lambda v: int(not v), "~": lambda v: ~v, "-": lambda v: -v,
                    "+": lambda v: v}[op](value)
        if op == "(":
            self.take()
            value = self.ternary()
            if self.take() != ")":
                raise ValueError("expected ')'")
            return value
        if self.pos >= len(self.tokens):
            raise ValueError("unexpected end of expression")
        kind, text = self.tokens[self.pos]
        self.pos += 1
        if kind != "number":
            raise ValueError(f"unexpected '{text}'")
        digits = text.rstrip("uUlL")
        try:
            if digits.lower().startswith("0x"):
                return int(digits, 16)
            if len(digits) > 1 and digits.startswith("0"):
                return int(digits, 8)
            return int(digits)
        except ValueError:
            raise ValueError(f"bad number '{text}'") from None


def _apply(op: str, a: int, b: int) -> int:
    if op in ("/", "%") and b == 0:
        raise ValueError("division by zero")
    return {
        "||": lambda: int(bool(a) or bool(b)), "&&": lambda: int(bool(a) and bool(b)),
        "|": lambda: a | b, "^": lambda: a ^ b, "&": lambda: a & b,
        "==": lambda: int(a == b), "!=": lambda: int(a != b), "<": lambda: int(a < b),
        "<=": lambda: int(a <= b), ">": lambda: int(a > b), ">=": lambda: int(a >= b),
        "<<": lambda: a << b, ">>": lambda: a >> b, "+": lambda: a + b, "-": lambda: a - b,
        "*": lambda: a * b, "/": lambda: int(a / b), "%": lambda: a - b * int(a / b),
    }[op]()
