"""Flattening: P4 expressions keep their width and signedness rules when BMv2 computes them."""
import pytest

from tests.compiler.midend_harness import data_program, run_once

FIELDS = "bit<8> a; bit<8> b; bit<8> r1; bit<8> r2; bit<16> w; int<8> s; bit<8> r3;"


def compute(tmp_path, apply: str, packet: bytes, locals_: str = "", extra: str = "") -> bytes:
    [(port, out)] = run_once(tmp_path, data_program(FIELDS, apply, locals_, extra=extra), packet)
    assert port == 0
    return out


def pkt(a=0, b=0, r1=0, r2=0, w=0, s=0, r3=0) -> bytes:
    return bytes([a, b, r1, r2]) + w.to_bytes(2, "big") + bytes([s & 0xFF, r3])


@pytest.mark.parametrize("expr, a, b, expected", [
    ("hdr.d.a + hdr.d.b", 200, 100, 44),            # wraps at 8 bits
    ("hdr.d.a - hdr.d.b", 1, 2, 255),
    ("hdr.d.a * hdr.d.b", 16, 17, (16 * 17) & 0xFF),
    ("hdr.d.a << 3", 0x3F, 0, 0xF8),
    ("hdr.d.a >> 2", 0xF0, 0, 0x3C),
    ("~hdr.d.a", 0x0F, 0, 0xF0),
    ("-hdr.d.a", 1, 0, 0xFF),
    ("hdr.d.a |+| hdr.d.b", 200, 100, 255),          # saturates
    ("hdr.d.a |-| hdr.d.b", 1, 2, 0),
    ("hdr.d.a & hdr.d.b | 8w1", 0xF0, 0x3C, 0x31),
    ("hdr.d.a ^ hdr.d.b", 0xFF, 0x0F, 0xF0),
    ("(hdr.d.a > hdr.d.b) ? hdr.d.a : hdr.d.b", 3, 9, 9),
    ("hdr.d.a[7:4] ++ hdr.d.b[3:0]", 0xAB, 0xCD, 0xAD),
    ("(bit<8>)(hdr.d.a[3:0])", 0xAB, 0, 0x0B),
    ("(bit<8>)((bit<4>)hdr.d.a + 4w9)", 0x0A, 0, 0x03),
])
def test_bit_arithmetic(tmp_path, expr, a, b, expected):
    out = compute(tmp_path, f"hdr.d.r1 = {expr};", pkt(a=a, b=b))
    assert out[2] == expected


def test_signed_arithmetic_and_casts(tmp_path):
    apply = """
        hdr.d.s = hdr.d.s - 8s10;              // -5 - 10 = -15
        hdr.d.r1 = (bit<8>)hdr.d.s;            // two's complement bits
        hdr.d.r2 = (hdr.d.s < 0) ? 8w1 : 8w0;  // signed comparison
        hdr.d.w = (bit<16>)(int<16>)hdr.d.s;   // sign extension
        hdr.d.r3 = (bit<8>)(hdr.d.s |-| 8s127); // saturates at -128
    """
    out = compute(tmp_path, apply, pkt(s=-5))
    assert out[6] == (-15) & 0xFF
    assert out[2] == (-15) & 0xFF
    assert out[3] == 1
    assert int.from_bytes(out[4:6], "big") == (-15) & 0xFFFF
    assert out[7] == 0x80


def test_slice_assignment_keeps_other_bits(tmp_path):
    out = compute(tmp_path, "hdr.d.w[11:4] = hdr.d.a; hdr.d.r1[0:0] = 1w1;",
                  pkt(a=0xAB, w=0xF00F, r1=0x80))
    assert int.from_bytes(out[4:6], "big") == 0xFABF
    assert out[2] == 0x81


def test_bool_locals_and_logic(tmp_path):
    apply = """
        bool x = hdr.d.a == 8w1;
        bool y = !x || hdr.d.b != 0;
        if (x && y) { hdr.d.r1 = 1; } else { hdr.d.r1 = 2; }
        hdr.d.r2 = (bit<8>)(bit<1>)y;
    """
    assert compute(tmp_path, apply, pkt(a=1, b=3))[2:4] == bytes([1, 1])
    assert compute(tmp_path, apply, pkt(a=1, b=0))[2:4] == bytes([2, 0])


def test_struct_assignment_and_function_call(tmp_path):
    extra = """
        struct pair_t { bit<8> x; bit<8> y; }
        bit<8> larger(in bit<8> p, in bit<8> q) { if (p > q) { return p; } return q; }
    """
    apply = """
        pair_t p = { hdr.d.a, hdr.d.b };
        pair_t q = p;
        q.x = q.x + 1;
        hdr.d.r1 = q.x;
        hdr.d.r2 = larger(p.x, q.y);
        hdr.d.r3 = larger(q.y, p.x);
    """
    out = compute(tmp_path, apply, pkt(a=7, b=3), extra=extra)
    assert out[2:4] == bytes([8, 7]) and out[7] == 7


def test_left_operand_is_read_before_a_call_changes_it(tmp_path):
    extra = "bit<8> bump(inout bit<8> v) { v = v + 10; return 1; }"
    out = compute(tmp_path, "hdr.d.r1 = hdr.d.a + bump(hdr.d.a);", pkt(a=5), extra=extra)
    assert out[2] == 6 and out[0] == 15


def test_compound_assignment_locates_its_target_once(tmp_path):
    extra = """
        header e_t { bit<8> v; }
        bit<8> next_index(inout bit<8> i) { i = i + 1; return i - 1; }
    """
    text = data_program("bit<8> i; bit<8> v0; bit<8> v1;", """
        e_t[2] st;
        st[0].setValid(); st[1].setValid();
        st[0].v = hdr.d.v0; st[1].v = hdr.d.v1;
        bit<8> k = hdr.d.i;
        st[next_index(k) & 1].v += 5;   // one call: k advances once, st[0] gets the 5
        hdr.d.i = k; hdr.d.v0 = st[0].v; hdr.d.v1 = st[1].v;
        hdr.d.v1[3:0] |= 4w1;
    """, extra=extra)
    [(_, out)] = run_once(tmp_path, text, bytes([0, 10, 20]))
    assert out == bytes([1, 15, 21])
