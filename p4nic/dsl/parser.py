"""`.nic` text -> ast.File, with lark's LALR parser over grammar.lark.

The tree is built while parsing (lark's inline transformer: no parse tree), and keeps every
keyword token so each node knows where it starts. A syntax error does not stop the parse: it
resumes at the next line (`_resynchronise`), so one pass reports every broken line, one error
each. The errors say what could have come there, in the words of the language, and suggest
the nearest keyword for a misspelt one.
"""
from __future__ import annotations

import difflib
import re
import threading
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput, UnexpectedToken

from p4nic.compiler.errors import SourceLocation
from p4nic.dsl import ast
from p4nic.dsl.errors import Diagnostics
from p4nic.dsl.lexer import KeywordLexer, LexError, TokenStream, shifts, words

GRAMMAR_PATH = Path(__file__).parent / "grammar.lark"
MAX_SYNTAX_ERRORS = 20

_COMMENT = re.compile(r"#[^\n]*")
_PUNCTUATION = ("->", "&&&", "{", "}", "(", ")", ",", "|", "=")
_VALUE_KINDS = {"VALUE": "value", "VAR": "var"}
_KIND_WORDS = {"NAME": "a name", "VALUE": "a value", "VAR": "a $name", "STRING": "a string",
               "$END": "the end of the file"}


def _span(children) -> tuple:
    """(start, end) character offsets covered by tokens and nodes among `children`."""
    start = end = None
    for child in children:
        if isinstance(child, Token):
            s, e = child.start_pos, child.end_pos
        elif child is not None and hasattr(child, "span"):
            s, e = child.span
        elif isinstance(child, list) and child:
            s, e = _span(child)
        else:
            continue
        if start is None:
            start = s
        end = e
    return start, end


def _nodes(children) -> list:
    return [c for c in children if not isinstance(c, Token)]


class _Builder(Transformer):
    """Grammar rules -> ast nodes (called by lark as it reduces; see `parse`)."""

    def __init__(self):
        super().__init__()
        self.file = ""
        self.text = ""
        self.lines = [""]

    # -- helpers --------------------------------------------------------------------------

    def loc(self, token: Token) -> ast.Pos:
        return ast.Pos(self.file, token.line, token.column, self.lines)

    def first_loc(self, children) -> ast.Pos:
        for child in children:
            if isinstance(child, Token):
                return self.loc(child)
            loc = getattr(child, "loc", None)
            if loc is not None:
                return loc
        return ast.Pos(self.file, 1, 1, self.lines)

    def source(self, children) -> str:
        start, end = _span(children)
        if start is None:
            return ""
        return self.text_between(start, end)

    def text_between(self, start: int, end: int) -> str:
        """The source between two offsets, comments and line breaks removed."""
        text = self.text[start:end]
        if "\n" in text or "#" in text:
            text = _COMMENT.sub("", text)
        elif "  " not in text and "\t" not in text and ";" not in text:
            return text
        return " ".join(text.split())

    def spanned(self, node, children):
        node.span = _span(children)
        return node

    def value_of(self, token: Token) -> ast.Value:
        kind = _VALUE_KINDS.get(token.type, "name")
        text = token.value[1:] if kind == "var" else token.value
        node = ast.Value(kind, text, self.loc(token))
        node.span = (token.start_pos, token.end_pos)
        return node

    # -- values ---------------------------------------------------------------------------

    def masked(self, children):
        value, _, mask = children
        node = self.value_of(value)
        node.kind = "masked"
        node.mask = self.value_of(mask)
        return self.spanned(node, children)

    def _value(self, child):
        return child if isinstance(child, ast.Value) else self.value_of(child)

    def values(self, children):
        if len(children) == 1:
            item = self._value(children[0])
            node = ast.Values([item], item.loc)
            node.span = item.span
            return node
        items = [self._value(c) for c in children[::2]]
        node = ast.Values(items, items[0].loc)
        node.span = (items[0].span[0], items[-1].span[1])
        return node

    def set(self, children):
        items = [self._value(c) for c in children
                 if c is not None and not (isinstance(c, Token) and c.type in ("LBRACE", "RBRACE", "COMMA"))]
        return self.spanned(ast.Values(items, self.loc(children[0]), is_set=True), children)

    def value_list(self, children):
        return [self._value(c) for c in children if not (isinstance(c, Token) and c.type == "COMMA")]

    def names(self, children):
        return [(t.value, self.loc(t)) for t in children if t.type == "NAME"]

    # -- top level ------------------------------------------------------------------------

    def start(self, children):
        return children

    def define(self, children):
        return ast.Define(children[1].value, children[3], self.loc(children[1]))

    def include(self, children):
        return ast.Include(children[1].value[1:-1], self.loc(children[0]))

    def host(self, children):
        body = _nodes(children[3:-1])
        nics = [c for c in body if isinstance(c, ast.Nic)]
        for nic in nics:
            nic.host = children[1].value
        links = [c for c in body if isinstance(c, ast.Link)]
        return ast.Host(children[1].value, nics, links, self.loc(children[0]))

    def link(self, children):
        return ast.Link(self._value(children[2]), self.loc(children[0]))

    def nic_kind(self, children):
        return children[0]

    def nic(self, children):
        kind, name = children[0], children[1]
        return ast.Nic(kind.value, name.value, _nodes(children[3:-1]), self.loc(kind))

    def address(self, children):
        token = children[1]
        value = token.value[1:-1] if token.type == "STRING" else self.value_of(token)
        return ast.Setting("p4runtime", value, self.loc(children[0]))

    def setting_name(self, children):
        return children[0]

    def setting(self, children):
        name, token = children
        value = token.value[1:-1] if isinstance(token, Token) and token.type == "STRING" \
            else self._value(token)
        return ast.Setting(name.value, value, self.loc(name))

    # -- rules ----------------------------------------------------------------------------

    def filters(self, children):
        return ast.Block("filters", _nodes(children[2:-1]), self.loc(children[0]))

    def firewall(self, children):
        return ast.Block("firewall", _nodes(children[2:-1]), self.loc(children[0]))

    def nat(self, children):
        return ast.Block("nat", _nodes(children[2:-1]), self.loc(children[0]))

    def rule(self, children):
        match, _, action, priority = children
        start, end = match.span[0], (priority or action).span[1]
        node = ast.Rule(match, action, priority, match.loc, self.text_between(start, end))
        node.span = (start, end)
        return node

    def default_rule(self, children):
        node = ast.Rule(None, children[2], None, self.loc(children[0]), self.source(children))
        return self.spanned(node, children)

    def priority(self, children):
        return self._value(children[1])

    def match(self, children):
        first = children[0]
        if isinstance(first, Token):          # any
            node = ast.Match([], self.loc(first), "any")
            node.span = (first.start_pos, first.end_pos)
            return node
        start, end = first.span[0], children[-1].span[1]
        node = ast.Match(children, first.loc, self.text_between(start, end))
        node.span = (start, end)
        return node

    def match_item(self, children):
        selector = children[0]
        node = ast.MatchItem(selector.value, children[1:], self.loc(selector))
        node.span = (selector.start_pos, children[-1].span[1] if len(children) > 1
                     else selector.end_pos)
        return node

    def field(self, children):
        name = children[0]
        if len(children) == 1:
            node = ast.Field(name.value, None, self.loc(name))
            node.span = (name.start_pos, name.end_pos)
            return node
        values = children[1]
        node = ast.Field(name.value, values, self.loc(name))
        node.span = (name.start_pos, values.span[1])
        return node

    # -- actions --------------------------------------------------------------------------

    def _action(self, kind, children, **args):
        node = ast.Action(kind, args, self.first_loc(children), self.source(children))
        return self.spanned(node, children)

    def act_queue(self, c):
        return self._action("queue", c, queue=self._value(c[1]))

    def act_rss(self, c):
        return self._action("rss", c)

    def act_drop(self, c):
        return self._action("drop", c)

    def act_allow(self, c):
        return self._action("allow", c)

    def act_mark(self, c):
        return self._action("mark", c)

    def act_dscp(self, c):
        return self._action("dscp", c, dscp=self._value(c[2]))

    def act_dmac(self, c):
        return self._action("dmac", c, mac=self._value(c[2]))

    def act_cpu(self, c):
        return self._action("cpu", c)

    def act_bypass(self, c):
        return self._action("bypass", c, stages=c[1])

    def act_vcpu(self, c):
        return self._action("vcpu", c, vcpu=self._value(c[1]))

    def act_forward(self, c):
        port, option = c[0], (c[1] if len(c) > 1 else None)
        return self._action("forward", c, port=port, option=option)

    def act_flood(self, c):
        return self._action("flood", c, ports=[p for p in c if isinstance(p, ast.Port)])

    def act_snat(self, c):
        return self._action("snat", c, address=self._value(c[1]),
                            ports=self._value(c[3]) if c[3] is not None else None)

    def act_dnat(self, c):
        return self._action("dnat", c, address=self._value(c[1]))

    def port_vf(self, c):
        return self.spanned(ast.Port("vf", self._value(c[1]), self.loc(c[0])), c)

    def port_uplink(self, c):
        return self.spanned(ast.Port("uplink", None, self.loc(c[0])), c)

    def port_number(self, c):
        return self.spanned(ast.Port("port", self._value(c[1]), self.loc(c[0])), c)

    def vlan_push(self, c):
        return _Option("push", {"vid": self._value(c[2])}, self.loc(c[0]), c)

    def vlan_pop(self, c):
        return _Option("pop", {}, self.loc(c[0]), c)

    def route(self, c):
        return _Option("route", {"smac": self._value(c[2]), "dmac": self._value(c[4])},
                       self.loc(c[0]), c)

    # -- numa -----------------------------------------------------------------------------

    def numa(self, children):
        body = _nodes(children[2:-1])
        return ast.Numa([b for b in body if isinstance(b, ast.NumaNode)],
                        [b for b in body if isinstance(b, ast.RssOver)],
                        [b for b in body if isinstance(b, ast.Pin)], self.loc(children[0]))

    def node(self, children):
        parts = _nodes(children[3:-1])
        vcpus = [v for name, values in parts if name == "vcpus" for v in values]
        queues = [v for name, values in parts if name == "queues" for v in values]
        node = ast.NumaNode(self._value(children[1]), vcpus, queues, self.loc(children[0]))
        node.parts = parts
        return node

    def node_part_name(self, children):
        return children[0]

    def node_part(self, children):
        return (children[0].value, children[1])

    def rss_over(self, children):
        return ast.RssOver(children[3], self.loc(children[0]))

    def pin(self, children):
        return self.spanned(ast.Pin(children[1], children[3], self.loc(children[0]),
                                    self.source(children)), children)

    # -- pipeline -------------------------------------------------------------------------

    def pipeline(self, children):
        return ast.Pipeline(_nodes(children[2:-1]), self.loc(children[0]))

    def where(self, children):
        return children[0]

    def selection(self, children):
        return children[1]

    def stage(self, children):
        items = [c for c in children if c is not None]
        first = items[0]
        if items[0].value == "inject":
            items = items[1:]
        # "stage" NAME where NAME [selection] "{" rules "}"
        name, where, anchor = items[1], items[2], items[3]
        rest = items[4:]
        selection = rest[0] if isinstance(rest[0], ast.Match) else None
        rules = [r for r in rest if isinstance(r, ast.Rule)]
        return ast.Stage(name.value, where.value, anchor.value, self.loc(anchor), selection,
                         rules, self.loc(first), self.loc(name))

    def append(self, children):
        items = [c for c in children if c is not None]
        name = items[2]
        rest = items[3:]
        selection = rest[0] if rest and isinstance(rest[0], ast.Match) else None
        rules = [r for r in rest if isinstance(r, ast.Rule)]
        return ast.Stage(name.value, "append", None, None, selection, rules,
                         self.loc(items[0]), self.loc(name))

    def bypass(self, children):
        return ast.Bypass(children[1], children[2], self.loc(children[0]),
                          self.source(children))

    # -- special --------------------------------------------------------------------------

    def special(self, children):
        return ast.Special(_nodes(children[2:-1]), self.loc(children[0]))

    def criterion(self, children):
        return children[0]

    def special_item(self, children):
        if len(children) == 1:
            return (children[0].value, self.loc(children[0]))
        return (children[1], self.loc(children[0]))

    def special_path(self, children):
        return ast.Setting("special-path", self.value_of(children[1]), self.loc(children[0]))

    # -- services -------------------------------------------------------------------------

    def services(self, children):
        body = _nodes(children[2:-1])
        blocks = [b for b in body if isinstance(b, ast.Block)]
        return ast.Services([b for b in blocks if b.kind == "firewall"],
                            [b for b in blocks if b.kind == "nat"],
                            [b for b in body if isinstance(b, ast.LoadBalancer)],
                            [b for b in body if isinstance(b, list)], self.loc(children[0]))

    def lb(self, children):
        proto = children[3]
        node = ast.LoadBalancer(self._value(children[2]), proto.value, self.loc(proto),
                                _nodes(children[5:-1]), self.loc(children[0]),
                                self.source(children[:4]))
        return node

    def backend_opt_name(self, children):
        return children[0]

    def backend_opt(self, children):
        return (children[0].value, self._value(children[1]), self.loc(children[0]))

    def backend(self, children):
        options, locs = {}, {}
        for name, value, loc in children[2:]:
            options.setdefault(name, value)
            locs.setdefault(name, []).append(loc)
        return ast.Backend(self._value(children[1]), options, locs, self.loc(children[0]))

    def offload(self, children):
        return _nodes(children[2:-1])

    def tier(self, children):
        return children[0]

    def offload_after(self, c):
        return ast.OffloadStatement("after", c[1].value, self._value(c[3]), self.loc(c[0]))

    def offload_established(self, c):
        return ast.OffloadStatement("established", c[1].value, None, self.loc(c[0]))

    def offload_never(self, c):
        return ast.OffloadStatement("never", c[1].value, None, self.loc(c[0]))

    def offload_idle(self, c):
        return ast.OffloadStatement("idle", None, self._value(c[1]), self.loc(c[0]))

    def offload_capacity(self, c):
        return ast.OffloadStatement("capacity", c[0].value, self._value(c[2]), self.loc(c[0]))

    # -- PNIC -----------------------------------------------------------------------------

    def vf_vni(self, c):
        return ast.VfVni(self._value(c[1]), self._value(c[3]), self.loc(c[0]), self.source(c))

    def tunnel_kind(self, children):
        return children[0]

    def tunnel_opt_name(self, children):
        return children[0]

    def tunnel_opt(self, children):
        return (children[0].value, self._value(children[1]), self.loc(children[0]))

    def tunnel(self, c):
        options, locs = {}, {}
        for name, value, loc in c[6:]:
            options.setdefault(name, value)
            locs.setdefault(name, []).append(loc)
        return ast.Tunnel(self._value(c[2]), self._value(c[4]), c[5].value, options, locs,
                          self.loc(c[0]), self.source(c))

    def network(self, c):
        return ast.Network(c[1].value, self._value(c[3]), _nodes(c[5:-1]), self.loc(c[0]))

    # -- generic tables -------------------------------------------------------------------

    def table(self, c):
        return ast.Table(c[1].value, _nodes(c[3:-1]), self.loc(c[0]))

    def key_item(self, c):
        return self.spanned(_Key(c[0].value, c[1], self.loc(c[0])), c)

    def table_rule(self, c):
        keys = [k for k in c if isinstance(k, _Key)]
        call = next(k for k in c if isinstance(k, ast.Call))
        priority = c[-1] if isinstance(c[-1], ast.Value) else None
        loc = keys[0].loc if keys else self.first_loc(c)
        node = ast.TableRule([(k.name, k.values, k.loc) for k in keys], call, priority, loc,
                             self.source(c))
        return self.spanned(node, c)

    def table_default(self, c):
        return self.spanned(ast.TableRule(None, c[2], None, self.loc(c[0]), self.source(c)), c)

    def call(self, c):
        args = [a for a in c[2:-1] if isinstance(a, ast.Arg)]
        return self.spanned(ast.Call(c[0].value, args, self.loc(c[0]), self.source(c)), c)

    def named_arg(self, c):
        return ast.Arg(c[0].value, self._value(c[1]), self.loc(c[0]))

    def positional_arg(self, c):
        value = self._value(c[0])
        return ast.Arg(None, value, value.loc)


class _Option:
    """A forward option (`push vlan N`, `pop vlan`, `route smac X dmac Y`)."""

    def __init__(self, kind, args, loc, children):
        self.kind, self.args, self.loc = kind, args, loc
        self.span = _span(children)


class _Key:
    def __init__(self, name, values, loc):
        self.name, self.values, self.loc = name, values, loc


@lru_cache(maxsize=1)
def _parser():
    builder = _Builder()
    lark = Lark(GRAMMAR_PATH.read_text(), parser="lalr", lexer=KeywordLexer,
                keep_all_tokens=True, maybe_placeholders=True, transformer=builder)
    keywords = {}
    names = {}
    for term in lark.terminals:
        if term.pattern.type == "str":
            keywords[term.pattern.value] = term.name
            names[term.name] = term.pattern.value
    KeywordLexer.keywords = keywords
    return lark, builder, names


_LOCK = threading.Lock()


def parse(text: str, filename: str, diagnostics: Diagnostics) -> ast.File | None:
    """The file's syntax tree; None (with errors in `diagnostics`) if it does not parse."""
    lark, builder, names = _parser()
    lines = text.split("\n")
    try:
        tokens = words(text, filename)
    except LexError as exc:
        diagnostics.error(exc.message, exc.loc)
        return None
    failed = []

    def on_error(exc: UnexpectedInput) -> bool:
        failed.append(exc)
        if isinstance(exc, UnexpectedToken) and exc.interactive_parser is not None:
            state = exc.interactive_parser.parser_state
            exc.possible = [t for t in (exc.expected or ())
                            if shifts(state.parse_conf.states, state.state_stack, t)]
        if not isinstance(exc, UnexpectedToken) or exc.token.type == "$END":
            return False
        return len(failed) < MAX_SYNTAX_ERRORS and _resynchronise(exc, tokens)

    with _LOCK:
        builder.file, builder.text, builder.lines = filename, text, lines
        try:
            items = lark.parse(TokenStream(tokens), on_error=on_error)
        except UnexpectedInput as exc:
            if not failed or failed[-1] is not exc:
                failed.append(exc)
            items = None
        except Exception:                  # a construct cut short by error recovery
            if not failed:
                raise
            items = None
    for exc in failed:
        _report(exc, filename, lines, names, tokens, diagnostics)
    if failed:
        return None
    return ast.File(filename, items)


def _resynchronise(exc, tokens) -> bool:
    """Carry on after a syntax error from the next line, as a person reads the file: skip the
    rest of the error's line (and any block it opens), then unwind the parser to the
    innermost construct still open before that line that can take the next line's first word
    (another rule or statement, or the `}` closing the block). False at the end of the file."""
    parser = exc.interactive_parser
    stream = parser.lexer_thread.state.text
    state = parser.parser_state
    states = state.parse_conf.states
    line = exc.token.line
    opened = 0
    while True:
        while stream.next < len(tokens) and (tokens[stream.next].line <= line or opened > 0):
            word = tokens[stream.next].value
            opened += (word == "{") - (word == "}")
            line = max(line, tokens[stream.next].line) if opened > 0 else line
            stream.next += 1
        if stream.next >= len(tokens):
            return False
        token = tokens[stream.next]
        stack, values = state.state_stack, state.value_stack
        floor = 1
        for index in range(len(values) - 1, -1, -1):
            value = values[index]
            if isinstance(value, Token) and value.value == "{" and value.line < exc.token.line:
                floor = index + 2           # the stack just after that brace
                break
        ceiling = len(stack)               # below whatever the broken line started
        for index in range(len(values) - 1, floor - 2, -1):
            start = _line_of(values[index])
            if start is not None and start < exc.token.line:
                break
            ceiling = index + 1
        for depth in range(ceiling, floor - 1, -1):
            terminal = KeywordLexer.type_of(token, states, stack[:depth])
            if shifts(states, stack[:depth], terminal):
                del values[depth - 1:]
                del stack[depth:]
                return True
        line = token.line           # nothing open can take this line: skip it too


def _line_of(value):
    if isinstance(value, Token):
        return value.line
    loc = getattr(value, "loc", None)
    return loc.line if loc is not None else None


def _report(exc, filename, lines, names, tokens, diagnostics):
    """A syntax error in the language's words: what came, what could have come."""
    token = getattr(exc, "token", None)
    if token is None or token.type == "$END":
        line = len(lines) if not lines[-1] else len(lines) + 1
        line = min(line, len(lines))
        last = tokens[-1] if tokens else None
        if last is not None:
            line, column = last.end_line, last.end_column
        else:
            column = 1
        loc = SourceLocation(filename, line, column, lines[line - 1])
        expected = _expected(getattr(exc, "possible", None) or getattr(exc, "expected", ())
                             or (), names)
        diagnostics.error("unexpected end of file" + (f": expected {expected}" if expected
                                                      else " (a block is not closed with '}')"),
                          loc)
        return
    loc = SourceLocation(filename, token.line, token.column, lines[token.line - 1])
    expected = set(getattr(exc, "possible", None) or exc.expected or ())
    got = token.value
    message = f"unexpected '{got}'"
    if expected:
        message += f": expected {_expected(expected, names)}"
    keywords = [names[e] for e in expected if e in names and names[e] not in _PUNCTUATION]
    if token.type in ("NAME",) or token.value in names.values():
        close = difflib.get_close_matches(got, keywords, n=1, cutoff=0.6)
        if close and close[0] != got:
            message += f" (did you mean '{close[0]}'?)"
    diagnostics.error(message, loc)


def _expected(expected, names) -> str:
    """What could have come, punctuation first ('->' is the usual missing piece)."""
    punctuation = [f"'{names[e]}'" for e in expected
                   if e in names and names[e] in _PUNCTUATION]
    punctuation.sort(key=lambda p: _PUNCTUATION.index(p[1:-1]))
    words = sorted(f"'{names[e]}'" for e in expected
                   if e in names and names[e] not in _PUNCTUATION)
    kinds = sorted(_KIND_WORDS.get(e, e) for e in expected if e not in names)
    described = punctuation + words + kinds
    if len(described) > 8:
        described = described[:8] + ["..."]
    return " or ".join(described) if len(described) <= 2 else ", ".join(described)
