"""Words of a `.nic` file, and the tokens lark's LALR parser reads (grammar.lark).

A network engineer writes values the way tools print them: `80`, `0x88cc`, `1024-65535`,
`5..10`, `10.0.0.0/8`, `2001:db8::/32`, `00:11:22:33:44:55`, `127.0.0.1:9559`, `30s`. Such a
run of characters is one word here, so the grammar never has to take addresses apart:

- NAME   an identifier (letters, digits, `_`, `-`), or a dotted one (`MyIngress.ipv4_lpm`);
- VALUE  every other word; p4nic/dsl/values.py reads it once the field it is for is known;
- VAR    `$name`, a constant or named set from `define`;
- STRING `"..."`; punctuation `-> &&& { } ( ) , | = ;` (`;` separates nothing and is skipped).

A NAME spelled like a keyword becomes that keyword only where the parser's current state can
take the keyword (lark's parse table says which), and stays a NAME elsewhere, so a P4 table
may have a field called `port` or an action called `drop`. `#` starts a comment.
"""
from __future__ import annotations

import re

from lark import Token
from lark.lexer import Lexer
from lark.parsers.lalr_analysis import Shift

from p4nic.compiler.errors import SourceLocation

_WORD = r"(?:[A-Za-z0-9_.:/]|-(?!>))+"
_SCAN = re.compile(r"""[ \t\r\f\v;]*(?:
    (?P<word>""" + _WORD + r""")
  | (?P<punct>->|&&&|[{}(),|=])
  | (?P<nl>\n)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:\\.|[^"\\\n])*")
  | (?P<badstring>"[^\n]*)
  | (?P<var>\$[A-Za-z_][A-Za-z0-9_-]*)
  | (?P<bracketed>\[[0-9A-Fa-f:.]+\](?::[0-9]+)?)
  | (?P<bad>[^ \t\r\f\v;\n])
)""", re.VERBOSE)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*\Z")


class LexError(Exception):
    """A character no token starts with, or a string left open."""

    def __init__(self, message: str, loc: SourceLocation):
        super().__init__(message)
        self.message = message
        self.loc = loc


def words(text: str, filename: str) -> list:
    """The file as lark Tokens of type NAME, VALUE, VAR, STRING or the punctuation itself.

    Keywords are decided later, by the parser state (`KeywordLexer`). Raises LexError.
    """
    tokens = []
    append = tokens.append
    name = _NAME.match
    line, line_start = 1, 0
    for found in _SCAN.finditer(text):
        kind = found.lastgroup
        if kind == "word":
            start, end = found.span(kind)
            value = found.group(kind)
            kind = "NAME" if name(value) else "VALUE"
        elif kind == "nl":
            line += 1
            line_start = found.end()
            continue
        elif kind == "comment" or kind is None:
            continue
        else:
            start, end = found.span(kind)
            value = found.group(kind)
            if kind == "bad" or kind == "badstring":
                what = ("a string that is never closed (strings end on the same line)"
                        if kind == "badstring" else f"unexpected character {value!r}")
                lines = text.split("\n")
                raise LexError(what, SourceLocation(filename, line, start - line_start + 1,
                                                    lines[line - 1]))
            kind = _KINDS.get(kind, value)   # punctuation: typed once the grammar is known
        column = start - line_start + 1
        append(Token(kind, value, start, line, column, line, column + end - start, end))
    return tokens


_KINDS = {"var": "VAR", "string": "STRING", "bracketed": "VALUE"}


class KeywordLexer(Lexer):
    """lark custom lexer (interface 2): hands over `words()`' tokens, typing keywords and
    punctuation by what the parser can take next."""

    __future_interface__ = 2

    keywords: dict = {}       # text -> terminal name, set by parser.py from the grammar

    def __init__(self, lexer_conf):
        pass

    def lex(self, lexer_state, parser_state):
        stream = lexer_state.text
        states = parser_state.parse_conf.states
        tokens = stream.tokens
        while stream.next < len(tokens):
            token = tokens[stream.next]
            stream.next += 1
            token.type = self.type_of(token, states, parser_state.state_stack)
            yield token

    @classmethod
    def type_of(cls, token, states, stack) -> str:
        """The terminal a word is for a parser whose states are `stack`."""
        kind = token.type
        if kind in ("VALUE", "VAR", "STRING"):
            return kind
        keyword = cls.keywords.get(token.value)
        if keyword is None:
            return "NAME"
        if kind != "NAME" and not _NAME.match(token.value):
            return keyword                   # punctuation
        table = states[stack[-1]]
        as_keyword = table.get(keyword)
        if as_keyword is not None and as_keyword[0] is Shift:
            return keyword
        if "NAME" not in table or (as_keyword is not None and shifts(states, stack, keyword)) \
                or not shifts(states, stack, "NAME"):
            return keyword
        return "NAME"


def shifts(states, stack, terminal: str) -> bool:
    """Whether the parser, in the state `stack`, would shift `terminal` after the reductions
    it calls for. (A state's table also lists reductions valid only in other contexts, since
    LALR merges look-aheads, so "is it in the table" is not enough.)"""
    key = (tuple(stack), terminal)
    known = _SHIFTS.get(key)
    if known is None:
        if len(_SHIFTS) > 100_000:
            _SHIFTS.clear()
        known = _SHIFTS[key] = _simulate(states, list(stack), terminal)
    return known


_SHIFTS: dict = {}


def _simulate(states, stack: list, terminal: str) -> bool:
    while True:
        entry = states[stack[-1]].get(terminal)
        if entry is None:
            return False
        action, rule = entry
        if action is Shift:
            return True
        if rule.expansion:
            del stack[-len(rule.expansion):]
        stack.append(states[stack[-1]][rule.origin.name][1])


class TokenStream:
    """What `KeywordLexer` reads: the words and how far the parser got (lark resumes there
    after a syntax error)."""

    def __init__(self, tokens: list):
        self.tokens = tokens
        self.next = 0
