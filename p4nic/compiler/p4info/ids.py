"""P4Runtime ids and aliases, assigned the way p4c assigns them.

Facts from p4c's control-plane/p4RuntimeSymbolTable.{h,cpp} and p4RuntimeSerializer.cpp:

* An object's id is its `@id` annotation, with the resource type's 8-bit prefix added when the
  annotation leaves the top byte 0 (a wrong non-zero prefix is an error). Otherwise the id is
  `prefix << 24 | jenkins_one_at_a_time(name) & 0xffffff`, assigned per resource type in sorted
  name order, and on a collision the hash value is incremented until free (linear probing).
* Names are the fully qualified control-plane names; an alias is the shortest dot-separated
  suffix of the name that no other symbol (of any type) shares.
* Match fields, action parameters and packet-metadata fields are numbered 1, 2, ... in order,
  `@id` annotations first; an annotated entry still advances the counter.
"""
from __future__ import annotations

from p4nic.compiler.errors import CompileError

# Resource-type prefixes: p4info.proto, P4Ids.Prefix.
ACTION = 0x01
TABLE = 0x02
VALUE_SET = 0x03
CONTROLLER_HEADER = 0x04
ACTION_PROFILE = 0x11
COUNTER = 0x12
DIRECT_COUNTER = 0x13
METER = 0x14
DIRECT_METER = 0x15
REGISTER = 0x16
DIGEST = 0x17


def jenkins_hash(name: str) -> int:
    """Bob Jenkins' one-at-a-time hash over the UTF-8 bytes, as 32-bit unsigned arithmetic."""
    h = 0
    for byte in name.encode():
        h = (h + byte) & 0xFFFFFFFF
        h = (h + (h << 10)) & 0xFFFFFFFF
        h ^= h >> 6
    h = (h + (h << 3)) & 0xFFFFFFFF
    h ^= h >> 11
    h = (h + (h << 15)) & 0xFFFFFFFF
    return h


def with_prefix(kind: int, user_id: int, what: str, loc=None) -> int:
    """An `@id` value with the resource prefix applied (p4RuntimeSymbolTable.cpp externalId)."""
    if user_id < 0 or user_id > 0xFFFFFFFF:
        raise CompileError(f"{what}: @id should be an unsigned integer", loc, kind="type")
    prefix = user_id >> 24
    if prefix not in (0, kind):
        raise CompileError(f"{what}: @id has the wrong 8-bit prefix", loc, kind="type")
    return user_id | (kind << 24)


class SymbolTable:
    """Every control-plane symbol by resource type; `assign()` gives all of them ids."""

    def __init__(self):
        self.symbols: dict[int, dict[str, int | None]] = {}
        self.assigned: set[int] = set()
        self.suffixes = _SuffixSet()

    def add(self, kind: int, name: str, user_id: int | None = None, loc=None) -> None:
        table = self.symbols.setdefault(kind, {})
        if name in table:
            return  # the same object reached twice (p4c: "a duplicate, but that's OK")
        if user_id is not None:
            user_id = with_prefix(kind, user_id, name, loc)
            if user_id in self.assigned:
                raise CompileError(f"@id {user_id} is assigned to multiple declarations", loc,
                                   kind="type")
            self.assigned.add(user_id)
        table[name] = user_id
        self.suffixes.add(name)

    def assign(self) -> None:
        for kind in sorted(self.symbols):
            table = self.symbols[kind]
            for name in sorted(n for n, i in table.items() if i is None):
                value = jenkins_hash(name)
                while (kind << 24 | value & 0xFFFFFF) in self.assigned:
                    value = (value + 1) & 0xFFFFFFFF
                table[name] = kind << 24 | value & 0xFFFFFF
                self.assigned.add(table[name])

    def id(self, kind: int, name: str) -> int:
        return self.symbols[kind][name]

    def has(self, kind: int, name: str) -> bool:
        return name in self.symbols.get(kind, {})

    def alias(self, name: str) -> str:
        return self.suffixes.shortest_unique_suffix(name)


class _SuffixSet:
    """Tree of name components read right to left, counting the names through each node."""

    def __init__(self):
        self.names: set[str] = set()
        self.root: dict = {}

    def add(self, name: str) -> None:
        if name in self.names:
            return
        self.names.add(name)
        node = self.root
        for part in reversed(name.split(".")):
            child = node.setdefault(part, [0, {}])
            child[0] += 1
            node = child[1]

    def shortest_unique_suffix(self, name: str) -> str:
        parts = name.split(".")
        node, needed = self.root, 0
        for part in reversed(parts):
            count, node = node[part]
            needed += 1
            if count < 2:
                break
        return ".".join(parts[len(parts) - needed:])


def field_ids(items, user_id) -> list:
    """Ids for match fields / action params / metadata (p4RuntimeSerializer FieldIdAllocator):
    `user_id(item)` gives an item's @id or None."""
    given = [user_id(it) for it in items]
    taken = {i for i in given if i is not None}
    out, index = [], 1
    for g in given:
        if g is not None:
            out.append(g)
            index += 1
            continue
        while index in taken:
            index += 1
        out.append(index)
        taken.add(index)
    return out
