"""P4-16 parser: preprocessed text -> ast.Program, with lark's LALR parser and our own lexer.

P4's grammar is not context-free on its own: `T(x) y;` declares an instance while `f(x);` calls,
and `(T) x` casts while `(a) - b` subtracts. p4c's lexer solves this by knowing which names are
types (frontends/parsers/p4/p4lexer.ll: TYPE_IDENTIFIER vs IDENTIFIER), and so does
`_Classifier` here: it follows the declarations in the token stream (header, struct, enum,
extern, parser, control, package, typedef and type names, and generic type parameters within
their scope) and classifies every name before lark sees it.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput, UnexpectedToken
from lark.lexer import Lexer

from p4nic.compiler import ast
from p4nic.compiler.annocheck import EMPTY_ANNOTATIONS, needs_check
from p4nic.compiler.errors import CompileError, SourceLocation
from p4nic.compiler.preprocess import PreprocessedSource

GRAMMAR_PATH = Path(__file__).parent / "grammar.lark"

# ------------------------------------------------------------------------------- raw tokens

_RAW_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<nl>\n)
  | (?P<string>"(?:\\.|[^"\\])*")
  | (?P<int>(?:[0-9]+[ws])?
            (?:0[xX][0-9a-fA-F_]+|0[dD][0-9_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>&&&|\.\.\.|\+:|\|\+\|=|\|-\|=|<<=|>>=|\{\#\}|\|\+\||\|-\||\.\.|<<|&&|\|\|
              |==|!=|>=|<=|\+\+
              |\+=|-=|\*=|/=|%=|&=|\|=|\^=|[-+*/%&|^~!<>=?:;,.(){}\[\]@])
  | (?P<bad>.)
""", re.VERBOSE)

# Keywords that open a declaration of a type named by the next identifier.
_TYPE_DECL_KEYWORDS = {"header", "header_union", "struct", "parser", "control", "package"}
# Keywords after which '<' opens type arguments.
_GENERIC_KEYWORDS = {"bit", "int", "varbit", "tuple", "value_set", "list"}
# Tokens that can end a type, so that a following name is being declared.
_TYPE_END_TEXTS = {">", "]", "bool", "error", "string", "int", "bit", "void", "match_kind"}
# Tokens allowed between '<' and '>' of type arguments (used to tell `f<T>(x)` from `a < b`).
_TYPE_ARG_TOKENS = {"ident", "int", "<", ">", ",", "[", "]", "_", "."}

# Terminals the grammar accepts as a name (p4c's nonTypeName, plus `list`).
_NAME_TERMINALS = {"IDENTIFIER", "APPLY", "KEY", "ACTIONS", "STATE", "ENTRIES", "TYPE",
                   "PRIORITY", "LIST"}
_ASSIGN_OPS = {"+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", "|+|=", "|-|="}

_PLAIN_WORDS = {
    "IDENTIFIER": "a name", "TYPE_IDENTIFIER": "a type name", "INTEGER": "a number",
    "STRING_LITERAL": "a string", "ANNOTATION": "an annotation", "_L_ANGLE_ARGS": "'<'",
    "_R_ANGLE_SHIFT": "'>'", "ASSIGN_OP": "an assignment operator", "$END": "end of input",
}


@dataclass
class RawToken:
    kind: str          # 'int', 'string', 'ident', 'punct', or 'bad' (no P4 token)
    text: str
    pos: int
    line: int
    column: int


# Annotations whose (...) body p4c parses as key=value pairs (ParseAnnotations PARSE_KV_LIST).
KV_ANNOTATIONS = ("pkginfo", "platform_property")


@dataclass
class AnnotationData:
    """What the lexer knows about one annotation: name, body text and the body's tokens."""
    name: str
    raw: str
    bracket: Optional[str]      # '(' or '[' for bodies, None without one
    tokens: list

    def __str__(self) -> str:
        return "@" + self.name


def _raw_tokens(text: str) -> list:
    tokens = []
    line, line_start = 1, 0
    for m in _RAW_TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "nl":
            line += 1
            line_start = m.end()
            continue
        if kind == "ws":
            continue
        tokens.append(RawToken(kind, m.group(), m.start(), line, m.start() - line_start + 1))
        if kind == "string" and "\n" in m.group():
            # p4c's lexer lets a string run over several lines.
            line += m.group().count("\n")
            line_start = m.start() + m.group().rindex("\n") + 1
    return tokens


def _bad_character(tok: RawToken, source: PreprocessedSource) -> CompileError:
    if tok.text == '"':
        what = "unterminated string"
    elif tok.text.isprintable():
        what = f"unexpected character '{tok.text}'"
    else:
        what = f"unexpected character U+{ord(tok.text):04X}"
    return CompileError(what, source.location(tok.line, tok.column), kind="syntax")


# ------------------------------------------------------------------------------- the lexer

@dataclass
class _Scope:
    names: dict          # name -> 'type' or 'object'
    pending: bool        # opened by '(' or '<', waiting for its '{' or ';'
    fields: bool = False # the body of a header, header_union or struct


class _Scopes:
    """Names visible at a point: each scope maps a name to 'type' or 'object'.

    A scope is `pending` from a declaration's '(' or type parameter list until its '{' (then it
    becomes the block's scope) or its ';' (then it ends), so that parameters and type
    parameters are visible in the body."""

    def __init__(self):
        self.stack = [_Scope({}, False)]

    def is_type(self, name: str, global_only: bool = False) -> bool:
        for scope in (self.stack[:1] if global_only else reversed(self.stack)):
            if name in scope.names:
                return scope.names[name] == "type"
        return False

    def in_fields(self) -> bool:
        return self.stack[-1].fields

    def declare(self, name: str, kind: str):
        self.stack[-1].names[name] = kind

    def declare_outer(self, name: str, kind: str):
        """Declare in the innermost scope that is not pending (where a declaration lives)."""
        for scope in reversed(self.stack):
            if not scope.pending:
                scope.names[name] = kind
                return

    def open_pending(self):
        if not self.stack[-1].pending:
            self.stack.append(_Scope({}, True))

    def open_block(self, fields: bool = False):
        if self.stack[-1].pending:
            self.stack[-1].pending = False
            self.stack[-1].fields = fields
        else:
            self.stack.append(_Scope({}, False, fields))

    def close_block(self):
        while len(self.stack) > 1:
            if not self.stack.pop().pending:
                return

    def end_statement(self):
        while len(self.stack) > 1 and self.stack[-1].pending:
            self.stack.pop()


class _Classifier:
    """Turns raw tokens into lark Tokens, deciding type names and angle brackets."""

    def __init__(self, raw: list, literal_types: dict, source: PreprocessedSource):
        self.raw = raw
        self.literal_types = literal_types
        self.source = source
        self.scopes = _Scopes()
        self.out: list = []
        self.declare_type_at: set = set()     # raw indices of names that typedef/enum declare
        self.fields_body_next = False         # the next '{' opens a header/struct body

    def run(self) -> list:
        raw = self.raw
        i = 0
        n = len(raw)
        while i < n:
            tok = raw[i]
            if tok.kind == "punct" and tok.text == "@":
                i = self.annotation(i)
                continue
            if tok.kind == "ident":
                self.identifier(i)
            elif tok.kind == "punct":
                self.punctuation(i)
            elif tok.kind == "int":
                self.emit("INTEGER", tok)
            elif tok.kind == "string":
                self.emit("STRING_LITERAL", tok)
            else:
                raise _bad_character(tok, self.source)
            i += 1
        return self.out

    def emit(self, type_: str, tok: RawToken, value=None) -> Token:
        value = tok.text if value is None else value
        end = tok.pos + len(tok.text)
        t = Token(type_, value, tok.pos, tok.line, tok.column, tok.line,
                  tok.column + len(tok.text), end)
        self.out.append(t)
        return t

    def prev_type(self, back: int = 1) -> Optional[str]:
        return self.out[-back].type if len(self.out) >= back else None

    def prev_text(self, back: int = 1) -> Optional[str]:
        return str(self.out[-back]) if len(self.out) >= back else None

    def prev_ends_type(self, back: int) -> bool:
        """Whether the token `back` places behind can end a type (then a name is declared)."""
        return self.prev_type(back) == "TYPE_IDENTIFIER" or self.prev_text(back) in _TYPE_END_TEXTS

    def next_text(self, i: int, ahead: int = 1) -> Optional[str]:
        j = i + ahead
        return self.raw[j].text if j < len(self.raw) else None

    # -- identifiers and keywords --------------------------------------------------------------

    def identifier(self, i: int):
        tok = self.raw[i]
        text = tok.text
        if text == "_":
            self.emit(self.literal_types["_"], tok)
            return
        keyword = self.literal_types.get(text)
        if keyword is not None:
            self.emit(keyword, tok)
            if text in ("header", "header_union", "struct"):
                self.fields_body_next = True
            elif text in ("typedef", "type"):
                self.mark_typedef_name(i)
            elif text == "enum":
                self.mark_enum_name(i)
            return
        prev = self.prev_text()
        if i in self.declare_type_at:
            self.emit("TYPE_IDENTIFIER" if self.scopes.is_type(text) else "IDENTIFIER", tok)
            self.scopes.declare_outer(text, "type")
            return
        if prev in _TYPE_DECL_KEYWORDS or (
                prev == "extern" and self.next_text(i) in ("{", "<")):
            self.emit("TYPE_IDENTIFIER" if self.scopes.is_type(text) else "IDENTIFIER", tok)
            self.scopes.declare_outer(text, "type")
            return
        if self.scopes.is_type(text, global_only=self.after_global_dot()):
            if self.prev_ends_type(1) and self.next_text(i) in (";", "=", ",", ")"):
                # A declaration reusing a type's name for a variable or parameter: it hides
                # the type in this scope (as p4c's ProgramStructure::declareObject does);
                # a header or struct field of that name hides nothing.
                self.emit("IDENTIFIER", tok)
                if not self.scopes.in_fields():
                    self.scopes.declare(text, "object")
                return
            self.emit("TYPE_IDENTIFIER", tok)
            return
        self.emit("IDENTIFIER", tok)

    def after_global_dot(self) -> bool:
        """Whether the previous token is a '.' that names the global scope (`.X`), not a member
        access (which follows a name, ')', ']' or `this`)."""
        if self.prev_text() != ".":
            return False
        before = self.prev_type(2)
        return before is None or not (before in _NAME_TERMINALS or before in (
            "TYPE_IDENTIFIER", "RPAR", "RSQB", "THIS", "ERROR"))

    def mark_typedef_name(self, i: int):
        """`typedef T N;` / `type T N;` declare N, the name right before the ';'."""
        depth = 0
        for j in range(i + 1, len(self.raw)):
            t = self.raw[j].text
            if t in ("(", "[", "{"):
                depth += 1
            elif t in (")", "]", "}"):
                depth -= 1
            elif t == ";" and depth == 0:
                if self.raw[j - 1].kind == "ident":
                    self.declare_type_at.add(j - 1)
                return
            if depth < 0:
                return

    def mark_enum_name(self, i: int):
        """`enum E {` and `enum bit<8> E {` declare E, the name right before the '{'."""
        for j in range(i + 1, min(i + 12, len(self.raw))):
            if self.raw[j].text == "{":
                if self.raw[j - 1].kind == "ident":
                    self.declare_type_at.add(j - 1)
                return

    # -- punctuation -----------------------------------------------------------------------------

    def punctuation(self, i: int):
        tok = self.raw[i]
        text = tok.text
        if text == "<":
            self.left_angle(i)
            return
        if text == ">":
            following = self.raw[i + 1] if i + 1 < len(self.raw) else None
            if following is not None and following.text.startswith(">") \
                    and following.pos == tok.pos + 1:
                self.emit("_R_ANGLE_SHIFT", tok)
            else:
                self.emit(self.literal_types[">"], tok)
            return
        if text in _ASSIGN_OPS:
            self.emit("ASSIGN_OP", tok)
            return
        type_ = self.literal_types.get(text)
        if type_ is None:
            raise CompileError(f"unexpected '{text}'", self.source.location(tok.line, tok.column),
                               kind="syntax")
        self.emit(type_, tok)
        if text == "(":
            self.scopes.open_pending()
        elif text == "{":
            self.scopes.open_block(fields=self.fields_body_next)
            self.fields_body_next = False
        elif text == "}":
            self.scopes.close_block()
        elif text == ";":
            self.scopes.end_statement()

    def left_angle(self, i: int):
        tok = self.raw[i]
        prev_type, prev = self.prev_type(), self.prev_text()
        if prev_type == "TYPE_IDENTIFIER" or prev in _GENERIC_KEYWORDS:
            self.emit("_L_ANGLE_ARGS", tok)
            return
        if prev_type == "IDENTIFIER":
            before = self.prev_text(2)
            declaring = before in _TYPE_DECL_KEYWORDS or before == "extern" or (
                (self.prev_ends_type(2) or self.prev_type(2) == "IDENTIFIER")
                and self.is_type_param_list(i))
            if declaring:
                self.emit("_L_ANGLE_ARGS", tok)
                self.declare_type_params(i)
                return
            if self.is_type_arg_list(i):
                self.emit("_L_ANGLE_ARGS", tok)
                return
        self.emit(self.literal_types["<"], tok)

    def is_type_param_list(self, i: int) -> bool:
        """`< A, B > (`: the type parameters of a generic function or method prototype."""
        j = i + 1
        while j + 1 < len(self.raw) and self.raw[j].kind == "ident":
            sep = self.raw[j + 1].text
            if sep == ">":
                return j + 2 < len(self.raw) and self.raw[j + 2].text == "("
            if sep != ",":
                return False
            j += 2
        return False

    def is_type_arg_list(self, i: int) -> bool:
        """`< types > (`: explicit type arguments of a call (not a comparison)."""
        depth = 0
        for j in range(i, min(i + 64, len(self.raw))):
            t = self.raw[j]
            if t.kind == "punct" and t.text not in _TYPE_ARG_TOKENS:
                return False
            if t.text == "<":
                depth += 1
            elif t.text == ">":
                depth -= 1
                if depth == 0:
                    return j + 1 < len(self.raw) and self.raw[j + 1].text == "("
        return False

    def declare_type_params(self, i: int):
        self.scopes.open_pending()
        j = i + 1
        while j < len(self.raw) and self.raw[j].text != ">":
            if self.raw[j].kind == "ident":
                self.scopes.declare(self.raw[j].text, "type")
            j += 1

    # -- annotations -----------------------------------------------------------------------------

    def annotation(self, i: int) -> int:
        """`@name`, `@name(body)`, `@name[body]`, `@pragma rest-of-line`: one ANNOTATION token."""
        at = self.raw[i]
        if i + 1 >= len(self.raw) or self.raw[i + 1].kind != "ident":
            raise CompileError("expected an annotation name after '@'",
                               self.source.location(at.line, at.column), kind="syntax")
        name = self.raw[i + 1].text
        j = i + 2
        body: list = []
        bracket = None
        raw_text = ""
        if name == "pragma":
            # p4c: `@pragma` takes the rest of the line as its body (p4lexer.ll PRAGMA_LINE).
            while j < len(self.raw) and self.raw[j].line == at.line:
                body.append(self.raw[j])
                j += 1
            if body:
                name_tok = body.pop(0)
                name = name_tok.text
                raw_text = " ".join(t.text for t in body)
        elif j < len(self.raw) and self.raw[j].text in ("(", "["):
            bracket = self.raw[j].text
            closer = ")" if bracket == "(" else "]"
            depth = 0
            start = j
            while j < len(self.raw):
                t = self.raw[j].text
                if t in ("(", "[", "{"):
                    depth += 1
                elif t in (")", "]", "}"):
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= len(self.raw) or self.raw[j].text != closer:
                opener = self.raw[start]
                raise CompileError(f"unterminated body of annotation @{name}: missing '{closer}'",
                                   self.source.location(opener.line, opener.column), kind="syntax")
            body = self.raw[start + 1:j]
            raw_text = _source_slice(self.raw[start], self.raw[j], self.source)
            j += 1
        tokens = []
        for t in body:
            if t.kind == "bad" and t.text == '"':
                raise _bad_character(t, self.source)   # a string that never ends
        if body and all(t.kind != "bad" for t in body):
            # Shared scopes, so type names in bodies are recognised; bodies are balanced, so
            # they leave the scopes as they found them.
            sub = _Classifier(body, self.literal_types, self.source)
            sub.scopes = self.scopes
            tokens = sub.run()
        self.emit("ANNOTATION", at, AnnotationData(name, raw_text, bracket, tokens))
        return j


def _source_slice(first: RawToken, last: RawToken, source: PreprocessedSource) -> str:
    return source.text[first.pos + 1:last.pos]


def _check_translation(a: ast.Annotation) -> None:
    """@p4runtime_translation(uri, T): T is bit<W> with a literal W, string, or an integer
    (p4c parses the body with its own grammar rule)."""
    if not a.args:
        return   # p4info/typespec.py reads an unparsed body from `raw`
    second = a.args[1] if len(a.args) == 2 else None
    ok = isinstance(second, (ast.StringTypeRef, ast.StringLiteral, ast.IntLiteral)) or (
        isinstance(second, ast.BitsTypeRef) and not second.signed
        and isinstance(second.width, ast.IntLiteral))
    if not (isinstance(a.args[0], ast.StringLiteral) and ok):
        raise CompileError("@p4runtime_translation takes a URI string and bit<W>, string or an "
                           "integer", (second or a).loc or a.loc, kind="syntax")


class _TokenListLexer(Lexer):
    """Hands lark the tokens our classifier made (lark's custom-lexer interface)."""

    def __init__(self, lexer_conf):
        pass

    def lex(self, data):
        return iter(data)


# ------------------------------------------------------------------------------- AST building

def _parse_int(text: str, loc) -> ast.IntLiteral:
    width = None
    signed = False
    m = re.match(r"([0-9]+)([ws])(.*)$", text)
    if m:
        width, signed, text = int(m.group(1)), m.group(2) == "s", m.group(3)
    digits = text.replace("_", "")
    base = 10
    if len(digits) > 1 and digits[0] == "0" and digits[1] in "xXdDoObB":
        base = {"x": 16, "d": 10, "o": 8, "b": 2}[digits[1].lower()]
        digits = digits[2:]
    return ast.IntLiteral(int(digits, base), width, signed, base, loc=loc)


def _values(children) -> list:
    """Children that are not placeholders or leftover punctuation tokens."""
    return [c for c in children if c is not None and not isinstance(c, Token)]


class _AstBuilder:
    """Builds the AST from lark's parse tree: one method per grammar rule or alias, called with
    the rule's position (lark's meta) and its already built children. (A plain walk: lark's
    Transformer with meta arguments costs a wrapper object per node.)"""

    def __init__(self, source: PreprocessedSource, parser: Lark):
        self.source = source
        self.parser = parser
        self.expression_annotations = False

    def transform(self, tree: Tree):
        children = [self.transform(c) if isinstance(c, Tree) else c for c in tree.children]
        return getattr(self, tree.data)(tree.meta, children)

    # -- helpers ---------------------------------------------------------------------------------

    def loc(self, meta) -> Optional[SourceLocation]:
        if getattr(meta, "empty", True):
            return None
        return self.source.location(meta.line, meta.column)

    def tloc(self, tok) -> Optional[SourceLocation]:
        if isinstance(tok, Token) and tok.line is not None:
            return self.source.location(tok.line, tok.column)
        return None

    # -- program, annotations, names -------------------------------------------------------------

    def program(self, meta, children):
        declarations = []
        for c in children:
            if isinstance(c, list):
                declarations.extend(c)      # a typedef of a declaration: both, in order
            elif c is not None:
                declarations.append(c)
        return ast.Program(declarations, self.expression_annotations, loc=self.loc(meta))

    def empty_decl(self, meta, children):
        return None

    def annotations(self, meta, children):
        annotations = [self.annotation(tok) for tok in children]
        structured = {}
        for a in annotations:   # p4c ValidateParsedProgram: structured names are unique
            if a.name in structured and (structured[a.name] or a.structured):
                raise CompileError(f"@{a.name}: duplicate name for structured annotation",
                                   a.loc, kind="syntax")
            structured[a.name] = structured.get(a.name, False) or a.structured
            if a.name in EMPTY_ANNOTATIONS and a.raw.strip() and not a.structured:
                raise CompileError(f"@{a.name} should not have any arguments", a.loc,
                                   kind="syntax")
            if a.name == "p4runtime_translation":
                _check_translation(a)
            if a.name in KV_ANNOTATIONS and not a.kv and not a.structured:
                raise CompileError(f"@{a.name} needs a list of key=value pairs", a.loc,
                                   kind="syntax")
            if needs_check(a):
                self.expression_annotations = True
        return annotations

    def annotation(self, tok: Token) -> ast.Annotation:
        data: AnnotationData = tok.value
        structured = data.bracket == "["
        node = ast.Annotation(data.name, raw=data.raw, structured=structured, loc=self.tloc(tok))
        tokens = data.tokens
        if not tokens:
            return node
        kv = any(t.type == "EQUAL" for t in tokens) and (structured or data.name in KV_ANNOTATIONS)
        if structured and not kv and tokens[-1].type == "COMMA":
            tokens = tokens[:-1]   # p4c's grammar allows a trailing comma here
        try:
            parsed = self.transform(self.parser.parse(tokens, start="annotation_kv" if kv
                                                      else "annotation_args"))
        except (UnexpectedInput, CompileError):
            if structured:   # p4c parses structured bodies with its grammar: a syntax error
                raise CompileError(f"@{data.name}: the body of a structured annotation must be "
                                   f"a list of expressions or of key=value pairs", node.loc,
                                   kind="syntax") from None
            return node     # an unstructured body: only `raw` carries it
        if kv:
            for key, value in parsed:
                if key in node.kv:
                    raise CompileError(f"@{data.name}: duplicate key '{key}'", value.loc,
                                       kind="syntax")
                node.kv[key] = value
        else:
            node.args = parsed
        return node

    def annotation_args(self, meta, children):
        return [c for c in children if c is not None]

    def annotation_kv(self, meta, children):
        return _values(children)

    def prefixed_non_type_name(self, meta, children):
        return ast.Name(str(children[0]), loc=self.tloc(children[0]))

    def global_non_type_name(self, meta, children):
        return ast.Name(str(children[0]), global_scope=True, loc=self.loc(meta))

    def type_params(self, meta, children):
        return [str(c) for c in children]

    # -- types -----------------------------------------------------------------------------------

    def prefixed_type(self, meta, children):
        return ast.NamedTypeRef(str(children[0]), loc=self.tloc(children[0]))

    def global_type(self, meta, children):
        return ast.NamedTypeRef(str(children[0]), global_scope=True, loc=self.loc(meta))

    def specialized_type(self, meta, children):
        base, args = children
        base.type_args = args
        return base

    def header_stack_type(self, meta, children):
        return ast.StackTypeRef(children[0], children[1], loc=self.loc(meta))

    def tuple_type(self, meta, children):
        return ast.TupleTypeRef(children[0] or [], loc=self.loc(meta))

    def list_type(self, meta, children):
        return ast.ListTypeRef(children[-1], loc=self.loc(meta))

    def type_args(self, meta, children):
        return list(children)

    def bool_type(self, meta, children):
        return ast.BoolTypeRef(loc=self.loc(meta))

    def error_type(self, meta, children):
        return ast.ErrorTypeRef(loc=self.loc(meta))

    def match_kind_type(self, meta, children):
        return ast.MatchKindTypeRef(loc=self.loc(meta))

    def string_type(self, meta, children):
        return ast.StringTypeRef(loc=self.loc(meta))

    def int_type(self, meta, children):
        return ast.IntTypeRef(loc=self.loc(meta))

    def bit1_type(self, meta, children):
        loc = self.loc(meta)
        return ast.BitsTypeRef(ast.IntLiteral(1, loc=loc), loc=loc)

    def bit_type(self, meta, children):
        return ast.BitsTypeRef(children[0], loc=self.loc(meta))

    def signed_type(self, meta, children):
        return ast.BitsTypeRef(children[0], signed=True, loc=self.loc(meta))

    def varbit_type(self, meta, children):
        return ast.VarbitTypeRef(children[0], loc=self.loc(meta))

    def void_type(self, meta, children):
        return ast.VoidTypeRef(loc=self.loc(meta))

    def dont_care_type(self, meta, children):
        return ast.DontCareTypeRef(loc=self.loc(meta))

    def type_variable(self, meta, children):
        return ast.NamedTypeRef(str(children[0]), loc=self.tloc(children[0]))

    # -- type declarations -----------------------------------------------------------------------

    def _fields_decl(self, cls, children):
        annotations, name, type_params, *fields = children
        return cls(str(name), fields, type_params=type_params or [],
                   annotations=annotations or [], loc=self.tloc(name))

    def header_decl(self, meta, children):
        return self._fields_decl(ast.HeaderTypeDeclaration, children)

    def header_union_decl(self, meta, children):
        return self._fields_decl(ast.HeaderUnionDeclaration, children)

    def struct_decl(self, meta, children):
        return self._fields_decl(ast.StructDeclaration, children)

    def struct_field(self, meta, children):
        annotations, type_ref, name = children
        return ast.StructField(str(name), type_ref, annotations=annotations or [],
                               loc=self.tloc(name))

    def enum_decl(self, meta, children):
        annotations, name, *members = children
        members = [(str(m), None, self.tloc(m)) for m in members if m is not None]
        return ast.EnumDeclaration(str(name), members, annotations=annotations or [],
                                   loc=self.tloc(name))

    def serializable_enum_decl(self, meta, children):
        annotations, underlying, name, *members = children
        return ast.EnumDeclaration(str(name), [m for m in members if m is not None],
                                   underlying=underlying, annotations=annotations or [],
                                   loc=self.tloc(name))

    def enum_member(self, meta, children):
        name, value = children
        return (str(name), value, self.tloc(name))

    def error_decl(self, meta, children):
        return ast.ErrorDeclaration([str(c) for c in children if c is not None],
                                    loc=self.loc(meta))

    def match_kind_decl(self, meta, children):
        return ast.MatchKindDeclaration([str(c) for c in children if c is not None],
                                        loc=self.loc(meta))

    def typedef_decl(self, meta, children):
        annotations, type_ref, name = children
        return ast.TypedefDeclaration(str(name), type_ref, annotations=annotations or [],
                                      loc=self.tloc(name))

    def typedef_of_declaration(self, meta, children):
        """`typedef struct S {...} N;` declares S, then N as a typedef of it."""
        annotations, declared, name = children
        alias = ast.TypedefDeclaration(str(name), ast.NamedTypeRef(declared.name, loc=declared.loc),
                                       annotations=annotations or [], loc=self.tloc(name))
        return [declared, alias]

    def newtype_decl(self, meta, children):
        annotations, _, type_ref, name = children
        return ast.TypedefDeclaration(str(name), type_ref, new_type=True,
                                      annotations=annotations or [], loc=self.tloc(name))

    # -- parameters and arguments ----------------------------------------------------------------

    def params(self, meta, children):
        return list(children)

    def param(self, meta, children):
        annotations, direction, type_ref, name, default = children
        return ast.Parameter(str(name), type_ref, direction, default,
                             annotations=annotations or [], loc=self.tloc(name))

    def direction(self, meta, children):
        return str(children[0])

    def args(self, meta, children):
        out = []
        for c in children:
            if isinstance(c, ast.Argument):
                out.append(c)
            elif isinstance(c, ast.DontCare):
                out.append(ast.Argument(None, loc=c.loc))
            else:
                out.append(ast.Argument(c, loc=c.loc))
        return out

    def named_arg(self, meta, children):
        return ast.Argument(children[1], str(children[0]), loc=self.tloc(children[0]))

    def named_dont_care(self, meta, children):
        return ast.Argument(None, str(children[0]), loc=self.tloc(children[0]))

    # -- externs, functions, packages, instances -------------------------------------------------

    def extern_decl(self, meta, children):
        annotations, name, type_params, *methods = children
        return ast.ExternDeclaration(str(name), methods, type_params=type_params or [],
                                     annotations=annotations or [], loc=self.tloc(name))

    def function_prototype(self, meta, children):
        return_type, name, type_params, params = children
        return (return_type, name, type_params or [], params or [])

    def method_prototype(self, meta, children):
        annotations, (return_type, name, type_params, params) = children
        return ast.MethodPrototype(str(name), return_type, params, type_params=type_params,
                                   annotations=annotations or [], loc=self.tloc(name))

    def abstract_method(self, meta, children):
        annotations, _, (return_type, name, type_params, params) = children
        return ast.MethodPrototype(str(name), return_type, params, type_params=type_params,
                                   abstract=True, annotations=annotations or [],
                                   loc=self.tloc(name))

    def constructor_prototype(self, meta, children):
        annotations, name, params = children
        return ast.MethodPrototype(str(name), None, params or [], annotations=annotations or [],
                                   loc=self.tloc(name))

    def extern_function_decl(self, meta, children):
        annotations, (return_type, name, type_params, params) = children
        return ast.ExternFunctionDeclaration(str(name), return_type, params,
                                             type_params=type_params,
                                             annotations=annotations or [], loc=self.tloc(name))

    def function_decl(self, meta, children):
        annotations, (return_type, name, type_params, params), body = children
        return ast.FunctionDeclaration(str(name), return_type, params, body,
                                       type_params=type_params, annotations=annotations or [],
                                       loc=self.tloc(name))

    def package_type_decl(self, meta, children):
        annotations, name, type_params, params = children
        return ast.PackageTypeDeclaration(str(name), params or [], type_params=type_params or [],
                                          annotations=annotations or [], loc=self.tloc(name))

    def instantiation(self, meta, children):
        annotations, type_ref, args, name, *initializer = children
        return ast.Instantiation(str(name), type_ref, args or [], initializer=initializer,
                                 annotations=annotations or [], loc=self.tloc(name))

    def initialized_instantiation(self, meta, children):
        inst = self.instantiation(meta, children)
        inst.has_initializer = True
        return inst

    def constant_decl(self, meta, children):
        annotations, _, type_ref, name, value = children
        return ast.ConstantDeclaration(str(name), type_ref, value,
                                       annotations=annotations or [], loc=self.tloc(name))

    def variable_decl(self, meta, children):
        annotations, type_ref, name, init = children
        return ast.VariableDeclaration(str(name), type_ref, init, annotations=annotations or [],
                                       loc=self.tloc(name))

    variable_decl_noterm = variable_decl

    def action_decl(self, meta, children):
        annotations, name, params, body = children
        return ast.ActionDeclaration(str(name), params or [], body,
                                     annotations=annotations or [], loc=self.tloc(name))

    # -- parsers ---------------------------------------------------------------------------------

    def parser_type_decl(self, meta, children):
        annotations, name, type_params, params = children
        return ast.ParserTypeDeclaration(str(name), params or [], type_params=type_params or [],
                                         annotations=annotations or [], loc=self.tloc(name))

    def parser_decl(self, meta, children):
        proto, ctor_params, *rest = children
        states = [c for c in rest if isinstance(c, ast.ParserState)]
        local_decls = [c for c in rest if not isinstance(c, ast.ParserState)]
        return ast.ParserDeclaration(proto.name, proto.params, ctor_params or [], local_decls,
                                     states, type_params=proto.type_params,
                                     annotations=proto.annotations, loc=proto.loc)

    def value_set_decl(self, meta, children):
        annotations, element_type, size, name = children
        return ast.ValueSetDeclaration(str(name), element_type, size,
                                       annotations=annotations or [], loc=self.tloc(name))

    def parser_state(self, meta, children):
        annotations, _, name, *rest = children
        transition = rest.pop() if rest else None
        if isinstance(transition, Token):
            transition = ast.Name(str(transition), loc=self.tloc(transition))
        elif transition is None:
            # The spec: a state without a transition statement implicitly rejects.
            transition = ast.Name("reject", loc=self.tloc(name))
        return ast.ParserState(str(name), rest, transition, annotations=annotations or [],
                               loc=self.tloc(name))

    def select_expression(self, meta, children):
        exprs, *cases = children
        return ast.SelectExpression(exprs or [], cases, loc=self.loc(meta))

    def select_case(self, meta, children):
        keyset, state = children
        return ast.SelectCase(keyset, str(state), loc=self.loc(meta))

    def tuple_keyset(self, meta, children):
        return ast.ListExpression(_values(children), loc=self.loc(meta))

    def mask(self, meta, children):
        return ast.Binary("&&&", children[0], children[1], loc=self.loc(meta))

    def range(self, meta, children):
        return ast.Binary("..", children[0], children[1], loc=self.loc(meta))

    def default(self, meta, children):
        return ast.DefaultExpression(loc=self.loc(meta))

    def dont_care(self, meta, children):
        return ast.DontCare(loc=self.loc(meta))

    # -- controls and tables ---------------------------------------------------------------------

    def control_type_decl(self, meta, children):
        annotations, name, type_params, params = children
        return ast.ControlTypeDeclaration(str(name), params or [], type_params=type_params or [],
                                          annotations=annotations or [], loc=self.tloc(name))

    def control_decl(self, meta, children):
        proto, ctor_params, *rest = children
        body = rest.pop()
        local_decls = [c for c in rest if not isinstance(c, Token)]
        return ast.ControlDeclaration(proto.name, proto.params, ctor_params or [], local_decls,
                                      body, type_params=proto.type_params,
                                      annotations=proto.annotations, loc=proto.loc)

    def table_decl(self, meta, children):
        annotations, name, *properties = children
        return ast.TableDeclaration(str(name), properties, annotations=annotations or [],
                                    loc=self.tloc(name))

    def key_property(self, meta, children):
        keyword, *elements = children
        return ast.TableProperty("key", elements, loc=self.tloc(keyword))

    def key_element(self, meta, children):
        expr, match_kind, annotations = children
        return ast.KeyElement(expr, str(match_kind), annotations=annotations or [],
                              loc=self.loc(meta))

    def actions_property(self, meta, children):
        keyword, *actions = children
        return ast.TableProperty("actions", actions, loc=self.tloc(keyword))

    def action_item(self, meta, children):
        annotations, ref = children
        ref.annotations = annotations or []
        return ref

    def action_ref(self, meta, children):
        name, args = children
        return ast.ActionRef(name, args or [], loc=self.loc(meta))

    def entries_property(self, meta, children):
        annotations, const, keyword, *entries = children
        return ast.TableProperty("entries", entries, const=const is not None,
                                 annotations=annotations or [], loc=self.tloc(keyword))

    def entry(self, meta, children):
        const, priority, keys, action, annotations = children
        return ast.TableEntry(keys, action, priority, const=const is not None,
                              annotations=annotations or [], loc=self.loc(meta))

    def int_literal_priority(self, meta, children):
        return _parse_int(str(children[1]), self.tloc(children[1]))

    def entry_priority(self, meta, children):
        return _values(children)[0]

    def simple_property(self, meta, children):
        annotations, const, name, value = children
        if str(name) == "default_action":
            value = self.as_action_ref(value)
        return ast.TableProperty(str(name), value, const=const is not None,
                                 annotations=annotations or [], loc=self.tloc(name))

    @staticmethod
    def as_action_ref(value):
        """`default_action = a(1)` parses as a call; the table wants an ActionRef."""
        if isinstance(value, ast.MethodCall) and not value.type_args:
            return ast.ActionRef(value.callee, value.args, loc=value.loc)
        if isinstance(value, ast.Name):
            return ast.ActionRef(value, [], loc=value.loc)
        return value

    # -- statements ------------------------------------------------------------------------------

    def block(self, meta, children):
        annotations, *statements = children
        return ast.BlockStatement(statements, annotations=annotations or [], loc=self.loc(meta))

    def empty_statement(self, meta, children):
        return ast.EmptyStatement(annotations=children[0] or [], loc=self.loc(meta))

    def exit_statement(self, meta, children):
        return ast.ExitStatement(annotations=children[0] or [], loc=self.loc(meta))

    def break_statement(self, meta, children):
        return ast.BreakStatement(annotations=children[0] or [], loc=self.loc(meta))

    def continue_statement(self, meta, children):
        return ast.ContinueStatement(annotations=children[0] or [], loc=self.loc(meta))

    def return_statement(self, meta, children):
        annotations, value = children
        return ast.ReturnStatement(value, annotations=annotations or [], loc=self.loc(meta))

    @staticmethod
    def _split_annotations(children):
        if children and (children[0] is None or isinstance(children[0], list)) and \
                len(children) > 2:
            return children[0] or [], children[1:]
        return [], children

    def assignment(self, meta, children):
        annotations, (left, right) = self._split_annotations(children)
        return ast.AssignmentStatement(left, right, annotations=annotations, loc=self.loc(meta))

    def op_assignment(self, meta, children):
        """`a op= b` is `a = a op b` with the lvalue evaluated once: the Binary's left operand
        is the very node of the assignment's left side, so passes can see it is shared."""
        annotations, (left, op, right) = self._split_annotations(children)
        value = ast.Binary(str(op)[:-1], left, right, loc=self.loc(meta))
        return ast.AssignmentStatement(left, value, annotations=annotations, loc=self.loc(meta))

    def call_statement(self, meta, children):
        if len(children) == 3:
            annotations, callee, args = children
        else:
            annotations, (callee, args) = [], children
        call = ast.MethodCall(callee, args or [], loc=self.loc(meta))
        return ast.MethodCallStatement(call, annotations=annotations or [], loc=self.loc(meta))

    def generic_call_statement(self, meta, children):
        annotations, callee, type_args, args = children
        call = ast.MethodCall(callee, args or [], type_args, loc=self.loc(meta))
        return ast.MethodCallStatement(call, annotations=annotations or [], loc=self.loc(meta))

    def direct_application(self, meta, children):
        """`T.apply(args);` on a parser or control type: a TypeMember callee named 'apply'."""
        annotations, type_ref, apply_tok, args = children
        callee = ast.TypeMember(type_ref, "apply", loc=self.loc(meta))
        call = ast.MethodCall(callee, args or [], loc=self.loc(meta))
        return ast.MethodCallStatement(call, annotations=annotations or [], loc=self.loc(meta))

    def if_statement(self, meta, children):
        annotations, cond, then, else_ = children
        return ast.IfStatement(cond, then, else_, annotations=annotations or [],
                               loc=self.loc(meta))

    def switch_statement(self, meta, children):
        annotations, expr, *cases = children
        return ast.SwitchStatement(expr, cases, annotations=annotations or [], loc=self.loc(meta))

    def switch_case(self, meta, children):
        label, body = children
        return ast.SwitchCase(label, body, loc=self.loc(meta))

    def for_statement(self, meta, children):
        annotations, init, cond, updates, body = children
        return ast.ForStatement(init or [], cond, updates or [], body,
                                annotations=annotations or [], loc=self.loc(meta))

    def for_in_statement(self, meta, children):
        annotations, type_ref, name, _, collection, body = children
        var = ast.VariableDeclaration(str(name), type_ref, loc=self.tloc(name))
        return ast.ForInStatement(var, collection, body, annotations=annotations or [],
                                  loc=self.loc(meta))

    def for_updates(self, meta, children):
        return list(children)

    # -- expressions -----------------------------------------------------------------------------

    def expression_list(self, meta, children):
        return list(children)

    def binary(self, meta, children):
        left, op, right = children
        return ast.Binary(str(op), left, right, loc=self.loc(meta))

    def shift_right(self, meta, children):
        values = _values(children)
        return ast.Binary(">>", values[0], values[1], loc=self.loc(meta))

    def unary(self, meta, children):
        op, operand = children
        return ast.Unary(str(op), operand, loc=self.loc(meta))

    def cast(self, meta, children):
        type_ref, expr = _values(children)
        return ast.Cast(type_ref, expr, loc=self.loc(meta))

    def mux(self, meta, children):
        return ast.Mux(*children, loc=self.loc(meta))

    def member_expr(self, meta, children):
        expr, member = children
        return ast.Member(expr, str(member), loc=self.loc(meta))

    def index_expr(self, meta, children):
        return ast.Index(children[0], children[1], loc=self.loc(meta))

    def slice_expr(self, meta, children):
        return ast.Slice(children[0], children[1], children[2], loc=self.loc(meta))

    def plus_slice_expr(self, meta, children):
        """`e[lo +: w]` (P4-16 1.2.5) is the slice e[lo + w - 1 : lo]."""
        expr, lo, width = children
        loc = self.loc(meta)
        hi = ast.Binary("-", ast.Binary("+", copy.deepcopy(lo), width, loc=loc),
                        ast.IntLiteral(1, loc=loc), loc=loc)
        return ast.Slice(expr, hi, lo, loc=loc)

    def call_expr(self, meta, children):
        callee, args = children
        return ast.MethodCall(callee, args or [], loc=self.loc(meta))

    def generic_call_expr(self, meta, children):
        callee, type_args, args = children
        return ast.MethodCall(callee, args or [], type_args, loc=self.loc(meta))

    def int_literal(self, meta, children):
        return _parse_int(str(children[0]), self.tloc(children[0]))

    def true_literal(self, meta, children):
        return ast.BoolLiteral(True, loc=self.loc(meta))

    def false_literal(self, meta, children):
        return ast.BoolLiteral(False, loc=self.loc(meta))

    def this_expr(self, meta, children):
        return ast.This(loc=self.loc(meta))

    def string_literal(self, meta, children):
        return ast.StringLiteral(str(children[0])[1:-1], loc=self.tloc(children[0]))

    def list_expr(self, meta, children):
        elements = children[0] if children and isinstance(children[0], list) else []
        return ast.ListExpression(elements, loc=self.loc(meta))

    def list_items(self, meta, children):
        if len(children) == 1:
            return [children[0]]
        return children[0] + [children[1]]

    def struct_expr(self, meta, children):
        fields = [("...", c) if isinstance(c, ast.Dots) else c for c in _values(children)]
        return ast.StructExpression(fields, loc=self.loc(meta))

    def dots(self, meta, children):
        return ast.Dots(loc=self.loc(meta))

    def kv_pair(self, meta, children):
        return (str(children[0]), children[1])

    def invalid_header(self, meta, children):
        return ast.InvalidHeader(loc=self.loc(meta))

    def type_member(self, meta, children):
        type_ref, member = children
        return ast.TypeMember(type_ref, str(member), loc=self.loc(meta))

    def error_member(self, meta, children):
        return ast.TypeMember(ast.ErrorTypeRef(loc=self.loc(meta)), str(children[0]),
                              loc=self.loc(meta))

    def constructor_call(self, meta, children):
        type_ref, args = children
        return ast.ConstructorCall(type_ref, args or [], loc=self.loc(meta))


# ------------------------------------------------------------------------------- entry point

@lru_cache(maxsize=1)
def _build():
    # cache=True keeps lark's LALR tables in the temp dir: building them takes ~0.8 s.
    parser = Lark(GRAMMAR_PATH.read_text(), parser="lalr", lexer=_TokenListLexer,
                  start=["program", "annotation_args", "annotation_kv"],
                  propagate_positions=True, maybe_placeholders=True, cache=True)
    literal_types = {}
    for term in parser.terminals:
        if term.pattern.type == "str":
            literal_types[term.pattern.value] = term.name
    return parser, literal_types


def tokenize(source: PreprocessedSource) -> list:
    """The classified token stream of a preprocessed program (what the grammar sees)."""
    _, literal_types = _build()
    return _Classifier(_raw_tokens(source.text), literal_types, source).run()


def parse(source: PreprocessedSource) -> ast.Program:
    """Parse a preprocessed P4-16 program; raises CompileError (kind 'syntax') on bad input."""
    parser, literal_types = _build()
    tokens = tokenize(source)
    try:
        tree = parser.parse(tokens, start="program")
        return _AstBuilder(source, parser).transform(tree)
    except UnexpectedToken as e:
        raise _syntax_error(e, tokens, source, literal_types) from None
    except RecursionError:
        raise _too_deep(tokens, source) from None


def _too_deep(tokens: list, source: PreprocessedSource) -> CompileError:
    first = tokens[0] if tokens else None
    loc = source.location(first.line, first.column) if first else None
    return CompileError("the program nests too deeply for this compiler (an expression or "
                        "statement hundreds of levels deep); split it up", loc, kind="unsupported")


_TYPE_START_WORDS = {"bit", "bool", "error", "int", "match_kind", "string", "tuple", "varbit",
                     "list"}
_EXPRESSION_START_WORDS = {"!", "~", "-", "+", "(", "{", "{#}", ".", "true", "false", "this",
                           "error"}
# Types the standard includes declare: naming one undeclared suggests a missing #include.
_STANDARD_TYPES = {"packet_in": "core.p4", "packet_out": "core.p4",
                   "standard_metadata_t": "v1model.p4", "V1Switch": "v1model.p4",
                   "CounterType": "v1model.p4", "MeterType": "v1model.p4",
                   "HashAlgorithm": "v1model.p4", "CloneType": "v1model.p4",
                   "counter": "v1model.p4", "direct_counter": "v1model.p4", "meter": "v1model.p4",
                   "direct_meter": "v1model.p4", "register": "v1model.p4",
                   "action_profile": "v1model.p4", "action_selector": "v1model.p4"}
_OPERATOR_WORDS = {"!=", "%", "&&&", "&&", "&", "*", "+", "++", "-", "/", "<", "<=", "==", ">",
                   ">=", "?", "^", "|", "||", "|+|", "|-|", "<<", "..", "["}


def _expected_words(expected: set, literal_names: dict) -> list:
    """The terminals the parser could take, in words, with families summarised."""
    words = set()
    names = set(expected)
    starters = {n for n in names if literal_names.get(n) in _EXPRESSION_START_WORDS}
    if "INTEGER" in names and len(starters) > 3:
        words.add("an expression")
        names -= starters | _NAME_TERMINALS | {"INTEGER", "STRING_LITERAL", "TYPE_IDENTIFIER"}
        names -= {n for n in names if literal_names.get(n) in _TYPE_START_WORDS}
    if names & (_NAME_TERMINALS - {"LIST"}):      # `list` alone starts a type, not a name
        words.add("a name")
        names -= _NAME_TERMINALS
    type_words = {n for n in names if literal_names.get(n) in _TYPE_START_WORDS}
    if "TYPE_IDENTIFIER" in names or len(type_words) > 2:
        words.add("a type")
        names -= type_words | {"TYPE_IDENTIFIER"}
    operators = {n for n in names if literal_names.get(n) in _OPERATOR_WORDS or n in (
        "_R_ANGLE_SHIFT", "_L_ANGLE_ARGS")}
    if len(operators) > 3:
        words.add("an operator")
        names -= operators
    for n in names:
        if n in _PLAIN_WORDS:
            words.add(_PLAIN_WORDS[n])
        elif n in literal_names:
            words.add(f"'{literal_names[n]}'")
        elif not n.startswith("__"):
            words.add(n.lower())
    return sorted(words, key=lambda w: (not w.startswith("'"), w))


def _accepted_after_semicolon(e: UnexpectedToken, tok: Token, semicolon_type: str) -> bool:
    """Whether inserting a ';' before the offending token would let the parse go on."""
    try:
        trial = e.interactive_parser.copy()
        trial.feed_token(Token(semicolon_type, ";"))
        return tok.type in trial.accepts()
    except Exception:
        return False


def _syntax_error(e: UnexpectedToken, tokens: list, source: PreprocessedSource,
                  literal_types: dict) -> CompileError:
    literal_names = {v: k for k, v in literal_types.items()}
    tok = e.token
    try:
        # What the parser really accepts here (e.expected is per merged LALR state, too wide).
        expected = e.interactive_parser.accepts() or e.expected
    except Exception:
        expected = e.expected
    words = _expected_words(set(expected), literal_names)
    index = next((k for k, t in enumerate(tokens) if t is tok), len(tokens))
    previous = tokens[index - 1] if index > 0 else None
    if tok.type == "$END":
        loc = source.location(previous.end_line, previous.end_column) if previous else \
            source.location(1, 1)
        found = "end of input"
    else:
        loc = source.location(tok.line, tok.column)
        found = f"'{tok}'"
    if "';'" in words and previous is not None and tok.line != previous.line and \
            _accepted_after_semicolon(e, tok, literal_types[";"]):
        # Like gcc: a missing ';' is reported where it belongs, not at the next line's token.
        return CompileError(f"syntax error: missing ';' after '{previous}'",
                            source.location(previous.end_line, previous.end_column),
                            kind="syntax")
    message = f"syntax error: unexpected {found}"
    declaring = previous is not None and (
        previous.type == "TYPE_IDENTIFIER" or str(previous) in _TYPE_END_TEXTS | {"."})
    if str(tok).isidentifier() and literal_types.get(str(tok)) == tok.type and \
            "a name" in words and declaring:
        message += f" ('{tok}' is a keyword)"
    elif tok.type == "TYPE_IDENTIFIER" and "IDENTIFIER" in expected:
        message += f" ('{tok}' is declared as a type, so it cannot be used as a value here)"
    elif tok.type == "IDENTIFIER" and previous is not None and previous.type == "IDENTIFIER":
        message += f" (is '{previous}' meant to be a type? no type of that name is declared)"
    elif tok.type == "IDENTIFIER" and "a type" in words:
        message += f" ('{tok}' is not a declared type"
        if str(tok) in _STANDARD_TYPES:
            message += f"; it is declared in <{_STANDARD_TYPES[str(tok)]}>: is an #include missing?"
        message += ")"
    if words:
        if len(words) > 8:
            words = words[:8] + ["..."]
        message += "; expected " + (words[0] if len(words) == 1 else
                                     ", ".join(words[:-1]) + " or " + words[-1])
    return CompileError(message, loc, kind="syntax")
