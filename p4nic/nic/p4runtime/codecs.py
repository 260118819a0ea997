"""The Write hot path: per-table decoders of the table-entry updates most Writes carry.

Walking a parsed message costs a Python wrapper object per sub-message (the Update, its Entity,
TableEntry, each FieldMatch, its lpm/ternary/... part, the TableAction, Action, each Param):
about 7 us an entry on this project's machines, more than BMv2 spends on the whole insert.
Serializing the Update again is one C call (upb); so a `TableCodec` recognises the serialized
Update instead, with one regular expression built for its table when the pipeline is set:

- literal bytes for everything the table fixes (tags, the table id, field ids, action ids,
  parameter ids, and every length, enumerated for each possible value length), so a match
  proves the structure, lengths included, and nothing but these fields is present;
- character classes that admit canonical bytestrings only (P4Runtime spec "Bytestrings": no
  leading zero byte) whose value fits the field or parameter width.

What a pattern cannot check (an lpm value's bits past its prefix, a ternary value outside its
mask, a range's order, don't-care matches) is checked on the decoded numbers. A codec returns
exactly what `MatchTable` stores — canonical match, priority, JSON action id and arguments —
for an Update in the common shape: match fields in P4Info order, a direct action (not a
DEFAULT_ONLY one) with its parameters in P4Info order, at most priority, controller_metadata,
idle_timeout_ns and metadata beside them. Anything else, every malformed request included,
gets None and takes the general path (`Entities.write_table_entry`), which names the error:
both paths accept the same entries, and a codec never phrases an error. The serialized Entity
inside the Update is the entry's canonical form, which a Read returns (`Entry.echo`).
"""
import re
from dataclasses import dataclass, field

from p4nic import protowire
from p4nic.proto import p4info_pb2

from p4nic.nic.p4runtime.translate import TableInfo

DEFAULT_ONLY = p4info_pb2.ActionRef.DEFAULT_ONLY
VARINT = r"(?:[\x80-\xff]{0,9}[\x00-\x7f])"


def byte_class(low: int, high: int) -> str:
    return f"[\\x{low:02x}-\\x{high:02x}]"


def literal(data: bytes) -> str:
    return "".join(f"\\x{b:02x}" for b in data)


@dataclass
class Shape:
    """A fixed-size piece of serialized message: its pattern, its size in bytes, and where the
    values inside it sit: [(offset, size)]."""
    pattern: str
    size: int
    values: list = field(default_factory=list)

    def __add__(self, other: "Shape") -> "Shape":
        return Shape(self.pattern + other.pattern, self.size + other.size, self.values + [
            (offset + self.size, size) for offset, size in other.values])


def fixed(data: bytes) -> Shape:
    return Shape(literal(data), len(data))


def framed(number: int, content: Shape) -> Shape:
    """A length-delimited field holding `content`, its length written out."""
    return fixed(protowire.tag(number) + protowire.varint(content.size)) + content


def value_shapes(width: int) -> list:
    """The canonical bytestrings of a `width`-bit value, one Shape (holding one value) per
    length: no leading zero byte but in b"\\x00", the first byte small enough at full length."""
    size = (width + 7) // 8
    top = (1 << (width - 8 * (size - 1))) - 1          # the largest first byte at full length
    shapes = []
    for length in range(1, size + 1):
        first = byte_class(0 if length == 1 else 1, 0xFF if length < size else top)
        shapes.append(Shape(first + "." * (length - 1), length, [(0, length)]))
    return shapes


# p4.v1 field numbers the patterns spell out
UPDATE_TYPE, UPDATE_ENTITY = 1, 2
ENTITY_TABLE_ENTRY = 2
TE_TABLE_ID, TE_MATCH, TE_ACTION = 1, 2, 3
TE_PRIORITY, TE_CONTROLLER_METADATA, TE_IDLE_TIMEOUT, TE_METADATA = 4, 5, 9, 11
FM_FIELD_ID = 1
FM_KINDS = {"exact": 2, "ternary": 3, "lpm": 4, "range": 6, "optional": 7}
FM_VALUE, FM_SECOND = 1, 2          # value, then mask / high (lpm: prefix_len, a varint)
TA_ACTION = 1
ACTION_ID, ACTION_PARAMS = 1, 4
PARAM_ID, PARAM_VALUE = 2, 3


def field_match_shapes(field_id: int, kind: str, width: int) -> list:
    """The FieldMatch (framed as TableEntry.match) of one key field, one Shape per value
    length(s); its values: the value, then the prefix length / mask / high bound."""
    head = fixed(protowire.varint(FM_FIELD_ID << 3) + protowire.varint(field_id))
    shapes = []
    for value in value_shapes(width):
        if kind == "lpm":
            if width > 128:
                return []
            # prefix_len, a varint: one byte up to 127, two for 128 (an IPv6 host route)
            plens = [Shape(byte_class(1, min(width, 127)), 1)] + (
                [fixed(protowire.varint(128))] if width == 128 else [])
            contents = [framed(FM_VALUE, value) + fixed(protowire.varint(FM_SECOND << 3)) + plen
                         for plen in plens]
        elif kind in ("ternary", "range"):
            contents = [framed(FM_VALUE, value) + framed(FM_SECOND, second)
                        for second in value_shapes(width)]
        else:
            contents = [framed(FM_VALUE, value)]
        shapes += [framed(TE_MATCH, head + framed(FM_KINDS[kind], c)) for c in contents]
    return shapes


def param_shapes(param_id: int, width: int) -> list:
    """One action parameter (framed as Action.params), one Shape per value length, longest
    (the common case for addresses) first; the value starts at the same offset in each."""
    head = fixed(protowire.varint(PARAM_ID << 3) + protowire.varint(param_id))
    return [framed(ACTION_PARAMS, head + framed(PARAM_VALUE, value))
            for value in reversed(value_shapes(width))]


def group(alternatives: list) -> str:
    return "(" + "|".join(alternatives) + ")"


class EntryPattern:
    """The pattern of one table's Updates with one given action (or none: a DELETE), and
    `decode(data)`, Python generated for it (the offsets, the JSON action id and the checks the
    pattern leaves written out), returning what `TableCodec.decode` does."""

    def __init__(self, table: TableInfo, keys: list, action=None):
        head = (literal(protowire.varint(UPDATE_TYPE << 3)) + "([\\x01-\\x03])"
                + literal(protowire.tag(UPDATE_ENTITY)) + VARINT
                + literal(protowire.tag(ENTITY_TABLE_ENTRY)) + f"({VARINT})"
                + literal(protowire.varint(TE_TABLE_ID << 3) + protowire.varint(table.id)))
        body = ["def decode(data):",
                "    found = fullmatch(data)",
                "    if found is None:",
                "        return None",
                "    g = found.groups()",
                "    length = g[1]",
                "    te_start = found.end(2)",
                "    if len(data) - te_start != (length[0] if len(length) == 1 else "
                "read_varint(length, 0)[0]):",
                "        return None            # fields after the TableEntry: not ours"]
        fields, values = [], []
        for i, (info, key) in enumerate(zip(table.fields, keys), start=2):
            shapes = field_match_shapes(info.id, info.kind, info.bitwidth)[::-1]  # longest first
            fields.append(group([s.pattern for s in shapes]) + ("" if info.kind == "exact" else "?"))
            body += field_source(i, info.kind, key.match_type, info.bitwidth,
                                 shapes[0].values[0][0])
            values.append(f"v{i}")
        group_count = 2 + len(fields)
        action_part, action_value = "", "None"
        if action is not None:
            action_id, json_id, params = action
            shapes = [param_shapes(pid, width) for pid, width in params]
            action_part = (literal(protowire.tag(TE_ACTION)) + "([\\x00-\\x7f])"
                           + literal(protowire.tag(TA_ACTION)) + "([\\x00-\\x7f])("
                           + literal(protowire.varint(ACTION_ID << 3) + protowire.varint(action_id))
                           + "".join(group([s.pattern for s in shape]) for shape in shapes) + ")")
            a = group_count
            body += [f"    if g[{a}][0] != g[{a + 1}][0] + 2 or g[{a + 1}][0] != len(g[{a + 2}]):",
                     "        return None"]
            # each parameter's value starts after its tag, length, id, and value tag and length
            args = "".join(f"from_bytes(g[{a + 3 + k}][{shape[0].values[0][0]}:], 'big'), "
                           for k, shape in enumerate(shapes))
            action_value = f"({json_id}, ({args}))"
            group_count += 3 + len(shapes)
        tail = "".join(f"(?:{literal(bytes([number << 3]))}({VARINT}))?" for number in (
            TE_PRIORITY, TE_CONTROLLER_METADATA, TE_IDLE_TIMEOUT))
        tail += f"(?:{literal(protowire.tag(TE_METADATA))}({VARINT})(.*))?"
        t = group_count
        if table.needs_priority:
            body += [f"    if g[{t}] is None:", "        return None",
                     f"    priority = read_varint(g[{t}], 0)[0]",
                     "    if priority >= 1 << 31:", "        return None"]
        else:
            body += [f"    if g[{t}] is not None:", "        return None", "    priority = None"]
        body += ["    timeout_ms = None", f"    if g[{t + 2}] is not None:"]
        body += ([f"        timeout_ns = read_varint(g[{t + 2}], 0)[0]",
                  "        if timeout_ns >= 1 << 63:", "            return None",
                  "        timeout_ms = timeout_ns / 1e6"] if table.supports_idle_timeout
                 else ["        return None"])
        body += [f"    if g[{t + 4}] is not None and read_varint(g[{t + 3}], 0)[0] != "
                 f"len(g[{t + 4}]):", "        return None",
                 f"    return (g[0][0], ({''.join(v + ', ' for v in values)}), priority, "
                 f"timeout_ms, {action_value}, data[te_start - len(length) - 1:])"]
        self.regex = re.compile((head + "".join(fields) + action_part + tail).encode(), re.S)
        self.source = "\n".join(body)
        scope = {"fullmatch": self.regex.fullmatch, "read_varint": protowire.read_varint,
                 "from_bytes": int.from_bytes}
        exec(compile(self.source, f"<codec {table.name}>", "exec"), scope)  # noqa: S102
        self.decode = scope["decode"]


def field_source(i: int, kind: str, json_kind: str, width: int, start: int) -> list:
    """Lines setting v{i}, the MatchTable value of key field i, from group g[i] (the field's
    FieldMatch, as the pattern matched it; the value starts at `start`), returning None for a
    value the pattern cannot rule out (bits past an lpm prefix, outside a ternary mask, a
    reversed or full range)."""
    full = (1 << width) - 1
    lines = [f"    p = g[{i}]"]
    if kind != "exact":
        lines += ["    if p is None:", f"        v{i} = None", "    else:"]
    pad = "    " if kind == "exact" else "        "
    if kind in ("exact", "optional"):
        # p4c writes optional keys as ternary in the JSON: an all-ones mask there
        mask = f", {full}" if kind == "optional" and json_kind == "ternary" else ""
        return lines + [f"{pad}v{i} = (from_bytes(p[{start}:], 'big'){mask},)"]
    if kind == "lpm":
        return lines + [
            f"{pad}if p[-2] == 16:              # prefix_len in one byte",
            f"{pad}    plen, n = p[-1], from_bytes(p[{start}:-2], 'big')",
            f"{pad}else:                        # 128, in two",
            f"{pad}    plen, n = 128, from_bytes(p[{start}:-3], 'big')",
            f"{pad}if n & ({full} >> plen):", f"{pad}    return None",
            f"{pad}v{i} = (n, plen)"]
    # ternary, range: two values, the second after the first's and its own tag and length
    lines += [f"{pad}n = from_bytes(p[{start}:{start} + p[{start - 1}]], 'big')",
              f"{pad}m = from_bytes(p[{start + 2} + p[{start - 1}]:], 'big')"]
    if kind == "ternary":
        return lines + [f"{pad}if not m or n & ~m:", f"{pad}    return None", f"{pad}v{i} = (n, m)"]
    return lines + [f"{pad}if n > m or (n == 0 and m == {full}):", f"{pad}    return None",
                    f"{pad}v{i} = (n, m)"]


class TableCodec:
    """Decodes the common table-entry Update of one direct table (see the module docstring)."""

    def __init__(self, table: TableInfo, index, match_table):
        self.table = table
        self.match_table = match_table
        # the actions an entry may name: [(P4Info id, JSON id, [(param id, bitwidth)])]
        self.actions = [(action_id, table.json_action_ids[action_id],
                         [(pid, width) for pid, _, width in index.actions[action_id].params])
                        for action_id, scope in table.action_scopes.items()
                        if scope != DEFAULT_ONLY]
        self._patterns = None

    @classmethod
    def for_table(cls, table: TableInfo, index, match_table):
        """A codec, or None for a table the general path always serves: indirect tables,
        direct meters (each write configures a meter cell), keyless and const tables, and keys
        whose JSON widths differ from the P4Info's."""
        if (table.implementation_id or table.direct_meter_id or not table.fields
                or match_table.is_const
                or any(f.bitwidth != k.bitwidth for f, k in zip(table.fields, match_table.key))
                or any(not field_match_shapes(f.id, f.kind, f.bitwidth) for f in table.fields)):
            return None
        return cls(table, index, match_table)

    @property
    def patterns(self) -> list:
        """One pattern per entry action, and one without an action (a DELETE); tried in turn,
        the last one that matched first (a batch mostly repeats one action). Compiled on first
        use (milliseconds a table), which the native Write path may never make."""
        if self._patterns is None:
            table, key = self.table, self.match_table.key
            self._patterns = [EntryPattern(table, key, action) for action in self.actions]
            self._patterns.append(EntryPattern(table, key))
        return self._patterns

    def decode(self, data: bytes):
        """(update type, match, priority, timeout_ms, action or None, echo) of a serialized
        Update in the common shape, else None. `action` is (JSON action id, args); `echo` the
        serialized Entity."""
        patterns = self.patterns
        decoded = patterns[0].decode(data)
        if decoded is not None:
            return decoded
        for i in range(1, len(patterns)):
            decoded = patterns[i].decode(data)
            if decoded is not None:
                patterns.insert(0, patterns.pop(i))
                return decoded
        return None
