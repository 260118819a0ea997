"""MatchTable through RuntimeState, driven by a hand-written BMv2 JSON program."""

import random
import time

import pytest

from p4nic.nic.state import RuntimeState
from p4nic.nic.tables import (
    AlreadyExists,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    TableError,
)

FWD, DROP, SET_PRIO, NOACTION = 1, 2, 3, 0


def key(kind, field, name=None, mask=None):
    element = {"match_type": kind, "target": field, "mask": mask}
    if name:
        element["name"] = name
    return element


def table(name, tid, match_type, keys, **extra):
    tj = {
        "name": name,
        "id": tid,
        "match_type": match_type,
        "type": "simple",
        "max_size": 16,
        "with_counters": False,
        "support_timeout": False,
        "direct_meters": None,
        "key": keys,
        "actions": ["fwd", "drop", "set_prio", "NoAction"],
        "action_ids": [FWD, DROP, SET_PRIO, NOACTION],
        "default_entry": {
            "action_id": NOACTION,
            "action_const": False,
            "action_data": [],
            "action_entry_const": False,
        },
    }
    tj.update(extra)
    return tj


def program(*tables):
    return {
        "header_types": [
            {"name": "scalars_0", "id": 0, "fields": [["meta_port", 9, False], ["_pad", 7, False]]},
            {"name": "ipv4_t", "id": 1, "fields": [["proto", 8, False], ["src", 32, False],
                                                     ["dst", 32, False], ["dport", 16, False],
                                                     ["nib", 4, False]]},
        ],
        "headers": [
            {"name": "scalars", "id": 0, "header_type": "scalars_0", "metadata": True},
            {"name": "ipv4", "id": 1, "header_type": "ipv4_t", "metadata": False},
        ],
        "actions": [
            {"name": "NoAction", "id": NOACTION, "runtime_data": [], "primitives": []},
            {"name": "fwd", "id": FWD, "runtime_data": [{"name": "port", "bitwidth": 9}],
             "primitives": []},
            {"name": "drop", "id": DROP, "runtime_data": [], "primitives": []},
            {"name": "set_prio", "id": SET_PRIO, "runtime_data": [{"name": "p", "bitwidth": 3}],
             "primitives": []},
        ],
        "pipelines": [{"name": "ingress", "id": 0, "init_table": None, "tables": list(tables),
                       "action_profiles": [], "conditionals": []}],
    }


def ip(text):
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


DST = ["ipv4", "dst"]
SRC = ["ipv4", "src"]
PROTO = ["ipv4", "proto"]
DPORT = ["ipv4", "dport"]


def make(*tables):
    return RuntimeState(program(*tables))


def test_key_fields_have_json_order_names_and_widths():
    state = make(table("t", 1, "ternary", [key("exact", PROTO), key("ternary", DST, "dst_addr"),
                                           key("valid", "ipv4")]))
    t = state.tables["t"]
    assert [(k.name, k.match_type, k.bitwidth) for k in t.key] == [
        ("ipv4.proto", "exact", 8), ("dst_addr", "ternary", 32), ("ipv4.$valid$", "valid", 1)]
    assert state.tables_by_id[1] is t


def test_exact_lookup_hit_miss_modify_delete():
    t = make(table("t", 1, "exact", [key("exact", PROTO), key("exact", DPORT)])).tables["t"]
    h = t.add([(6,), (80,)], FWD, (3,))
    assert t.lookup((6, 80)).args == (3,)
    assert t.lookup((17, 80)) is None
    t.modify(h, DROP, ())
    assert t.lookup((6, 80)).action_id == DROP
    t.delete(h)
    assert t.lookup((6, 80)) is None
    assert len(t) == 0


def test_exact_duplicate_and_not_found_and_full():
    t = make(table("t", 1, "exact", [key("exact", DPORT)], max_size=2)).tables["t"]
    t.add([(1,)], DROP)
    with pytest.raises(AlreadyExists):
        t.add([(1,)], FWD, (2,))
    t.add([(2,)], DROP)
    with pytest.raises(ResourceExhausted):
        t.add([(3,)], DROP)
    with pytest.raises(NotFound):
        t.delete(99)
    with pytest.raises(NotFound):
        t.modify(99, DROP)


@pytest.mark.parametrize("match, action, args, message", [
    ([(1 << 16,)], DROP, (), "does not fit in 16 bits"),
    ([(-1,)], DROP, (), "does not fit"),
    ([], DROP, (), "key has 1 field"),
    ([None], DROP, (), "exact match needs a value"),
    ([(1, 2)], DROP, (), "takes one value"),
    ([(1,)], 77, (), "action id 77 is not allowed"),
    ([(1,)], FWD, (), "takes 1 argument"),
    ([(1,)], FWD, (512,), "does not fit in 9 bits"),
    ("80", DROP, (), "must be a list of field matches"),
    (["80"], DROP, (), "bad field match '80'"),
    ([(1.5,)], DROP, (), "does not fit"),
])
def test_exact_rejects_bad_entries(match, action, args, message):
    t = make(table("t", 1, "exact", [key("exact", DPORT)])).tables["t"]
    with pytest.raises(TableError, match=message) as info:
        t.add(match, action, args)
    assert info.value.status == "INVALID_ARGUMENT"
    assert len(t) == 0


def test_lpm_longest_prefix_wins_and_default_route():
    t = make(table("t", 1, "lpm", [key("lpm", DST)])).tables["t"]
    t.add([(ip("10.0.0.0"), 8)], FWD, (1,))
    t.add([(ip("10.1.0.0"), 16)], FWD, (2,))
    h24 = t.add([(ip("10.1.2.0"), 24)], FWD, (3,))
    assert t.lookup((ip("10.1.2.3"),)).args == (3,)
    assert t.lookup((ip("10.1.9.9"),)).args == (2,)
    assert t.lookup((ip("10.200.0.1"),)).args == (1,)
    assert t.lookup((ip("11.0.0.1"),)) is None
    t.add([(0, 0)], FWD, (9,))
    assert t.lookup((ip("11.0.0.1"),)).args == (9,)
    t.delete(h24)
    assert t.lookup((ip("10.1.2.3"),)).args == (2,)


def test_lpm_with_exact_field_and_canonical_checks():
    t = make(table("t", 1, "lpm", [key("exact", PROTO), key("lpm", DST)])).tables["t"]
    t.add([(6,), (ip("10.0.0.0"), 8)], FWD, (1,))
    t.add([(17,), (ip("10.0.0.0"), 16)], FWD, (2,))
    assert t.lookup((6, ip("10.0.5.5"))).args == (1,)
    assert t.lookup((17, ip("10.0.5.5"))).args == (2,)
    assert t.lookup((17, ip("10.1.5.5"))) is None
    with pytest.raises(TableError, match="beyond prefix length 8"):
        t.add([(6,), (ip("10.0.0.1"), 8)], DROP)
    with pytest.raises(TableError, match="not in 0..32"):
        t.add([(6,), (0, 33)], DROP)
    with pytest.raises(TableError, match="priority given"):
        t.add([(6,), (ip("10.0.0.0"), 9)], DROP, priority=5)
    # /0 and a wildcard are the same key.
    t.add([(6,), None], DROP)
    with pytest.raises(AlreadyExists):
        t.add([(6,), (0, 0)], DROP)


def test_ternary_larger_priority_wins():
    t = make(table("t", 1, "ternary", [key("ternary", DST), key("ternary", DPORT)])).tables["t"]
    t.add([(ip("10.0.0.0"), 0xFF000000), None], FWD, (1,), priority=10)
    t.add([None, (80, 0xFFFF)], FWD, (2,), priority=20)
    t.add([(ip("10.0.0.1"), 0xFFFFFFFF), (80, 0xFFFF)], FWD, (3,), priority=5)
    assert t.lookup((ip("10.0.0.1"), 80)).args == (2,)
    assert t.lookup((ip("10.0.0.1"), 81)).args == (1,)
    assert t.lookup((ip("11.0.0.1"), 81)) is None
    # the same key with another priority is another entry (P4Runtime: priority is in the key)
    t.add([None, (80, 0xFFFF)], FWD, (4,), priority=30)
    assert t.lookup((ip("11.0.0.1"), 80)).args == (4,)
    with pytest.raises(AlreadyExists):
        t.add([None, (80, 0xFFFF)], DROP, priority=30)
    assert t.find([None, (80, 0xFFFF)], priority=20).args == (2,)


def test_ternary_checks_and_priority_required():
    t = make(table("t", 1, "ternary", [key("ternary", DPORT)])).tables["t"]
    with pytest.raises(TableError, match="outside mask"):
        t.add([(0x0101, 0xFF00)], DROP, priority=1)
    with pytest.raises(TableError, match="need a priority"):
        t.add([(0x0100, 0xFF00)], DROP)
    with pytest.raises(TableError, match="priority 0 not in"):
        t.add([(0x0100, 0xFF00)], DROP, priority=0)
    # mask 0 means wildcard
    t.add([(0, 0)], DROP, priority=1)
    with pytest.raises(AlreadyExists):
        t.add([None], FWD, (1,), priority=1)


def test_ternary_table_with_lpm_field_orders_by_priority_as_bmv2():
    t = make(table("t", 1, "ternary", [key("lpm", DST), key("ternary", PROTO)])).tables["t"]
    t.add([(ip("10.1.0.0"), 16), None], FWD, (1,), priority=1)
    t.add([(ip("10.0.0.0"), 8), None], FWD, (2,), priority=2)
    assert t.lookup((ip("10.1.0.1"), 6)).args == (2,)


def test_range_and_optional_and_valid():
    t = make(table("t", 1, "range", [key("range", DPORT), key("optional", PROTO),
                                     key("valid", "ipv4")])).tables["t"]
    t.add([(1000, 2000), (6,), (1,)], FWD, (1,), priority=2)
    t.add([None, None, (0,)], DROP, priority=1)
    assert t.lookup((1000, 6, 1)).args == (1,)
    assert t.lookup((2000, 6, 1)).args == (1,)
    assert t.lookup((2001, 6, 1)) is None
    assert t.lookup((1500, 17, 1)) is None
    assert t.lookup((5, 17, 0)).action_id == DROP
    with pytest.raises(TableError, match="low 5 > high 4"):
        t.add([(5, 4), None, (1,)], DROP, priority=3)
    with pytest.raises(TableError, match="does not fit in 1 bits"):
        t.add([None, None, (2,)], DROP, priority=3)
    # full range == wildcard
    with pytest.raises(AlreadyExists):
        t.add([(0, 0xFFFF), None, (0,)], DROP, priority=1)


def test_static_key_mask_is_recorded():
    t = make(table("t", 1, "exact", [key("exact", DPORT, mask="0x00ff")])).tables["t"]
    assert t.key[0].mask == 0xFF


def test_default_entry_set_reset_and_const():
    state = make(
        table("t", 1, "exact", [key("exact", DPORT)]),
        table("c", 2, "exact", [key("exact", DPORT)], default_entry={
            "action_id": FWD, "action_const": True, "action_data": ["0x5"],
            "action_entry_const": True}),
        table("k", 3, "exact", [key("exact", DPORT)], default_entry={
            "action_id": FWD, "action_const": True, "action_data": ["0x5"],
            "action_entry_const": False}),
    )
    t = state.tables["t"]
    default = t.default_entry
    assert (default.action_id, default.args) == (NOACTION, ())
    t.set_default(FWD, (7,))
    assert (t.default_entry.action_id, t.default_entry.args) == (FWD, (7,))
    assert t.default_entry is default  # updated in place: the packet path may hold it
    t.reset_default()
    assert (default.action_id, default.args) == (NOACTION, ())
    with pytest.raises(TableError, match="takes 1 argument"):
        t.set_default(FWD, ())

    c = state.tables["c"]
    assert (c.default_entry.action_id, c.default_entry.args) == (FWD, (5,))
    with pytest.raises(PermissionDenied):
        c.set_default(FWD, (6,))
    with pytest.raises(PermissionDenied):
        c.reset_default()

    k = state.tables["k"]
    k.set_default(FWD, (6,))
    assert k.default_entry.args == (6,)
    with pytest.raises(PermissionDenied, match="only the arguments"):
        k.set_default(DROP)


def test_const_entries_from_json_are_installed_and_frozen():
    entries = [
        {"match_key": [{"match_type": "ternary", "key": "0x0050", "mask": "0xffff"}],
         "action_entry": {"action_id": FWD, "action_data": ["0x1"]}, "priority": 1},
        {"match_key": [{"match_type": "ternary", "key": "0x0000", "mask": "0x0000"}],
         "action_entry": {"action_id": DROP, "action_data": []}, "priority": 2},
    ]
    state = make(table("t", 1, "ternary", [key("ternary", DPORT)], entries=entries))
    t = state.tables["t"]
    assert t.is_const and len(t) == 2
    assert t.lookup((80,)).args == (1,)  # JSON priority 1 beats 2 (BMv2: smaller wins)
    assert t.lookup((81,)).action_id == DROP
    first, second = sorted(t.entries(), key=lambda e: -e.priority)
    assert first.match == ((80, 0xFFFF),) and second.match == (None,)
    with pytest.raises(PermissionDenied):
        t.add([(1, 0xFFFF)], DROP, priority=5)
    with pytest.raises(PermissionDenied):
        t.delete(first.handle)


def test_const_exact_and_lpm_entries():
    state = make(
        table("e", 1, "exact", [key("exact", DPORT), key("valid", "ipv4")], entries=[
            {"match_key": [{"match_type": "exact", "key": "0x0050"},
                           {"match_type": "valid", "key": True}],
             "action_entry": {"action_id": DROP, "action_data": []}, "priority": 1}]),
        table("l", 2, "lpm", [key("lpm", DST)], entries=[
            {"match_key": [{"match_type": "lpm", "key": "0x0a000000", "prefix_length": 8}],
             "action_entry": {"action_id": FWD, "action_data": ["0x2"]}, "priority": 1}]),
    )
    assert state.tables["e"].lookup((80, 1)).action_id == DROP
    assert state.tables["e"].lookup((80, 0)) is None
    assert state.tables["l"].lookup((ip("10.9.9.9"),)).args == (2,)


def test_entries_read_back_independent_of_insertion_order():
    def fill(order):
        t = make(table("t", 1, "ternary", [key("ternary", DPORT)])).tables["t"]
        specs = [((80, 0xFFFF), 3), ((443, 0xFFFF), 1), (None, 2), ((80, 0xFFFF), 9)]
        for i in order:
            match, prio = specs[i]
            t.add([match], FWD, (i,), priority=prio)
        return [(e.match, e.priority, e.args) for e in t.entries()]

    assert fill([0, 1, 2, 3]) == fill([3, 2, 1, 0]) == fill([2, 0, 3, 1])


def test_clear_and_many_entries():
    t = make(table("t", 1, "ternary", [key("ternary", DPORT)], max_size=2000)).tables["t"]
    for port in range(1000):
        t.add([(port, 0xFFFF)], FWD, (port % 512,), priority=port + 1)
    assert t.lookup((999,)).args == (999 % 512,)
    for e in list(t.entries())[::2]:
        t.delete(e.handle)
    assert len(t) == 500
    assert sum(t.lookup((p,)) is not None for p in range(1000)) == 500
    t.clear()
    assert len(t) == 0 and t.lookup((1,)) is None


def test_idle_timeout_reports_once_per_idle_period():
    state = make(table("t", 1, "exact", [key("exact", DPORT)], support_timeout=True),
                 table("n", 2, "exact", [key("exact", DPORT)]))
    t = state.tables["t"]
    h1 = t.add([(1,)], DROP, timeout_ms=100)
    t.add([(2,)], DROP)  # no timeout: never expires
    start = t.get(h1).last_hit
    assert t.expired(now=start + 0.05) == []
    assert [e.handle for e in t.expired(now=start + 0.2)] == [h1]
    assert t.expired(now=start + 0.3) == []  # reported already
    entry = t.lookup((1,))
    entry.last_hit = start + 0.3  # the packet path records a hit
    assert t.expired(now=start + 0.35) == []
    assert [e.handle for e in t.expired(now=start + 0.5)] == [h1]
    assert abs(time.monotonic() - start) < 60
    with pytest.raises(TableError, match="does not support idle timeouts"):
        state.tables["n"].add([(1,)], DROP, timeout_ms=5)


def test_bad_json_gives_table_error():
    with pytest.raises(TableError, match="unknown or variable-width field ipv4.nope"):
        make(table("t", 1, "exact", [key("exact", ["ipv4", "nope"])]))
    with pytest.raises(TableError, match="ternary key field .* in a exact table"):
        make(table("t", 1, "exact", [key("ternary", DPORT)]))
    with pytest.raises(TableError, match="more than one lpm"):
        make(table("t", 1, "lpm", [key("lpm", DPORT), key("lpm", DST)]))


def reference_lookup(entries, key, kinds, widths):
    """Brute force: every entry matching field by field; best = highest priority, then oldest."""
    def field_matches(kind, width, mv, x):
        if mv is None:
            return True
        if kind in ("exact", "optional"):
            return x == mv[0]
        if kind == "lpm":
            value, plen = mv
            return x >> (width - plen) == value >> (width - plen)
        if kind == "ternary":
            return x & mv[1] == mv[0]
        return mv[0] <= x <= mv[1]

    hits = [e for e in entries
            if all(field_matches(k, w, mv, x) for k, w, mv, x in zip(kinds, widths, e[0], key))]
    if not hits:
        return None
    if all(k != "lpm" for k in kinds) or "ternary" in kinds or "range" in kinds:
        return max(hits, key=lambda e: (e[1], -e[2]))[3]
    return max(hits, key=lambda e: sum(mv[1] for mv in e[0] if mv and len(mv) == 2))[3]


@pytest.mark.parametrize("match_type, kinds", [
    ("ternary", ["ternary", "exact"]),
    ("ternary", ["lpm", "ternary"]),
    ("lpm", ["exact", "lpm"]),
    ("range", ["range", "ternary"]),
])
def test_lookup_agrees_with_brute_force(match_type, kinds):
    rng = random.Random(7)
    widths = [8, 4]
    fields = [PROTO, ["ipv4", "nib"]]
    t = make(table("t", 1, match_type, [key(k, f) for k, f in zip(kinds, fields)],
                   max_size=500)).tables["t"]
    reference = {}

    def random_match(kind, width):
        if kind == "exact":
            return (rng.randrange(1 << width),)
        if kind == "lpm":
            plen = rng.randrange(width + 1)
            return (rng.randrange(1 << width) >> (width - plen) << (width - plen), plen) \
                if plen else None
        if kind == "ternary":
            mask = rng.randrange(1 << width)
            return (rng.randrange(1 << width) & mask, mask) if mask else None
        low = rng.randrange(1 << width)
        return (low, rng.randrange(low, 1 << width))

    for seq in range(300):
        match = [random_match(k, w) for k, w in zip(kinds, widths)]
        priority = rng.randrange(1, 20) if match_type != "lpm" else None
        try:
            handle = t.add(match, FWD, (seq,), priority=priority)
        except TableError:
            continue
        reference[handle] = (tuple(match), priority, seq, seq)
        if rng.random() < 0.3:
            victim = rng.choice(list(reference))
            t.delete(victim)
            del reference[victim]
    for _ in range(500):
        probe = tuple(rng.randrange(1 << w) for w in widths)
        got = t.lookup(probe)
        expected = reference_lookup(list(reference.values()), probe, kinds, widths)
        assert (got.args[0] if got else None) == expected, probe


@pytest.mark.parametrize("match_type, kind, match, priority", [
    ("exact", "exact", [(80,)], None),
    ("lpm", "lpm", [(80, 16)], None),
    ("ternary", "ternary", [(80, 0xFFFF)], 1),
    ("range", "range", [(80, 80)], 1),
])
def test_a_held_lookup_stays_valid_across_clear_and_reset(match_type, kind, match, priority):
    # generated pipeline code binds t.lookup and t.default_entry once, at load
    state = make(table("t", 1, match_type, [key(kind, DPORT)]))
    t = state.tables["t"]
    lookup, default = t.lookup, t.default_entry
    t.add(match, FWD, (1,), priority=priority)
    t.clear()
    assert lookup((80,)) is None
    t.add(match, FWD, (2,), priority=priority)
    state.reset()
    t.add(match, FWD, (3,), priority=priority)
    t.set_default(DROP)
    assert lookup((80,)).args == (3,) and default.action_id == DROP
    assert t.lookup is lookup and t.default_entry is default
