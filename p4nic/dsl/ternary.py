"""Ternary matches as the DSL needs them: ranges as the fewest value/mask pairs, and
intersection and cover of multi-field matches.

A *cube* is one ternary match over a bit string: (value, care), where `care` has a 1 for
every bit that must equal `value` and `value` has no bits outside `care`. A table entry over
several fields is one cube over their concatenation, so intersection and containment are a
few big-int operations however many fields the table has.

`range_cover(low, high, width)` returns a minimum set of cubes whose union is exactly
[low, high]. Prefix splitting (the usual method) needs up to 2w-2 entries; non-prefix masks
need fewer: 1-14 on 4 bits is 4 cubes instead of 6 prefixes. The method follows the range's binary structure from its top differing
bit (`_split`), and tests/dsl/test_ternary.py checks it against an exhaustive minimum-cover
search for every range up to 7 bits.
"""
from __future__ import annotations

from functools import lru_cache


# -------------------------------------------------------------------------- range -> cubes

def range_cover(low: int, high: int, width: int) -> list:
    """The fewest (value, care) cubes over `width` bits whose union is exactly [low, high]."""
    full = (1 << width) - 1
    if not 0 <= low <= high <= full:
        raise ValueError(f"range {low}-{high} is not within 0..{full}")
    if low == high:
        return [(low, full)]
    k = (low ^ high).bit_length() - 1          # the top bit where low and high differ
    prefix_care = full & ~((1 << (k + 1)) - 1)
    prefix = low & prefix_care
    below = (1 << k) - 1
    return [(prefix | value, prefix_care | care)
            for value, care in _split(low & below, high & below, k)]


def _up(p: int, k: int) -> list:
    """Fewest cubes over k bits covering [p, 2^k - 1]: an up-set, whose prime implicants
    (the ones of p above each zero bit, plus p's own ones) are all needed."""
    if p == 0:
        return [(0, 0)]
    lowest = (p & -p).bit_length() - 1
    cubes = [(p, p)]
    for i in range(lowest + 1, k):
        if not (p >> i) & 1:
            above = p & ~((1 << (i + 1)) - 1)
            cubes.append((above | 1 << i, above | 1 << i))
    return cubes


def _down(q: int, k: int) -> list:
    """Fewest cubes over k bits covering [0, q] (the mirror image of `_up`)."""
    return [(0, care) for _, care in _up(((1 << k) - 1) ^ q, k)]


@lru_cache(maxsize=4096)
def _split(p: int, q: int, k: int) -> tuple:
    """Fewest cubes over k+1 bits (bit k is "x") covering {x=0, low >= p} and {x=1, low <= q},
    i.e. the range [p, 2^k + q].

    With t the top bit of the k low bits, the four quadrants (x, t) need: (0,0) low >= p',
    (0,1) everything if t(p)=0, (1,0) everything if t(q)=1, (1,1) low <= q'. Quadrants that
    need everything cost one cube; the two that need a half-range form the same problem one
    bit smaller, whose cubes are lifted so that they also cover the full quadrants when those
    are covered by the union of the two halves anyway (p' <= q'+1).
    """
    x = 1 << k
    full = x - 1
    if p == 0 and q == full:
        return ((0, 0),)
    if p == 0:                                   # x=0 takes everything
        return ((0, x),) + tuple(_down(q, k))
    if q == full:                                # x=1 takes everything
        return ((x, x),) + tuple(_up(p, k))
    t = 1 << (k - 1)
    p_top, q_top = p >> (k - 1), q >> (k - 1)
    p_rest, q_rest = p & (t - 1), q & (t - 1)
    if p_top == 1 and q_top == 0:                # two separate half-ranges, nothing shared
        return tuple([(v | t, c | x | t) for v, c in _up(p_rest, k - 1)]
                     + [(v | x, c | x | t) for v, c in _down(q_rest, k - 1)])
    inner = _split(p_rest, q_rest, k - 1)
    if p_top == q_top:
        # t is fixed on the side that needs a half-range; the other t value is full on one side
        whole = (t, x | t) if p_top == 0 else (x, x | t)
        lifted = []
        for v, c in inner:
            low_v, low_c = v & (t - 1), c & (t - 1)
            tb = t if p_top else 0
            if c & t:                            # the inner problem's x: ours, with t fixed
                lifted.append((low_v | (x if v & t else 0) | tb, low_c | x | t))
            else:
                lifted.append((low_v | tb, low_c | t))
        return (whole,) + tuple(lifted)
    # p_top == 0, q_top == 1: quadrants (0,1) and (1,0) need everything
    if p_rest <= q_rest + 1:
        # (x=0, t=1) as one cube; the inner cubes are widened so their union covers (1,0)
        cubes = [(t, x | t)]
        for v, c in inner:
            low_v, low_c = v & (t - 1), c & (t - 1)
            if c & t:
                if v & t:                        # inner x=1 -> (x=1, t free)
                    cubes.append((low_v | x, low_c | x))
                else:                            # inner x=0 -> (x free, t=0)
                    cubes.append((low_v, low_c | t))
            else:
                cubes.append((low_v, low_c))
        return tuple(cubes)
    lifted = []
    for v, c in inner:
        low_v, low_c = v & (t - 1), c & (t - 1)
        if c & t:                                # inner x=0 -> (0,0); inner x=1 -> (1,1)
            lifted.append((low_v | (x | t if v & t else 0), low_c | x | t))
        else:                                    # shared by (0,0) and (1,1): x and t free
            lifted.append((low_v, low_c))
    return ((t, x | t), (x, x | t)) + tuple(lifted)


def prefix_cube(value: int, prefix_len: int, width: int) -> tuple:
    """The cube of `value/prefix_len` over `width` bits."""
    care = ((1 << prefix_len) - 1) << (width - prefix_len)
    return value & care, care


# -------------------------------------------------------------------------- multi-field cubes

def intersects(a: tuple, b: tuple) -> bool:
    return not ((a[0] ^ b[0]) & a[1] & b[1])


def intersection(a: tuple, b: tuple):
    """The cube of packets both match, or None."""
    if (a[0] ^ b[0]) & a[1] & b[1]:
        return None
    return a[0] | b[0], a[1] | b[1]


def contains(outer: tuple, inner: tuple) -> bool:
    """Every packet `inner` matches, `outer` matches too."""
    return not (outer[1] & ~inner[1]) and not ((outer[0] ^ inner[0]) & outer[1])


def covered(cube: tuple, others: list, budget: int = 4000):
    """True if the union of `others` holds every packet of `cube`, False if not, None if
    finding out took more than `budget` steps (then nobody is warned).

    Splits `cube` on a bit some overlapping cube cares about and `cube` does not, until each
    piece lies inside one cube or outside all of them.
    """
    steps = [0]

    def walk(piece, candidates):
        steps[0] += 1
        if steps[0] > budget:
            raise _OutOfBudget
        overlapping = [c for c in candidates if intersects(c, piece)]
        if not overlapping:
            return False
        for c in overlapping:
            if contains(c, piece):
                return True
        split = overlapping[0][1] & ~piece[1]
        bit = split & -split
        value, care = piece
        return (walk((value, care | bit), overlapping)
                and walk((value | bit, care | bit), overlapping))

    try:
        return walk(cube, others)
    except _OutOfBudget:
        return None


class _OutOfBudget(Exception):
    pass


class Layout:
    """Packs a table entry's fields ({name: (value, care)}) into one cube, in key order."""

    def __init__(self, fields):
        self.fields = []           # (name, offset, width)
        offset = 0
        for name, width in reversed(list(fields)):
            self.fields.append((name, offset, width))
            offset += width
        self.fields.reverse()
        self.width = offset

    def pack(self, match: dict) -> tuple:
        value = care = 0
        for name, offset, _ in self.fields:
            cube = match.get(name)
            if cube is not None:
                value |= cube[0] << offset
                care |= cube[1] << offset
        return value, care

    def unpack(self, cube: tuple) -> dict:
        """{name: (value, care)} of the fields the cube cares about."""
        out = {}
        for name, offset, width in self.fields:
            mask = (1 << width) - 1
            care = (cube[1] >> offset) & mask
            if care:
                out[name] = ((cube[0] >> offset) & mask, care)
        return out
