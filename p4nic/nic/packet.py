"""Integer helpers for generated pipeline code: BMv2's Data arithmetic on Python ints.

BMv2 computes with unbounded signed integers (bm_sim/data.h) and truncates on assignment;
Python ints do the same except for division and remainder, which BMv2 truncates toward zero.
"""

from __future__ import annotations


def two_comp(value: int, width: int) -> int:
    """`value` reinterpreted as a `width`-bit two's complement number (BMv2 two_comp_mod)."""
    if width <= 0:
        return 0
    if width > value.bit_length() + 1:  # already in range; also avoids 1 << (huge width)
        return value
    half = 1 << (width - 1)
    return ((value + half) & ((1 << width) - 1)) - half


def trunc_div(a: int, b: int) -> int:
    """Integer division truncating toward zero, as BMv2's Data::divide; 0 when b is 0."""
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def trunc_mod(a: int, b: int) -> int:
    """Remainder with the sign of the dividend, as BMv2's Data::mod; 0 when b is 0."""
    if b == 0:
        return 0
    r = abs(a) % abs(b)
    return -r if a < 0 else r
