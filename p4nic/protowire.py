"""The few pieces of the protobuf wire format that let large Writes and Reads skip message objects.

With the pure-Python protobuf runtime (protobuf 3.20 has no compiled wheel for recent Pythons),
building a message costs as much as serializing it, so a WriteRequest of 10,000 updates spends
most of its time copying Entities into Updates and Updates into the request. Framing already
serialized Entities by hand costs nothing: a repeated message field is just its serialized
elements, each behind a tag and a length (protobuf "Encoding": length-delimited records), and
fields may come in any order.
"""
from __future__ import annotations

LENGTH_DELIMITED = 2
# varint(n) for the lengths most messages have, ready made (a P4Runtime server frames an
# entity per entry of a Read)
SMALL_VARINTS = [bytes((n,)) for n in range(128)] + [bytes((n & 0x7F | 0x80, n >> 7))
                                                      for n in range(128, 1 << 14)]


def varint(number: int) -> bytes:
    if number < 16384:
        return SMALL_VARINTS[number]
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def read_varint(data: bytes, pos: int) -> tuple:
    """(value, position after it)."""
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def tag(field_number: int) -> bytes:
    """The key of a length-delimited field (what precedes its length)."""
    return varint(field_number << 3 | LENGTH_DELIMITED)


def length_delimited(field_number: int, payload: bytes) -> bytes:
    """One length-delimited field (a message, bytes or string) with its tag."""
    return varint(field_number << 3 | LENGTH_DELIMITED) + varint(len(payload)) + payload


def repeated_messages(data: bytes, field_number: int) -> list:
    """The serialized elements of a repeated message field of the message `data`; other fields
    are skipped."""
    found = []
    pos, end = 0, len(data)
    while pos < end:
        key, pos = read_varint(data, pos)
        wire_type = key & 7
        if wire_type == 0:
            _, pos = read_varint(data, pos)
        elif wire_type == LENGTH_DELIMITED:
            size, pos = read_varint(data, pos)
            if key >> 3 == field_number:
                found.append(data[pos:pos + size])
            pos += size
        elif wire_type == 1:
            pos += 8
        elif wire_type == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
    return found
