"""Serialized protobuf messages respelled for the Write-path tests: the same message in the
non-canonical ways a client may send it (fields out of order, varints longer than needed,
default values written out, a field given twice, unknown fields), and plain damage (a byte
changed, the end cut off). The server's native path must take only the canonical spelling and
leave the rest to protobuf, whose reading of it is the reference."""
from hypothesis import strategies as st

from p4nic import protowire


def parse_fields(data: bytes) -> list | None:
    """[[field number, wire type, value]] of a serialized message (value: an int for varints,
    bytes otherwise), or None when `data` does not read as one."""
    fields, pos = [], 0
    try:
        while pos < len(data):
            key, pos = protowire.read_varint(data, pos)
            number, wire = key >> 3, key & 7
            if number == 0:
                return None
            if wire == 0:
                value, pos = protowire.read_varint(data, pos)
            elif wire == 2:
                length, pos = protowire.read_varint(data, pos)
                value, pos = data[pos:pos + length], pos + length
            elif wire in (1, 5):
                size = 8 if wire == 1 else 4
                value, pos = data[pos:pos + size], pos + size
            else:
                return None
            if pos > len(data):
                return None
            fields.append([number, wire, value])
    except IndexError:
        return None
    return fields


def long_varint(number: int, extra: int = 1) -> bytes:
    """`number` as a varint `extra` bytes longer than needed (protobuf reads it the same)."""
    data = bytearray(protowire.varint(number))
    for _ in range(extra):
        data[-1] |= 0x80
        data.append(0)
    return bytes(data)


def encode(fields: list, long_at: tuple = ()) -> bytes:
    """The fields serialized; (field index, "key" | "length" | "value") pairs in `long_at` get
    a longer varint there."""
    out = bytearray()
    for i, (number, wire, value) in enumerate(fields):
        spell = lambda part, n: long_varint(n) if (i, part) in long_at else protowire.varint(n)
        out += spell("key", number << 3 | wire)
        if wire == 0:
            out += spell("value", value)
        elif wire == 2:
            out += spell("length", len(value)) + value
        else:
            out += value
    return bytes(out)


MUTATIONS = ["long varint", "swap", "repeat", "unknown field", "zero", "default written out",
             "empty", "flip byte", "cut"]


@st.composite
def respelled(draw, data: bytes) -> bytes:
    """`data` with one mutation, at the top level or inside a nested message."""
    fields = parse_fields(data)
    kind = draw(st.sampled_from(MUTATIONS))
    if not fields or kind in ("flip byte", "cut"):
        if not data:
            return b"\x00"
        at = draw(st.integers(0, len(data) - 1))
        if kind == "cut":
            return data[:at]
        return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    nested = [i for i, (_, wire, value) in enumerate(fields)
              if wire == 2 and value and parse_fields(value)]
    if nested and draw(st.booleans()):
        i = draw(st.sampled_from(nested))
        fields[i][2] = draw(respelled(fields[i][2]))
        return encode(fields)
    i = draw(st.integers(0, len(fields) - 1))
    if kind == "long varint":
        part = "key" if fields[i][1] not in (0, 2) else draw(st.sampled_from(
            ["key", "value" if fields[i][1] == 0 else "length"]))
        return encode(fields, long_at=((i, part),))
    if kind == "swap" and len(fields) > 1:
        j = min(i + 1, len(fields) - 1) if i + 1 < len(fields) else i - 1
        fields[i], fields[j] = fields[j], fields[i]
    elif kind == "repeat":
        fields.insert(i, list(fields[i]))
    elif kind == "unknown field":
        fields.insert(i, [draw(st.sampled_from([14, 15, 99, 1000])), 0, draw(st.integers(0, 5))])
    elif kind == "default written out":    # a field left out, written with value 0 in place
        numbers = {number for number, _, _ in fields}
        number = draw(st.sampled_from([n for n in range(1, max(numbers) + 2) if n not in numbers]))
        fields.insert(sum(n < number for n in numbers), [number, 0, 0])
    elif kind == "zero" and fields[i][1] == 0:
        fields[i][2] = 0
    elif kind == "empty" and fields[i][1] == 2:
        fields[i][2] = b""
    else:
        fields.append([fields[i][0], 0, 0])     # a field written again, as a zero varint
    return encode(fields)
