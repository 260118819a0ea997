"""Value words read for the field they are written for: numbers, ranges, names, addresses,
prefixes, masks and `$name`s, as ternary cubes (value, care) over the field's width.

Readers raise `BadValue` naming what was expected; the checker adds the place. Named sets
are expanded where they are used, so `define web = {80, 443}` serves ports and `define lan
= 10.0.0.0/8` serves addresses alike.
"""
from __future__ import annotations

import ipaddress
import re

from p4nic.dsl import fields
from p4nic.dsl.errors import suggest
from p4nic.dsl.ternary import prefix_cube, range_cover

_INT = re.compile(r"(?:0[xX][0-9a-fA-F]+|[0-9]+)\Z")
_RANGE = re.compile(r"(.+?)(?:-|\.\.)(.+)\Z")
_MAC = re.compile(r"[0-9a-fA-F]{1,2}(?:[:-][0-9a-fA-F]{1,2}){5}\Z")
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)\Z")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


class BadValue(ValueError):
    """A value that does not fit where it is written; `value` is the word (for its place)."""

    def __init__(self, message: str, value=None):
        super().__init__(message)
        self.message = message
        self.value = value


class Defines:
    """The file's `define`s by name, and the expansion of `$name` (with cycle detection)."""

    def __init__(self):
        self.values = {}          # name -> ast.Values
        self._expanding = []

    def expand(self, value) -> list:
        """The ast.Values items a `$name` stands for (nested names expanded)."""
        if value.text not in self.values:
            raise BadValue(f"no define named '${value.text}'" + suggest(value.text, self.values),
                           value)
        if value.text in self._expanding:
            raise BadValue(f"'${value.text}' is defined in terms of itself", value)
        self._expanding.append(value.text)
        try:
            items = []
            for item in self.values[value.text].items:
                items += self.expand(item) if item.kind == "var" else [item]
            return items
        finally:
            self._expanding.pop()

    def scalar(self, value):
        """The one value a word stands for (a `$name` must name a single value)."""
        if value.kind != "var":
            return value
        items = self.expand(value)
        if len(items) != 1:
            raise BadValue(f"'${value.text}' is a set of {len(items)} values; one is needed "
                           "here", value)
        return items[0]


# ---------------------------------------------------------------------------- plain numbers

def number(text: str):
    """An int from decimal or 0x hex, else None."""
    if _INT.match(text):
        return int(text, 0) if text[:2].lower() == "0x" else int(text)
    return None


def integer(value, defines: Defines, what: str, low: int, high: int) -> int:
    """A single whole number within [low, high] (queue, VF, VNI, vCPU, priority...)."""
    word = defines.scalar(value)
    found = number(word.text) if word.kind == "value" else None
    if found is None:
        raise BadValue(f"{what} must be a number, not '{word}'", word)
    if not low <= found <= high:
        raise BadValue(f"{what} {found} is out of range: it must be {low}..{high}", word)
    return found


def integers(items, defines: Defines, what: str, low: int, high: int) -> list:
    """Numbers and ranges (`0-3`, `1, 2`) as a list of ints, in the order written."""
    found = []
    for item in items:
        for word in (defines.expand(item) if item.kind == "var" else [item]):
            bounds = _RANGE.match(word.text) if word.kind == "value" else None
            if bounds and number(bounds.group(1)) is not None and number(bounds.group(2)) is not None:
                a, b = number(bounds.group(1)), number(bounds.group(2))
                if a > b:
                    raise BadValue(f"{what} range {word} runs backwards", word)
                if a < low or b > high:
                    raise BadValue(f"{what} range {word} is out of range: it must be "
                                   f"within {low}..{high}", word)
                found += range(a, b + 1)
            else:
                found.append(integer(word, defines, what, low, high))
    return found


def duration(value, defines: Defines, what: str) -> float:
    """Seconds from `30s`, `500ms`, `5m`, `1h` or a plain number of seconds."""
    word = defines.scalar(value)
    seconds = number(word.text)
    if seconds is not None:
        return float(seconds)
    found = _DURATION.match(word.text)
    if not found:
        raise BadValue(f"{what} must be a duration such as 30s, 500ms or 5m, not '{word}'", word)
    return float(found.group(1)) * _SECONDS[found.group(2)]


def mac(value, defines: Defines, what: str) -> int:
    word = defines.scalar(value)
    if not _MAC.match(word.text):
        raise BadValue(f"{what} must be a MAC address such as 02:00:00:00:00:01, not '{word}'",
                       word)
    return int(re.sub("[:-]", "", "".join(p.zfill(2) for p in re.split("[:-]", word.text))), 16)


def ipv4(value, defines: Defines, what: str) -> ipaddress.IPv4Address:
    word = defines.scalar(value)
    try:
        return ipaddress.IPv4Address(word.text)
    except ValueError:
        raise BadValue(f"{what} must be an IPv4 address such as 192.0.2.1, not '{word}'",
                       word) from None


def address(value, defines: Defines, what: str):
    word = defines.scalar(value)
    try:
        return ipaddress.ip_address(word.text)
    except ValueError:
        raise BadValue(f"{what} must be an IP address, not '{word}'", word) from None


def endpoint(value, defines: Defines, what: str, port_required: bool = True) -> tuple:
    """(address, port or None) from `10.0.0.1:80`, `[2001:db8::1]:80` or a bare address."""
    word = defines.scalar(value)
    text = word.text
    host, port = text, None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise BadValue(f"{what} must be ADDRESS:PORT such as 10.0.0.100:80, not '{word}'",
                       word) from None
    if port is None:
        if port_required:
            raise BadValue(f"{what} needs a port: ADDRESS:PORT such as {addr}:80", word)
        return addr, None
    found = number(port)
    if found is None or not 0 <= found <= 65535:
        raise BadValue(f"{what}: port '{port}' must be a number 0..65535", word)
    return addr, found


# ---------------------------------------------------------------------------- match values

def cubes(reader: str, item, width: int, defines: Defines) -> list:
    """The (value, care) cubes over `width` bits one written value matches."""
    if item.kind == "var":
        found = []
        for word in defines.expand(item):
            found += cubes(reader, word, width, defines)
        return found
    if item.kind == "masked":
        value = defines.scalar(item)
        mask = defines.scalar(item.mask)
        v = _scalar(reader, value, width)
        m = _scalar(reader, mask, width)
        return [(v & m, m)]
    text = item.text
    full = (1 << width) - 1
    if item.kind == "name":
        return [(_named(reader, item), full)]
    if reader in ("ipv4", "ipv6"):
        return _address_cubes(reader, item, width)
    if reader == "mac":
        if "/" in text:
            addr, _, length = text.partition("/")
            plen = number(length)
            if plen is None or not 0 <= plen <= 48:
                raise BadValue(f"'{item}': a MAC prefix length must be 0..48", item)
            return [prefix_cube(_mac_int(addr, item), plen, 48)]
        return [(_mac_int(text, item), full)]
    found = number(text)
    if found is not None:
        _fits(found, width, item)
        return [(found, full)]
    bounds = _RANGE.match(text)
    if bounds:
        low, high = number(bounds.group(1)), number(bounds.group(2))
        if low is not None and high is not None:
            _fits(low, width, item)
            _fits(high, width, item)
            if low > high:
                raise BadValue(f"range '{item}' runs backwards (write {high}-{low})", item)
            return range_cover(low, high, width)
    raise BadValue(f"'{item}' is not {_EXPECTED[reader]}", item)


_EXPECTED = {
    "int": "a number, a range (1024-65535) or a set",
    "port": "a number, a range or a set",
    "proto": "a protocol (tcp, udp, icmp, ... or a number)",
    "ethertype": "an EtherType (arp, ip, ip6, vlan, lldp, ... or a number such as 0x88cc)",
    "ct": "a connection state (" + ", ".join(fields.CT_STATES) + ")",
    "icmp": "an ICMP type (echo-request, ... or a number)",
    "icmpv6": "an ICMPv6 type (echo-request, nd-neighbor-solicit, ... or a number)",
    "mac": "a MAC address, MAC/length or MAC&&&MASK",
    "ipv4": "an IPv4 address, prefix (10.0.0.0/8) or range",
    "ipv6": "an IPv6 address or prefix (2001:db8::/32)",
    "vf": "a VF number",
}
_NAMES = {"proto": fields.PROTOCOLS, "ethertype": fields.ETHERTYPES, "ct": fields.CT_STATES,
          "icmp": fields.ICMP_TYPES, "icmpv6": fields.ICMPV6_TYPES}


def _named(reader: str, item) -> int:
    names = _NAMES.get(reader)
    if names is None or item.text not in names:
        hint = suggest(item.text, names) if names else ""
        raise BadValue(f"'{item}' is not {_EXPECTED[reader]}{hint}", item)
    return names[item.text]


def _scalar(reader: str, word, width: int) -> int:
    """One value of a VALUE&&&MASK pair."""
    if word.kind == "name":
        return _named(reader, word)
    if reader == "mac":
        return _mac_int(word.text, word)
    if reader in ("ipv4", "ipv6"):
        found = number(word.text)
        if found is not None:
            _fits(found, 32 if reader == "ipv4" else 128, word)
            return found
        try:
            return int(ipaddress.ip_address(word.text))
        except ValueError:
            raise BadValue(f"'{word}' is not an IP address or a number", word) from None
    found = number(word.text)
    if found is None:
        raise BadValue(f"'{word}' is not a number", word)
    _fits(found, width, word)
    return found


def _mac_int(text: str, item) -> int:
    if not _MAC.match(text):
        raise BadValue(f"'{item}' is not a MAC address (six hex bytes: 02:00:00:00:00:01)", item)
    return int("".join(p.zfill(2) for p in re.split("[:-]", text)), 16)


def _fits(found: int, width: int, item) -> None:
    if found >> width:
        raise BadValue(f"{found} does not fit the field ({width} bits: at most "
                       f"{(1 << width) - 1})", item)


_DOTTED = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\Z")


def _address_cubes(reader: str, item, width: int) -> list:
    """An IPv4/IPv6 address, prefix or range; IPv4 is zero-extended in 128-bit fields."""
    version = 4 if reader == "ipv4" else 6
    text = item.text
    plain = _DOTTED.match(text) if version == 4 else None
    if plain:                                    # the common case, without ipaddress
        octets = [int(part) for part in plain.groups()]
        if max(octets) <= 255:
            return [((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3],
                     0xFFFFFFFF)]
    bounds = _RANGE.match(text) if "/" not in text and version == 4 else None
    try:
        if bounds and "." in bounds.group(1):
            low = ipaddress.IPv4Address(bounds.group(1))
            high = ipaddress.IPv4Address(bounds.group(2))
            if low > high:
                raise BadValue(f"address range '{item}' runs backwards", item)
            return range_cover(int(low), int(high), 32)
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        other = "ip6" if version == 4 else "ip"
        hint = ""
        try:
            if ipaddress.ip_network(text, strict=False).version != version:
                hint = f" (an IPv{10 - version} address: write `{other} ...`)"
        except ValueError:
            pass
        raise BadValue(f"'{item}' is not {_EXPECTED[reader]}{hint}", item) from None
    if network.version != version:
        other = "ip6" if version == 4 else "ip"
        raise BadValue(f"'{item}' is an IPv{network.version} address: write `{other} ...`",
                       item)
    if "/" in text and network.network_address != ipaddress.ip_address(text.split("/")[0]):
        raise BadValue(f"'{item}' has host bits set: the network is {network}", item)
    bits = network.max_prefixlen
    value, care = prefix_cube(int(network.network_address), network.prefixlen, bits)
    del width
    return [(value, care)]


# ---------------------------------------------------------------------------- any P4 field

def generic(item, width: int, defines: Defines) -> list:
    """Cubes of a value written for a field of unknown meaning (a `table` block's key or
    action parameter): a number, range, MAC, IPv4/IPv6 address or prefix, or VALUE&&&MASK."""
    if item.kind == "var":
        found = []
        for word in defines.expand(item):
            found += generic(word, width, defines)
        return found
    if item.kind == "masked":
        value = _generic_scalar(defines.scalar(item), width)
        mask = _generic_scalar(defines.scalar(item.mask), width)
        return [(value & mask, mask)]
    if item.kind == "name":
        raise BadValue(f"'{item}' is not a value (a number, address or range)", item)
    text = item.text
    if number(text) is not None or (_RANGE.match(text) and "." not in text.split("..")[0]
                                    and ":" not in text):
        return cubes("int", item, width, defines)
    if _MAC.match(text.split("/")[0]):
        if width < 48:
            raise BadValue(f"a MAC address does not fit the field ({width} bits)", item)
        return cubes("mac", item, 48, defines)
    reader = "ipv4" if ":" not in text else "ipv6"
    found = cubes(reader, item, width, defines)
    needed = 32 if reader == "ipv4" else 128
    if width < needed:
        raise BadValue(f"an IPv{4 if needed == 32 else 6} address does not fit the field "
                       f"({width} bits)", item)
    return found


def _generic_scalar(word, width: int) -> int:
    found = number(word.text)
    if found is None:
        if _MAC.match(word.text):
            found = _mac_int(word.text, word)
        else:
            try:
                found = int(ipaddress.ip_address(word.text))
            except ValueError:
                raise BadValue(f"'{word}' is not a number, MAC or IP address", word) from None
    _fits(found, width, word)
    return found


def bounds(item, width: int) -> tuple:
    """(low, high) of a range field's value: `5..10`, `5-10` or a single number."""
    single = number(item.text) if item.kind == "value" else None
    if single is not None:
        _fits(single, width, item)
        return single, single
    found = _RANGE.match(item.text) if item.kind == "value" else None
    low = number(found.group(1)) if found else None
    high = number(found.group(2)) if found else None
    if low is None or high is None:
        raise BadValue(f"a range field takes LOW..HIGH (5..10) or one number, not '{item}'",
                       item)
    _fits(low, width, item)
    _fits(high, width, item)
    if low > high:
        raise BadValue(f"range '{item}' runs backwards", item)
    return low, high


def as_prefix(care: int, width: int, item) -> int:
    """A care mask that is a prefix of the field (an IPv4 prefix in a wider field is taken
    with the upper bits zero, as p4src/ zero-extends IPv4 addresses)."""
    full = (1 << width) - 1
    for candidate in (care, care | (full ^ 0xFFFFFFFF)):
        inverted = full ^ candidate
        if inverted & (inverted + 1) == 0:
            return candidate
    raise BadValue(f"'{item}' is not a prefix: lpm fields take ADDRESS/LENGTH or one value",
                   item)
