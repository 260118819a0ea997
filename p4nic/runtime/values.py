"""Values as people write them -> P4Runtime bytestrings, and back.

Accepted forms for a `bit<W>` value: an int, bytes, or a string holding a MAC address
("00:11:22:33:44:55"), an IPv4 or IPv6 address, "0x..." hex or decimal digits. An IPv4 address
given for a field wider than 32 bits is zero-extended, which is how p4src/ keeps IPv4 and IPv6
addresses in one 128-bit field. Bytestrings are sent in the canonical (shortest) form of the
P4Runtime spec, section "Bytestrings".
"""
from __future__ import annotations

import ipaddress
import re

from p4nic.nic.p4runtime.translate import encode_int
from p4nic.runtime.p4info import P4InfoError

MAC = re.compile(r"^[0-9a-fA-F]{1,2}([:-][0-9a-fA-F]{1,2}){5}$")


def to_int(value, what: str) -> int:
    """A value in any accepted form as a non-negative int."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        if value < 0:
            raise P4InfoError(f"{what}: negative value {value}")
        return value
    if isinstance(value, (bytes, bytearray)):
        return int.from_bytes(value, "big")
    if isinstance(value, str):
        text = value.strip()
        if MAC.match(text):
            return int("".join(part.zfill(2) for part in re.split("[:-]", text)), 16)
        if text.lower().startswith("0x"):
            try:
                return int(text, 16)
            except ValueError:
                pass
        elif text.isdigit():
            return int(text)
        else:
            try:
                return int(ipaddress.ip_address(text))
            except ValueError:
                pass
    raise P4InfoError(f"{what}: cannot read {value!r} as a number, MAC or IP address")


def encode(value, bitwidth: int, what: str) -> bytes:
    """A value that must fit in `bitwidth` bits, as a canonical bytestring."""
    number = value if value.__class__ is int and value >= 0 else to_int(value, what)
    if bitwidth and number >> bitwidth:
        raise P4InfoError(f"{what}: {value!r} does not fit in {bitwidth} bits")
    return encode_int(number)


def full_mask(bitwidth: int) -> int:
    return (1 << bitwidth) - 1


def decode(data: bytes) -> int:
    return int.from_bytes(data, "big")
