"""How STF names and values map onto a loaded program's tables (bmv2stf's rules)."""
import json
from pathlib import Path

import pytest

from p4nic.nic.state import RuntimeState
from p4nic.stf.runner import STFRunError, key_field_index, match_value, packet_mismatch, pick, Expectation

PROGRAM = json.loads((Path(__file__).parent / "programs" / "l3_router.json").read_text())


@pytest.fixture(scope="module")
def table():
    return RuntimeState(PROGRAM).tables["MyIngress.ipv4_lpm"]


def test_table_and_action_by_full_name_or_unique_suffix(table):
    tables = {"MyIngress.ipv4_lpm": table}
    assert pick(tables, "MyIngress.ipv4_lpm", "table", "t:1") is table
    assert pick(tables, "ipv4_lpm", "table", "t:1") is table
    with pytest.raises(STFRunError, match="t:1: no table 'ipv6_lpm'"):
        pick(tables, "ipv6_lpm", "table", "t:1")
    with pytest.raises(STFRunError, match="'drop' is ambiguous: a.drop, b.drop"):
        pick({"a.drop": 1, "b.drop": 2}, "drop", "action", "t:1")
    # a whole name component beats a bare suffix; a bare suffix still works alone
    assert pick({"ingress.t": 1, "tbl_act": 2}, "t", "table", "t:1") == 1
    assert pick({"ingress.fwd_t": 1}, "t", "table", "t:1") == 1
    with pytest.raises(STFRunError, match="'t' is ambiguous: a_t, b_t"):
        pick({"a_t": 1, "b_t": 2}, "t", "table", "t:1")


def test_key_field_by_name_or_suffix(table):
    assert key_field_index(table, "hdr.ipv4.dstAddr", "t:1") == 0
    assert key_field_index(table, "ipv4.dstAddr", "t:1") == 0
    assert key_field_index(table, "dstAddr", "t:1") == 0
    with pytest.raises(STFRunError, match="has no key field 'srcAddr' \\(key: hdr.ipv4.dstAddr\\)"):
        key_field_index(table, "srcAddr", "t:1")


@pytest.mark.parametrize("kind, width, text, expected", [
    ("exact", 16, "0x0800", (0x800,)),
    ("exact", 9, "12", (12,)),
    ("exact", 4, "0b1010", (0b1010,)),
    ("lpm", 32, ("0x0a000000", "8"), (0x0A000000, 8)),
    ("lpm", 32, "0x0a0a****", (0x0A0A0000, 16)),
    ("lpm", 32, "0x0a0a0a0a", (0x0A0A0A0A, 32)),
    ("lpm", 32, "167772160", (167772160, 32)),
    ("ternary", 16, "0x0a**", (0x0A00, 0xFF00)),
    ("ternary", 16, "0x1", (0x1, 0xF)),       # only the digits written are cared for
    ("ternary", 8, "0b1*0*", (0b1000, 0b1010)),
    ("ternary", 8, "7", (7, 0xFF)),
    ("valid", 1, "1", (1,)),
    ("range", 8, "5", (5, 5)),
])
def test_values(kind, width, text, expected):
    assert match_value(kind, width, text, "t:1") == expected


def test_wildcards_only_where_they_mean_something():
    with pytest.raises(STFRunError, match="wildcard value 0x0\\* is only allowed"):
        match_value("exact", 8, "0x0*", "t:1")
    with pytest.raises(STFRunError, match="t:1: '1.5' is not an integer"):
        match_value("exact", 8, "1.5", "t:1")
    with pytest.raises(STFRunError, match="VALUE/LEN is only for lpm keys"):
        match_value("exact", 8, ("1", "2"), "t:1")


@pytest.mark.parametrize("pattern, exact, packet, problem", [
    ("00AA", False, b"\x00\xaa\x01", None),
    ("00AA", True, b"\x00\xaa\x01", "packet too long: 3 bytes, expected exactly 2"),
    ("00AA01", False, b"\x00\xaa", "packet too short: 2 bytes, expected at least 3"),
    ("0**A", False, b"\x0f\xfa", None),
    ("0**A", False, b"\x0f\xfb", "differs at byte 1 (nibble 3): expected A, got B"),
    (None, False, b"anything", None),
])
def test_expected_packet_comparison(pattern, exact, packet, problem):
    assert packet_mismatch(Expectation(pattern, exact, 1), packet) == problem
