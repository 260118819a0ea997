"""Reads p4c's STF test format into a list of commands.

The format is line oriented; `#` starts a comment. The commands and their spellings follow
p4c's tools/stf/stf_lexer.py and stf_parser.py plus the BMv2 extensions of
backends/bmv2/bmv2stf.py:

    add TABLE [PRIORITY] FIELD:VALUE ... ACTION(PARAM:VALUE, ...) [= NAME]
                                    (VALUE/LEN for lpm; VALUE&&&MASK for ternary, as
                                    simple_switch_CLI writes it)
    setdefault TABLE ACTION(PARAM:VALUE, ...)
    packet PORT HEX...              expect PORT [HEX...]   (`*` any nibble, final `$` exact length)
    no_packet | wait | remove all
    check_counter COUNTER(INDEX | $NAME) [packets|bytes ==|!=|<|<=|>|>= N]
    mirroring_add SESSION PORT | mirroring_add_mc SESSION GROUP | mirroring_delete SESSION
    mirroring_get SESSION | mc_mgrp_create GROUP | mc_node_create RID PORT... |
    mc_node_update NODE PORT... | mc_node_associate GROUP NODE
    counter_read NAME INDEX | counter_write NAME INDEX PACKETS BYTES
    register_read NAME INDEX | register_write NAME INDEX VALUE | register_reset NAME
    meter_get_rates NAME INDEX | meter_set_rates NAME INDEX RATE:BURST...
    meter_array_set_rates NAME RATE:BURST...

Numbers stay text here (`0x0a**`, `0b1*`, `10`): what a wildcard means depends on the key's
match kind, which only the runner knows.
"""
import re
from dataclasses import dataclass, field


class STFError(Exception):
    """A line of an STF file that cannot be read; the message names file:line."""


@dataclass(frozen=True)
class Masked:
    """A ternary key value written VALUE&&&MASK (both still text)."""

    value: str
    mask: str


@dataclass
class Command:
    """One STF command: `name` (lower case), its arguments, and where it was written."""

    name: str
    line: int
    args: dict = field(default_factory=dict)


TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>"[^"]+")
    | (?P<number>0[xX][0-9a-fA-F*]+|0[bB][01*]+|[0-9]+(?:\.[0-9]+)?)
    | (?P<name>[A-Za-z_$][A-Za-z_$0-9]*(?:\[[0-9]+\])?(?:\.[A-Za-z_$][A-Za-z_$0-9]*(?:\[[0-9]+\])?)*)
    | (?P<op>&&&|==|!=|<=|>=|[<>():,/=])
    )""", re.VERBOSE)
PACKET_DATA = re.compile(r"[0-9a-fA-F]+")
EXPECT_DATA = re.compile(r"[0-9a-fA-F*]+\$?|\$")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
# direct commands: name -> argument kinds; "n" number, "id" name, "n*" one or more numbers,
# "rate*" one or more RATE:BURST pairs
DIRECT = {
    "mirroring_add": ("n", "n"), "mirroring_add_mc": ("n", "n"), "mirroring_delete": ("n",),
    "mirroring_get": ("n",), "mc_mgrp_create": ("n",), "mc_node_create": ("n", "n*"),
    "mc_node_update": ("n", "n*"), "mc_node_associate": ("n", "n"),
    "counter_read": ("id", "n"), "counter_write": ("id", "n", "n", "n"),
    "register_read": ("id", "n"), "register_write": ("id", "n", "n"), "register_reset": ("id",),
    "meter_get_rates": ("id", "n"), "meter_set_rates": ("id", "n", "rate*"),
    "meter_array_set_rates": ("id", "rate*"),
}


class Tokens:
    """The tokens of one command line, consumed left to right."""

    def __init__(self, text: str, where: str):
        self.where = where
        self.items = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise STFError(f"{where}: unexpected character {text[pos:].lstrip()[:1]!r}")
            kind = m.lastgroup
            value = m.group(kind)
            if kind == "string":
                kind, value = "name", value[1:-1]
            self.items.append((kind, value))
            pos = m.end()
        self.pos = 0

    def peek(self, offset=0):
        i = self.pos + offset
        return self.items[i] if i < len(self.items) else (None, None)

    def take(self, kind: str, value: str | None = None, what: str = "") -> str:
        got_kind, got = self.peek()
        if got_kind != kind or (value is not None and got != value):
            wanted = repr(value) if value is not None else (what or kind)
            found = "end of line" if got is None else repr(got)
            raise STFError(f"{self.where}: expected {wanted}, found {found}")
        self.pos += 1
        return got

    def at(self, kind: str, value: str | None = None) -> bool:
        got_kind, got = self.peek()
        return got_kind == kind and (value is None or got == value)

    def done(self) -> None:
        if self.pos < len(self.items):
            raise STFError(f"{self.where}: unexpected {self.items[self.pos][1]!r}")


def parse_stf(text: str, filename: str = "<stf>") -> list[Command]:
    """Every command of an STF file, in order; STFError at the first bad line."""
    commands = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{filename}:{number}"
        word, _, rest = line.replace("\t", " ").partition(" ")
        name = word.lower()
        if name in ("packet", "expect"):
            commands.append(parse_packet(name, rest, number, where))
            continue
        tokens = Tokens(rest, where)
        if name == "add":
            command = parse_add(tokens, number)
        elif name == "setdefault":
            table = tokens.take("name", what="a table name")
            command = Command("setdefault", number, {"table": table, **parse_action(tokens)})
        elif name in ("no_packet", "wait"):
            command = Command(name, number)
        elif name == "remove":
            tokens.take("name", "all")
            command = Command("remove_all", number)
        elif name == "check_counter":
            command = parse_check_counter(tokens, number)
        elif name in DIRECT:
            command = Command(name, number, {"values": parse_direct(tokens, DIRECT[name])})
        else:
            raise STFError(f"{where}: unknown command '{word}'")
        tokens.done()
        commands.append(command)
    return commands


def parse_packet(name: str, rest: str, number: int, where: str) -> Command:
    """`packet PORT DATA` / `expect PORT [DATA]`: data is hex nibbles in any grouping."""
    words = rest.split()
    if not words or not words[0].isdigit():
        raise STFError(f"{where}: {name} needs a port number")
    pattern = PACKET_DATA if name == "packet" else EXPECT_DATA
    for word in words[1:]:
        if not pattern.fullmatch(word):
            raise STFError(f"{where}: invalid packet data {word!r}")
    data = "".join(words[1:]).upper()
    if name == "packet":
        if len(data) % 2:
            raise STFError(f"{where}: packet data has an odd number of hex digits")
        return Command("packet", number, {"port": int(words[0]), "data": bytes.fromhex(data)})
    exact = data.endswith("$")
    data = data.rstrip("$")
    if "$" in data:
        raise STFError(f"{where}: '$' may only end the expected packet")
    return Command("expect", number, {"port": int(words[0]), "pattern": data or None,
                                      "exact_length": exact})


def parse_add(tokens: Tokens, number: int) -> Command:
    table = tokens.take("name", what="a table name")
    priority = None
    if tokens.at("number") and not tokens.peek(1) == ("op", ":"):
        priority = int(tokens.take("number"))
    matches = []
    while tokens.at("name") and tokens.peek(1) == ("op", ":"):
        key = tokens.take("name")
        tokens.take("op", ":")
        value = tokens.take("number", what="a key value")
        if tokens.at("op", "/"):
            tokens.take("op", "/")
            value = (value, tokens.take("number", what="a prefix length"))
        elif tokens.at("op", "&&&"):
            tokens.take("op", "&&&")
            value = Masked(value, tokens.take("number", what="a mask"))
        matches.append((key, value))
    if not matches:
        raise STFError(f"{tokens.where}: add needs at least one FIELD:VALUE key")
    command = Command("add", number, {"table": table, "priority": priority, "matches": matches,
                                      **parse_action(tokens), "entry_name": None})
    if tokens.at("op", "="):
        tokens.take("op", "=")
        command.args["entry_name"] = tokens.take("name", what="an entry name")
    return command


def parse_action(tokens: Tokens) -> dict:
    """`ACTION(PARAM:VALUE, ...)`."""
    action = tokens.take("name", what="an action call")
    tokens.take("op", "(")
    args = []
    while not tokens.at("op", ")"):
        if args:
            tokens.take("op", ",")
        param = tokens.take("name", what="a parameter name")
        tokens.take("op", ":")
        args.append((param, tokens.take("number", what="a parameter value")))
    tokens.take("op", ")")
    return {"action": action, "action_args": args}


def parse_check_counter(tokens: Tokens, number: int) -> Command:
    counter = tokens.take("name", what="a counter name")
    tokens.take("op", "(")
    if tokens.at("number"):
        index = tokens.take("number")
    else:
        index = tokens.take("name", what="an index or $entry name")
    tokens.take("op", ")")
    kind, comparison, value = "packets", "==", "0"
    if tokens.peek()[0] is not None:
        kind = tokens.take("name", what="packets or bytes").lower()
        if kind not in ("packets", "bytes"):
            raise STFError(f"{tokens.where}: expected packets or bytes, found {kind!r}")
        comparison = tokens.take("op", what="a comparison")
        if comparison not in COMPARISONS:
            raise STFError(f"{tokens.where}: {comparison!r} is not a comparison")
        value = tokens.take("number", what="a count")
    return Command("check_counter", number, {"counter": counter, "index": index, "kind": kind,
                                             "comparison": comparison, "value": value})


def parse_direct(tokens: Tokens, kinds: tuple) -> list:
    values = []
    for kind in kinds:
        if kind == "id":
            values.append(tokens.take("name", what="a name"))
        elif kind == "n":
            values.append(tokens.take("number", what="a number"))
        elif kind == "n*":
            values.append(tokens.take("number", what="a number"))
            while tokens.at("number"):
                values.append(tokens.take("number"))
        else:  # rate*: RATE:BURST pairs
            while True:
                rate = tokens.take("number", what="RATE:BURST")
                tokens.take("op", ":")
                values.append((rate, tokens.take("number", what="a burst size")))
                if not tokens.at("number"):
                    break
    return values
