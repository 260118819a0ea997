"""Ranges as ternary entries, checked against brute force: every range of up to 6 bits
exhaustively against the true minimum number of value/mask pairs (an exact set-cover search
over all cubes inside the range), wide ranges by hypothesis; and the cover test that finds
rules no packet can reach, against enumeration of every packet of a small key."""
from functools import lru_cache

from hypothesis import given, settings
from hypothesis import strategies as st

from p4nic.dsl.ternary import Layout, contains, covered, intersection, intersects, range_cover


def members(cube, width):
    """Every value a (value, care) cube matches."""
    value, care = cube
    free = ((1 << width) - 1) ^ care
    found, sub = [], free
    while True:
        found.append(value | sub)
        if sub == 0:
            return found
        sub = (sub - 1) & free


def matched(cubes, width) -> set:
    return {v for cube in cubes for v in members(cube, width)}


@lru_cache(maxsize=None)
def minimum_cover(low, high, width) -> int:
    """The fewest cubes whose union is exactly [low, high]: depth-first over the maximal cubes
    inside the range, always covering the smallest value not yet covered."""
    full = (1 << width) - 1
    inside = []
    for care in range(1 << width):
        for value in range(1 << width):
            if value & ~care & full == 0 and low <= value and (value | (full ^ care)) <= high:
                inside.append(frozenset(members((value, care), width)))
    maximal = [s for s in set(inside) if not any(s < t for t in inside)]
    target = frozenset(range(low, high + 1))
    best = [len(target)]

    def search(done, count):
        if done == target:
            best[0] = min(best[0], count)
            return
        if count + 1 >= best[0]:
            return
        smallest = min(target - done)
        for cube in maximal:
            if smallest in cube:
                search(done | cube, count + 1)

    search(frozenset(), 0)
    return best[0]


def prefix_split(low, high, width) -> int:
    """How many entries the usual prefix splitting needs (what we must never exceed)."""
    count = 0
    while low <= high:
        size = (low & -low) or (1 << width)
        while low + size - 1 > high:
            size //= 2
        low += size
        count += 1
    return count


def test_every_range_up_to_6_bits_is_exact_and_minimal():
    for width in range(1, 7):
        for low in range(1 << width):
            for high in range(low, 1 << width):
                cubes = range_cover(low, high, width)
                assert matched(cubes, width) == set(range(low, high + 1)), (low, high, width)
                assert len(cubes) == minimum_cover(low, high, width), (low, high, width)
                assert all(v & ~c == 0 for v, c in cubes)


def test_the_classic_range_beats_prefixes():
    assert len(range_cover(1, 14, 4)) == 4 < prefix_split(1, 14, 4) == 6
    assert len(range_cover(1024, 65535, 16)) == prefix_split(1024, 65535, 16) == 6
    assert range_cover(80, 80, 16) == [(80, 0xFFFF)]
    assert range_cover(0, 65535, 16) == [(0, 0)]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([8, 12, 16, 24, 32, 48, 128]).flatmap(
    lambda width: st.tuples(st.just(width), st.integers(0, (1 << width) - 1),
                            st.integers(0, (1 << width) - 1),
                            st.lists(st.integers(0, (1 << width) - 1), max_size=20))))
def test_wide_ranges_cover_exactly_and_never_need_more_than_prefixes(case):
    width, a, b, probes = case
    low, high = min(a, b), max(a, b)
    cubes = range_cover(low, high, width)
    assert len(cubes) <= prefix_split(low, high, width)
    for value, care in cubes:           # every cube lies inside the range
        full = (1 << width) - 1
        assert low <= value and (value | (full ^ care)) <= high
    for probe in probes + [low, high, max(low - 1, 0), min(high + 1, (1 << width) - 1)]:
        hit = any((probe ^ v) & c == 0 for v, c in cubes)
        assert hit == (low <= probe <= high), probe


cube = st.integers(0, 63).flatmap(lambda care: st.tuples(
    st.integers(0, 63).map(lambda v, care=care: v & care), st.just(care)))


@settings(max_examples=400, deadline=None)
@given(cube, st.lists(cube, max_size=8))
def test_cover_analysis_against_every_packet(target, others):
    everything = set(range(64))
    inside = set(members(target, 6))
    union = matched(others, 6)
    assert covered(target, others) == (inside <= union)
    for other in others:
        assert intersects(target, other) == bool(inside & set(members(other, 6)))
        both = intersection(target, other)
        assert (set(members(both, 6)) if both else set()) == inside & set(members(other, 6))
        assert contains(other, target) == (inside <= set(members(other, 6)))
    assert everything >= union


def test_layout_packs_fields_in_key_order():
    layout = Layout([("a", 8), ("b", 16), ("c", 4)])
    packed = layout.pack({"a": (0x12, 0xFF), "c": (0x3, 0xF)})
    assert packed == (0x12 << 20 | 0x3, 0xFF << 20 | 0xF)
    assert layout.unpack(packed) == {"a": (0x12, 0xFF), "c": (0x3, 0xF)}
