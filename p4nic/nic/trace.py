"""BMv2-style trace log (what `simple_switch --log-console` prints), packets and control plane.

The code generator emits calls into a `Tracer` only when the device has a logger; without one
the generated pipeline contains no trace calls at all, so tracing costs nothing when off.
Lines follow bm_sim's wording and levels line for line (parser.cpp, pipeline.cpp,
conditionals.cpp, tables.cpp, match_units.cpp, match_tables.cpp, actions.cpp, deparser.cpp,
simple_switch.cpp), prefixed with the packet and copy id as BMv2 does ("[0.1] [cxt 0]"):

    [0.0] [cxt 0] Parser 'parser' entering state 'start'
    [0.0] [cxt 0] Extracting header 'ethernet'
    [0.0] [cxt 0] Parser state 'start': key is 0800
    [0.0] [cxt 0] Bytes parsed: 14
    [0.0] [cxt 0] router.p4(33) Condition "hdr.ipv4.isValid()" (node_2) is true
    [0.0] [cxt 0] Applying table 'MyIngress.ipv4_lpm'
    [0.0] [cxt 0] Looking up key:
    * hdr.ipv4.dstAddr    : 0a010203
    [0.0] [cxt 0] Table 'MyIngress.ipv4_lpm': hit with handle 0
    [0.0] [cxt 0] Dumping entry 0
    Match key:
    * hdr.ipv4.dstAddr    : LPM       0a000000/8
    Action entry: MyIngress.forward - 2,202,
    [0.0] [cxt 0] Action entry is MyIngress.forward - 2,202,
    [0.0] [cxt 0] router.p4(24) Action MyIngress.forward
    [0.0] [cxt 0] router.p4(25) Primitive std.egress_spec = port

Control-plane changes (entries added, modified, removed; default entries; action profile
members and groups; multicast groups; a pipeline loaded) are logged without a packet prefix,
worded as match_tables.cpp, action_profile.cpp and simple_pre.cpp log them.
"""

from __future__ import annotations

import logging

TRACE = 5  # BMv2's trace level, below logging.DEBUG
KEY_NAME_WIDTH = 20  # match_units.cpp: names padded to max(20, longest name)
MATCH_TYPE_NAMES = {"exact": "EXACT", "lpm": "LPM", "ternary": "TERNARY", "range": "RANGE",
                    "valid": "VALID", "optional": "TERNARY"}


def hex_bytes(value: int, bitwidth: int) -> str:
    """A value as BMv2's dump_hexstring prints it: every byte of the field, two digits each."""
    nbytes = max(1, (bitwidth + 7) // 8)
    return f"{value & ((1 << (nbytes * 8)) - 1):0{nbytes * 2}x}"


def source_prefix(source_info) -> str:
    """`file(line) ` of a JSON source_info (SourceInfo::to_string), or nothing."""
    if not isinstance(source_info, dict) or "filename" not in source_info:
        return ""
    return f"{source_info['filename']}({source_info.get('line', 0)}) "


def source_fragment(source_info) -> str | None:
    if isinstance(source_info, dict) and source_info.get("source_fragment"):
        return " ".join(str(source_info["source_fragment"]).split())
    return None


class Tracer:
    """Formats trace events for one loaded program and sends them to a logger.

    `logger` is a logging.Logger (lines at BMv2's levels: trace, debug, info for log_msg,
    error for parser exceptions) or any callable taking one string.
    """

    def __init__(self, logger):
        if isinstance(logger, logging.Logger):
            self._log = logger.log
        elif callable(logger):
            self._log = lambda _level, text: logger(text)
        else:
            raise TypeError("logger must be a logging.Logger or a callable taking a string")
        self.pkt_slot = None
        self.error_names = {}
        self.action_names = {}
        self.tables = {}

    def bind(self, program, layout, state):
        """Learn the PHV layout and names of a freshly compiled program."""
        self.pkt_slot = layout.reg["PKT_ID"]
        self.error_names = {v: k for k, v in program.errors.items()}
        self.action_names = {a.id: a.name for a in program.actions.values()}
        self.tables = state.tables

    def _say(self, h, text: str, level: int = logging.DEBUG):
        pid = h[self.pkt_slot] if h is not None else None
        prefix = f"[{pid[0]}.{pid[1]}] " if pid else ""
        self._log(level, f"{prefix}[cxt 0] {text}")

    # ---- device-level events (called by the pipeline) ------------------------------------------

    def packet_in(self, h, port: int, size: int):
        self._say(h, f"Processing packet received on port {port}")
        self._say(h, f"Packet of size {size}")

    def note(self, h, text: str):
        """Free-form traffic-manager events (cloning, multicast, resubmit, drops...)."""
        self._say(h, text)

    def transmit(self, h, port: int, size: int):
        self._say(h, f"Transmitting packet of size {size} out of port {port}")

    # ---- events from generated code ---------------------------------------------------------

    def trace(self, h, text: str):
        """A trace-level line the code generator wrote out in full (Action / Primitive)."""
        self._say(h, text, TRACE)

    def parser_start(self, h, name):
        self._say(h, f"Parser '{name}': start")

    def parser_state(self, h, parser, state):
        self._say(h, f"Parser '{parser}' entering state '{state}'")

    def extract(self, h, header):
        self._say(h, f"Extracting header '{header}'")

    def parser_set(self, h, text: str, value, after: str):
        """ParserOpSet: `text` names the field and the source, made once at load."""
        self._say(h, f"{text}{value}{after}")

    def parser_key(self, h, state, key: int, nbytes: int):
        self._say(h, f"Parser state '{state}': key is {hex_bytes(key, nbytes * 8)}")

    def parser_no_switch(self, h, state):
        self._say(h, f"Parser state '{state}' has no switch, going to default next state")

    def bytes_parsed(self, h, count: int):
        self._say(h, f"Bytes parsed: {count}", TRACE)

    def parser_error(self, h, code):
        self._say(h, f"Exception while parsing: {self.error_names.get(code, code)}",
                  logging.ERROR)

    def parser_done(self, h, name):
        self._say(h, f"Parser '{name}': end")

    def pipeline(self, h, name):
        self._say(h, f"Pipeline '{name}': start")

    def pipeline_exit(self, h):
        self._say(h, "Packet is marked for exit, interrupting pipeline")

    def pipeline_end(self, h, name):
        self._say(h, f"Pipeline '{name}': end")

    def condition(self, h, text, value):
        """`text` is `file(line) Condition "fragment" (name) is `, made once at load."""
        self._say(h, text + ("true" if value else "false"), TRACE)

    def lookup(self, h, name, key):
        self._say(h, f"Applying table '{name}'", TRACE)
        if key:
            self._say(h, "Looking up key:\n" + self.key_lines(name, key))

    def key_lines(self, table: str, key) -> str:
        fields = self.tables[table].key
        width = max([KEY_NAME_WIDTH] + [len(f.name) for f in fields])
        return "".join(f"* {f.name:<{width}}: {hex_bytes(v, f.bitwidth)}\n"
                       for f, v in zip(fields, key))

    def hit(self, h, name, entry):
        self._say(h, f"Table '{name}': hit with handle {entry.handle}")
        self._say(h, self.entry_dump(name, entry))
        self._say(h, f"Action entry is {self.action_entry(entry.action_id, entry.args)}")

    def miss(self, h, name, action_id, args):
        self._say(h, f"Table '{name}': miss")
        self._say(h, f"Action entry is {self.action_entry(action_id, args)}")

    def deparser(self, h, name):
        self._say(h, f"Deparser '{name}': start")

    def emit(self, h, header):
        self._say(h, f"Deparsing header '{header}'")

    def deparser_done(self, h, name):
        self._say(h, f"Deparser '{name}': end")

    def log_msg(self, h, fmt: str, args):
        """The log_msg primitive: '{}' placeholders replaced in order (core/primitives.cpp)."""
        parts = fmt.split("{}")
        text = parts[0]
        for i, part in enumerate(parts[1:]):
            text += (str(args[i]) if i < len(args) else "{}") + part
        self._log(logging.INFO, text)

    # ---- entries, as match_tables.cpp dumps them -----------------------------------------------

    def action_entry(self, action_id, args) -> str:
        """`name - 2,202,` (ActionFnEntry::dump: data in hex, each followed by a comma)."""
        if action_id is None:
            return "NULL"
        data = "".join(f"{a:x}," for a in args)
        return f"{self.action_names.get(action_id, action_id)} - {data}"

    def entry_dump(self, table: str, entry) -> str:
        """Dumping entry N / Match key: / Priority / Action entry (MatchTable::dump_entry_)."""
        mt = self.tables[table]
        width = max([KEY_NAME_WIDTH] + [len(f.name) for f in mt.key])
        lines = [f"Dumping entry {entry.handle}", "Match key:"]
        for field, value in zip(mt.key, entry.match):
            lines.append(f"* {field.name:<{width}}: {self.match_param(field, value)}")
        if mt.needs_priority:
            lines.append(f"Priority: {entry.priority}")
        if entry.member_id is not None:
            lines.append(f"Index: member({entry.member_id})")
        elif entry.group_id is not None:
            lines.append(f"Index: group({entry.group_id})")
        else:
            lines.append(f"Action entry: {self.action_entry(entry.action_id, entry.args)}")
        return "\n".join(lines) + "\n"

    @staticmethod
    def match_param(field, value) -> str:
        """One key element as MatchKeyParam prints it: type padded to 10, then the bytes."""
        kind, bits = field.match_type, field.bitwidth
        full = (1 << bits) - 1
        if value is None:   # a wildcard reads back as None: show what matches everything
            value = {"lpm": (0, 0), "range": (0, full)}.get(kind, (0, 0))
            if kind in ("exact", "valid"):
                value = (0,)
        if kind == "optional":
            value = (value[0], full) if len(value) == 1 else value
        name = MATCH_TYPE_NAMES.get(kind, kind.upper())
        text = f"{name:<10}{hex_bytes(value[0], bits)}"
        if kind == "lpm" and len(value) == 2:
            text += f"/{value[1]}"
        elif name == "TERNARY":
            text += f" &&& {hex_bytes(value[1], bits)}"
        elif kind == "range":
            text += f" -> {hex_bytes(value[1], bits)}"
        return text

    # ---- control plane (the P4Runtime server's writes) -------------------------------------------

    def control(self, text: str):
        self._log(logging.DEBUG, text)

    def entry_added(self, table: str, entry):
        self.control(f"Entry {entry.handle} added to table '{table}'")
        self.control(self.entry_dump(table, entry))

    def entry_modified(self, table: str, entry):
        self.control(f"Modified entry {entry.handle} in table '{table}'")
        self.control(self.entry_dump(table, entry))

    def entry_removed(self, table: str, handle):
        self.control(f"Removed entry {handle} from table '{table}'")

    def default_set(self, table: str, action_id, args):
        self.control(f"Set default entry for table '{table}': "
                     f"{self.action_entry(action_id, args)}")

    def default_reset(self, table: str, action_id, args):
        self.control(f"Reset default entry for table '{table}' to: "
                     f"{self.action_entry(action_id, args)}")
