"""Action primitives and expressions of BMv2 JSON, compiled by the NIC's code generator.

Each test builds a one-action program on two scratch headers (programs/v1model.py `scratch`),
sends one packet through Device.process and reads the fields back from the output.
"""

import logging

import pytest

from p4nic.nic.device import Device
from p4nic.nic.program import ProgramError
from programs.v1model import (
    boolv, ex, fld, hdr, hexv, masked, pack_scratch, prim, rt, scratch, sm, unpack_scratch,
)

PAYLOAD = b"payload!"


def run(primitives, params=(), args=(), s=None, s2=None, setup=None, logger=None, state=None):
    """(port, s fields, bytes after s) of the one packet out, or None if it was dropped."""
    dev = Device(logger=logger)
    dev.load(scratch(primitives, params, args, setup))
    if state is not None:
        state(dev.state)
    data = pack_scratch(**(s or {})) + pack_scratch(**(s2 or {})) + PAYLOAD
    out = dev.process([(0, data)])
    if not out:
        return None
    (port, got), = out
    return port, unpack_scratch(got), got[18:]


def assign(field, value):
    return prim("assign", fld("s", field), value)


S = {"a": 200, "b": 100, "c": 0xABCD, "d": 0xDEADBEEF, "sg": -5, "n1": 3, "n2": 12,
     "big": 0x0123456789ABCDEF}


@pytest.mark.parametrize("field,expr,expected", [
    ("a", masked("+", fld("s", "a"), fld("s", "b"), 8), (200 + 100) & 0xFF),
    ("a", masked("-", fld("s", "b"), fld("s", "a"), 8), (100 - 200) & 0xFF),
    ("c", masked("*", fld("s", "a"), fld("s", "b"), 16), 20000),
    ("a", ex("/", fld("s", "a"), hexv(7)), 200 // 7),
    ("a", ex("%", fld("s", "a"), hexv(7)), 200 % 7),
    ("a", ex("/", fld("s", "a"), hexv(0)), 0),
    ("c", ex("<<", fld("s", "a"), hexv(4)), (200 << 4) & 0xFFFF),
    ("a", ex(">>", fld("s", "c"), fld("s", "n1")), (0xABCD >> 3) & 0xFF),
    ("d", ex("<<", fld("s", "d"), fld("s", "big")), 0),  # huge shift amount, masked to 0
    ("a", ex("&", fld("s", "a"), fld("s", "b")), 200 & 100),
    ("a", ex("|", fld("s", "a"), fld("s", "b")), 200 | 100),
    ("a", ex("^", fld("s", "a"), fld("s", "b")), 200 ^ 100),
    ("a", ex("&", ex("~", None, fld("s", "a")), hexv(0xFF)), 55),
    ("a", ex("?", hexv(1), hexv(2), ex("<", fld("s", "a"), fld("s", "b"))), 2),
    ("a", ex("?", hexv(1), hexv(2), ex(">", fld("s", "a"), fld("s", "b"))), 1),
    ("a", ex("?", hexv(1), hexv(2), ex("<=", fld("s", "a"), hexv(200))), 1),
    ("a", ex("?", hexv(1), hexv(2), ex(">=", fld("s", "a"), hexv(201))), 2),
    ("a", ex("?", hexv(1), hexv(2), ex("!=", fld("s", "a"), hexv(200))), 2),
    ("a", ex("b2d", None, ex("and", ex("d2b", None, fld("s", "n1")),
                              ex("not", None, ex("d2b", None, hexv(0))))), 1),
    ("a", ex("b2d", None, ex("or", boolv(False), ex("==", fld("s", "b"), hexv(100)))), 1),
    ("a", ex("b2d", None, ex("valid", None, hdr("s2"))), 1),
    ("a", fld("s2", "$valid$"), 1),
    ("a", ex("b2d", None, ex("==", hdr("s"), hdr("s2"))), 0),  # Header::cmp: fields differ
    ("a", ex("b2d", None, ex("!=", hdr("s"), hdr("s2"))), 1),
    ("sg", ex("two_comp_mod", hexv(200), hexv(8)), -56),
    ("sg", hexv(-3), -3),
    ("sg", ex("sat_cast", hexv(1000), hexv(8)), 127),
    ("sg", ex("sat_cast", hexv(-1000), hexv(8)), -128),
    ("a", ex("usat_cast", masked("+", fld("s", "a"), fld("s", "b"), 9), hexv(8)), 255),
    ("a", ex("usat_cast", hexv(-4), hexv(8)), 0),
    ("a", ex("&", fld("s", "sg"), hexv(0xFF)), 0xFB),  # signed -5 read back
    ("big", ex("|", ex("<<", fld("s", "d"), hexv(32)), fld("s", "d")), 0xDEADBEEFDEADBEEF),
    ("n1", fld("s", "c"), 0xD),  # truncated to 4 bits on assignment
    ("d", ex("-", hexv(0), hexv(1)), 0xFFFFFFFF),  # negative value wraps into the field
])
def test_expression(field, expr, expected):
    port, s, rest = run([assign(field, expr)], s=S)
    assert port == 1
    assert s[field] == expected


def test_runtime_data_and_const_default_args():
    port, s, rest = run([assign("d", rt(0)), assign("a", rt(1))], params=[("x", 32), ("y", 8)],
                        args=[0x01020304, 0x7F])
    assert (s["d"], s["a"]) == (0x01020304, 0x7F)


def test_assign_header_remove_header_add_header_and_packet_length():
    setup_meta = [prim("assign_header", hdr("s"), hdr("s2")), prim("remove_header", hdr("s2")),
                  assign("d", sm("packet_length"))]
    port, s, rest = run(setup_meta, s=S, s2={"a": 9, "big": 77})
    assert s["a"] == 9 and s["big"] == 77
    assert rest == PAYLOAD  # s2 invalid: not deparsed
    # packet_length is set at ingress from the packet (18 + 18 + 8)
    assert s["d"] == 44


def test_add_header_on_invalid_header_zeroes_it():
    port, s, rest = run([prim("remove_header", hdr("s2")), prim("add_header", hdr("s2")),
                         prim("assign", fld("s2", "a"), hexv(5))], s2={"b": 33, "big": 1})
    s2 = unpack_scratch(rest)
    assert (s2["a"], s2["b"], s2["big"]) == (5, 0, 0)
    assert rest[18:] == PAYLOAD


def test_assign_from_invalid_header_invalidates_destination():
    dev = Device()
    dev.load(scratch([prim("remove_header", hdr("s2")),
                      prim("assign_header", hdr("s"), hdr("s2"))]))
    out = dev.process([(0, pack_scratch(**S) + pack_scratch() + PAYLOAD)])
    assert out == [(1, PAYLOAD)]  # both headers invalid: only the payload leaves


def test_mark_to_drop_drops():
    assert run([prim("mark_to_drop", hdr("standard_metadata"))]) is None


def test_drop_primitive_p4_14():
    assert run([prim("drop")]) is None


def test_p4_14_arithmetic_primitives():
    port, s, rest = run([
        prim("add_to_field", fld("s", "a"), hexv(100)),
        prim("subtract_from_field", fld("s", "b"), hexv(101)),
        prim("add", fld("s", "c"), fld("s", "a"), hexv(1)),
        prim("bit_and", fld("s", "n1"), hexv(0xF), hexv(6)),
        prim("bit_or", fld("s", "n2"), hexv(1), hexv(8)),
        prim("bit_xor", fld("s", "d"), hexv(0xFF), hexv(0x0F)),
        prim("shift_left", fld("s", "big"), hexv(1), hexv(63)),
        prim("modify_field", fld("s", "sg"), hexv(-1)),
        prim("no_op"),
    ], s=S)
    assert s["a"] == (200 + 100) & 0xFF
    assert s["b"] == 0xFF
    assert s["c"] == s["a"] + 1
    assert (s["n1"], s["n2"], s["d"], s["big"], s["sg"]) == (6, 9, 0xF0, 1 << 63, -1)


def test_jumps_implement_if_else_inside_an_action():
    # if (s.a == 200) { s.b = 1 } else { s.b = 2 }; s.c = 3
    body = [
        # offsets count the egress_spec assignment `scratch` puts first
        prim("_jump_if_zero", ex("b2d", None, ex("==", fld("s", "a"), hexv(200))), hexv(4)),
        assign("b", hexv(1)),
        prim("_jump", hexv(5)),
        assign("b", hexv(2)),
        assign("c", hexv(3)),
    ]
    assert run(body, s={"a": 200})[1]["b"] == 1
    got = run(body, s={"a": 7})[1]
    assert (got["b"], got["c"]) == (2, 3)


def test_exit_stops_the_control_but_finishes_the_action():
    def setup(p):
        after = p.action("after", [], [prim("assign", fld("s", "d"), hexv(42))])
        p.tables["ingress"][0]["next_tables"] = {"act": "t2"}
        p.tables["ingress"][0]["base_default_next"] = "t2"
        p.table("ingress", "t2", [], [after], default=(after, []))

    port, s, rest = run([prim("exit"), assign("a", hexv(9))], setup=setup)
    assert (s["a"], s["d"]) == (9, 0)
    port, s, rest = run([assign("a", hexv(9))], setup=setup)
    assert s["d"] == 42


def test_registers_counters_and_meters():
    def setup(p):
        p.registers.append({"name": "reg", "id": 0, "size": 4, "bitwidth": 16})
        p.counters.append({"name": "cnt", "id": 0, "size": 4, "is_direct": False})
        p.meters.append({"name": "mtr", "id": 0, "size": 2, "type": "packets", "rate_count": 2,
                         "is_direct": False})

    body = [
        prim("register_write", {"type": "register_array", "value": "reg"}, hexv(2),
             ex("+", fld("s", "c"), hexv(1))),
        prim("register_read", fld("s", "d"), {"type": "register_array", "value": "reg"}, hexv(2)),
        prim("register_write", {"type": "register_array", "value": "reg"}, hexv(9), hexv(1)),
        prim("register_read", fld("s", "a"), {"type": "register_array", "value": "reg"}, hexv(9)),
        prim("count", {"type": "counter_array", "value": "cnt"}, hexv(1)),
        prim("count", {"type": "counter_array", "value": "cnt"}, hexv(99)),
        prim("execute_meter", {"type": "meter_array", "value": "mtr"}, hexv(0), fld("s", "b")),
    ]
    dev = Device()
    dev.load(scratch(body, setup=setup))
    data = pack_scratch(c=0xFFFF, a=5, b=7) + pack_scratch() + PAYLOAD
    (port, out), = dev.process([(0, data), ])
    s = unpack_scratch(out)
    assert s["d"] == 0  # 0xFFFF + 1 truncated to the register's 16 bits
    assert s["a"] == 5  # out-of-range read leaves the field alone (BMv2)
    assert s["b"] == 0  # unconfigured meter: GREEN
    assert dev.state.registers["reg"].read(2) == 0
    assert dev.state.counters["cnt"].read(1) == (len(data), 1)


def test_hash_based_offset_and_random():
    def setup(p):
        p.calculations.append({"name": "h", "id": 0, "algo": "identity",
                               "input": [fld("s", "a"), fld("s", "b")]})

    port, s, rest = run([
        prim("modify_field_with_hash_based_offset", fld("s", "c"), hexv(10),
             {"type": "calculation", "value": "h"}, hexv(0x100)),
        prim("modify_field_rng_uniform", fld("s", "d"), hexv(77), hexv(77)),
        prim("modify_field_rng_uniform", fld("s", "big"), hexv(5), hexv(4)),
    ], s={"a": 0x12, "b": 0x34, "big": 3}, setup=setup)
    assert s["c"] == 10 + (0x1234 % 0x100)
    assert s["d"] == 77
    assert s["big"] == 3  # lo > hi: field untouched


def test_truncate_limits_the_output():
    port, s, rest = run([prim("truncate", hexv(20))])
    assert len(rest) == 2


def test_assert_failure_drops_the_packet_instead_of_aborting():
    body = [prim("assert", ex("==", fld("s", "a"), hexv(1)))]
    assert run(body, s={"a": 1}) is not None
    assert run(body, s={"a": 2}) is None


def test_log_msg_goes_to_the_logger_and_trace_names_the_action():
    lines = []
    run([prim("log_msg", {"type": "string", "value": "a={} b={}"},
              {"type": "parameters_vector", "value": [fld("s", "a"), fld("s", "b")]})],
        s={"a": 3, "b": 4}, logger=lines.append)
    assert "a=3 b=4" in lines
    assert any("Action act" in line for line in lines)


def test_log_msg_costs_nothing_without_a_logger():
    port, s, rest = run([prim("log_msg", {"type": "string", "value": "x"},
                              {"type": "parameters_vector", "value": []})])
    assert port == 1


def test_logging_logger_is_accepted(caplog):
    with caplog.at_level(logging.DEBUG, logger="p4nic-test"):
        run([], logger=logging.getLogger("p4nic-test"))
    assert "Parser 'parser': start" in caplog.text


@pytest.mark.parametrize("body,message", [
    ([prim("assign", fld("s", "zz"), hexv(1))], "header 's' has no field 'zz'"),
    ([prim("assign", fld("s", "a"))], "takes 2 parameter"),
    ([prim("assign", fld("s", "a"), rt(3))], "runtime_data index 3 out of range"),
    ([prim("assign", fld("s", "a"), ex("frob", hexv(1), hexv(2)))],
     "unsupported expression operator 'frob'"),
    ([prim("count", {"type": "counter_array", "value": "nope"}, hexv(0))], "known counter_array"),
    ([prim("assign", hexv(1), hexv(2))], "cannot assign"),
])
def test_bad_actions_are_program_errors(body, message):
    with pytest.raises(ProgramError, match=message):
        Device().load(scratch(body))
