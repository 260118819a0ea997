"""BMv2's hash algorithms, by the names BMv2 JSON uses.

BMv2 registers its algorithms in src/bm_sim/calculations.cpp (REGISTER_HASH): crc16, crc32,
crcCCITT, cksum16, csum16, xor16, xor32, identity, xxh64, toeplitz, round_robin,
round_robin_consistent and the configurable crc8_custom, crc16_custom, crc32_custom,
crc64_custom. p4c also emits "random" for v1model's HashAlgorithm.random, which BMv2 lacks; here
it draws a random 64-bit value.

`make_hash(name)` returns a fresh callable `bytes -> int`; callables with state (custom CRC
parameters, toeplitz key, round-robin counters) are per calculation, as in BMv2.
`field_list_packer(widths)` lays field values out as BMv2 builds hash inputs.
"""

from __future__ import annotations

import binascii
import random
import sys
import zlib
from typing import Callable, Sequence

from .tables import TableError, make_int_packer


def field_list_packer(widths: Sequence[int]) -> Callable[[Sequence[int]], bytes]:
    """A function laying out field values (each within its width) as BMv2 builds hash inputs.

    BMv2's BufBuilder (calculations.cpp) deparses the fields back to back, bit-contiguous and
    MSB first, into ceil(total / 8) bytes, zero-padding the last byte on the right.
    """
    if not widths:
        return lambda values: b""
    to_int = make_int_packer(widths)
    total = sum(widths)
    nbytes = (total + 7) // 8
    pad = nbytes * 8 - total
    return lambda values: (to_int(values) << pad).to_bytes(nbytes, "big")



PAIR_TABLE_FROM = 16  # input bytes from which a reflected CRC of 16+ bits goes two bytes a step
MEMO_SIZE = 1 << 16  # long inputs (flow keys) whose CRC a CustomCrc remembers; then it starts over
_LITTLE_ENDIAN = sys.byteorder == "little"  # memoryview.cast("H") reads native words


def _reflect(value: int, width: int) -> int:
    return int(format(value, f"0{width}b")[::-1], 2)


class CustomCrc:
    """A table-driven CRC with BMv2's crc_config_t parameters (calculations.cpp, crc_custom)."""

    def __init__(self, width: int, polynomial: int, initial: int, final_xor: int,
                 reflect_data: bool, reflect_remainder: bool):
        self.width = width
        self.configure(polynomial, initial, final_xor, reflect_data, reflect_remainder)

    def configure(self, polynomial: int, initial: int, final_xor: int, reflect_data: bool,
                  reflect_remainder: bool):
        """Change the parameters (BMv2's set_crc16_custom_parameters and friends)."""
        width = self.width
        top = 1 << (width - 1)
        mask = (1 << width) - 1
        for name, value in (("polynomial", polynomial), ("initial", initial),
                            ("final_xor", final_xor)):
            if not isinstance(value, int) or value < 0 or value > mask:
                raise TableError(f"crc{width}_custom: {name} {value!r} does not fit {width} bits")
        table = []
        for dividend in range(256):
            remainder = dividend << (width - 8)
            for _ in range(8):
                remainder = ((remainder << 1) ^ polynomial) if remainder & top else remainder << 1
            table.append(remainder & mask)
        self._table = table
        self._mask = mask
        self.polynomial, self.initial, self.final_xor = polynomial, initial, final_xor
        self.reflect_data, self.reflect_remainder = reflect_data, reflect_remainder
        self._byte_map = [_reflect(b, 8) if reflect_data else b for b in range(256)]
        # Fully reflected CRCs (the common case) run the mirrored, shift-right algorithm.
        self._reflected_table = (
            [_reflect(table[_reflect(b, 8)], width) for b in range(256)]
            if reflect_data and reflect_remainder else None
        )
        self._reflected_initial = _reflect(initial, width)
        self._pair_table = None  # made on first use, for inputs of PAIR_TABLE_FROM bytes or more
        self._memo = {}  # input -> CRC for long inputs: a flow's key is hashed once, not per packet

    def _make_pair_table(self) -> list:
        """The reflected table for two bytes at once: entry x is two byte steps from a zero
        remainder on the 16-bit little-endian word x (the remainder's higher bits shift out)."""
        one = self._reflected_table
        self._pair_table = [one[(one[x & 0xFF] ^ (x >> 8)) & 0xFF] ^ (one[x & 0xFF] >> 8)
                            for x in range(0x10000)]
        return self._pair_table

    def __call__(self, data: bytes) -> int:
        if len(data) < PAIR_TABLE_FROM or type(data) is not bytes:
            return self._compute(data)
        memo = self._memo
        found = memo.get(data)
        if found is None:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            found = memo[data] = self._compute(data)
        return found

    def _compute(self, data: bytes) -> int:
        reflected = self._reflected_table
        if reflected is not None:
            crc = self._reflected_initial
            if len(data) >= PAIR_TABLE_FROM and self.width >= 16 and _LITTLE_ENDIAN:
                # Two bytes a step: half the Python loop turns (flow keys are tens of bytes).
                pairs = self._pair_table or self._make_pair_table()
                even = len(data) & ~1
                words = memoryview(data)[:even].cast("H")
                if self.width == 16:  # nothing above the word to shift down
                    for word in words:
                        crc = pairs[crc ^ word]
                else:
                    for word in words:
                        crc = pairs[(crc ^ word) & 0xFFFF] ^ (crc >> 16)
                if even < len(data):
                    crc = reflected[(crc ^ data[-1]) & 0xFF] ^ (crc >> 8)
                return crc ^ self.final_xor
            for byte in data:
                crc = reflected[(crc ^ byte) & 0xFF] ^ (crc >> 8)
            return crc ^ self.final_xor
        table, mask, byte_map = self._table, self._mask, self._byte_map
        shift = self.width - 8
        remainder = self.initial
        for byte in data:
            remainder = table[byte_map[byte] ^ (remainder >> shift)] ^ ((remainder << 8) & mask)
        if self.reflect_remainder:
            remainder = _reflect(remainder, self.width)
        return remainder ^ self.final_xor


def crc32(data: bytes) -> int:
    """BMv2 crc32: CRC-32 (ISO-HDLC), the same as zlib's."""
    return zlib.crc32(data)


def crc_ccitt(data: bytes) -> int:
    """BMv2 crcCCITT: poly 0x1021, init 0xFFFF, unreflected, no final xor (CRC-16/IBM-3740)."""
    return binascii.crc_hqx(data, 0xFFFF)


def csum16(data: bytes) -> int:
    """BMv2 csum16 / cksum16: the Internet checksum (RFC 1071), odd byte padded with zero."""
    number = int.from_bytes(data, "big")
    return csum16_of_sum(number << 8 if len(data) & 1 else number)


def csum16_of_sum(number: int) -> int:
    """csum16 of data given as a number: the data read as one big-endian number, or the sum of
    such numbers for pieces of it that start at even offsets (an odd last piece shifted left by
    8, i.e. padded with a zero byte).

    Such a number is a sum of 16-bit words times powers of 2^16, and 2^16 = 1 modulo 0xFFFF, so
    its remainder modulo 0xFFFF is the ones' complement sum of the words, except that a
    non-zero sum congruent to 0 folds to 0xFFFF (RFC 1071 section 2(C)). One big-int remainder
    runs in C, unlike a loop over the words, and a rewrite can sum what it changed and what it
    kept without joining them first.
    """
    total = number % 0xFFFF
    if total == 0 and number:
        total = 0xFFFF
    return total ^ 0xFFFF


def _xor_hash(nbytes: int) -> Callable[[bytes], int]:
    def xor_hash(data: bytes) -> int:
        """BMv2 xor_hash: XOR of big-endian words, the tail padded with zeros on the right."""
        result = 0
        for i in range(0, len(data), nbytes):
            result ^= int.from_bytes(data[i:i + nbytes].ljust(nbytes, b"\0"), "big")
        return result

    return xor_hash


def identity(data: bytes) -> int:
    """BMv2 identity: the first (up to) 8 bytes as a big-endian integer."""
    return int.from_bytes(data[:8], "big")


_P1, _P2, _P3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
_P4, _P5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5
_M64 = (1 << 64) - 1


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M64


def _xxh_round(acc: int, lane: int) -> int:
    return (_rotl((acc + lane * _P2) & _M64, 31) * _P1) & _M64


def xxh64(data: bytes, seed: int = 0) -> int:
    """XXH64 (the xxHash 64-bit algorithm), seed 0 as BMv2 calls it."""
    n = len(data)
    i = 0
    if n >= 32:
        v = [(seed + _P1 + _P2) & _M64, (seed + _P2) & _M64, seed, (seed - _P1) & _M64]
        while i + 32 <= n:
            for j in range(4):
                v[j] = _xxh_round(v[j], int.from_bytes(data[i + 8 * j:i + 8 * j + 8], "little"))
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & _M64
        for lane in v:
            h = (((h ^ _xxh_round(0, lane)) * _P1) + _P4) & _M64
    else:
        h = (seed + _P5) & _M64
    h = (h + n) & _M64
    while i + 8 <= n:
        h ^= _xxh_round(0, int.from_bytes(data[i:i + 8], "little"))
        h = (_rotl(h, 27) * _P1 + _P4) & _M64
        i += 8
    if i + 4 <= n:
        h ^= (int.from_bytes(data[i:i + 4], "little") * _P1) & _M64
        h = (_rotl(h, 23) * _P2 + _P3) & _M64
        i += 4
    while i < n:
        h ^= (data[i] * _P5) & _M64
        h = (_rotl(h, 11) * _P1) & _M64
        i += 1
    h ^= h >> 33
    h = (h * _P2) & _M64
    h ^= h >> 29
    h = (h * _P3) & _M64
    return h ^ (h >> 32)


class Toeplitz:
    """BMv2 toeplitz (RSS) hash; the key defaults to 4 zero bytes, as in BMv2."""

    def __init__(self, key: bytes = b"\0\0\0\0"):
        self.set_key(key)

    def set_key(self, key: bytes):
        if len(key) < 4 or len(key) % 4:
            raise TableError("toeplitz key must be a non-empty multiple of 4 bytes")
        self.key = bytes(key)
        self._words = [int.from_bytes(key[i:i + 4], "big") for i in range(0, len(key), 4)]

    def __call__(self, data: bytes) -> int:
        words = self._words
        nwords = len(words)
        result = 0
        for w in range(0, (len(data) + 3) // 4):
            word = int.from_bytes(data[4 * w:4 * w + 4].ljust(4, b"\0"), "big")
            # The 64-bit window of the key starting at input word w (wrapping around).
            window = (words[w % nwords] << 32) | words[(w + 1) % nwords]
            for bit in range(32):
                if word & (1 << (31 - bit)):
                    result ^= (window >> (32 - bit)) & 0xFFFFFFFF
        return result


class RoundRobin:
    """BMv2 round_robin: 0, 1, 2, ... whatever the input."""

    def __init__(self):
        self.next = 0

    def __call__(self, data: bytes) -> int:
        value, self.next = self.next, self.next + 1
        return value


class RoundRobinConsistent:
    """BMv2 round_robin_consistent: a new counter value per distinct input, remembered."""

    def __init__(self):
        self.seen: dict = {}

    def __call__(self, data: bytes) -> int:
        return self.seen.setdefault(bytes(data), len(self.seen))


def _random64(data: bytes) -> int:
    return random.getrandbits(64)


# name -> factory of a fresh hash callable; widths are those of the C++ result types.
_FACTORIES = {
    "crc16": lambda: CustomCrc(16, 0x8005, 0, 0, True, True),
    "crc32": lambda: crc32,
    "crcCCITT": lambda: crc_ccitt,
    "cksum16": lambda: csum16,
    "csum16": lambda: csum16,
    "xor16": lambda: _xor_hash(2),
    "xor32": lambda: _xor_hash(4),
    "identity": lambda: identity,
    "xxh64": lambda: xxh64,
    "toeplitz": Toeplitz,
    "round_robin": RoundRobin,
    "round_robin_consistent": RoundRobinConsistent,
    "random": lambda: _random64,
    # calculations.cpp, crc_custom_init<T>::config defaults
    "crc8_custom": lambda: CustomCrc(8, 0x07, 0, 0, False, False),
    "crc16_custom": lambda: CustomCrc(16, 0x8005, 0, 0, True, True),
    "crc32_custom": lambda: CustomCrc(32, 0x04C11DB7, 0xFFFFFFFF, 0xFFFFFFFF, True, True),
    "crc64_custom": lambda: CustomCrc(64, 0x1B, 0, 0, True, True),
}

HASH_ALGORITHMS = tuple(sorted(_FACTORIES))


def make_hash(name: str) -> Callable[[bytes], int]:
    """A fresh hash callable for the BMv2 algorithm `name`; TableError if unknown."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise TableError(
            f"unknown hash algorithm {name!r} (known: {', '.join(HASH_ALGORITHMS)})"
        )
    return factory()
