"""Compile-time constants: P4's fixed-width arithmetic (P4-16 spec 8.6-8.9) as the type checker
evaluates it for constants, widths and sizes."""
import pytest

from p4nic.compiler.errors import CompileError
from p4nic.compiler.parser import parse
from p4nic.compiler.preprocess import preprocess
from p4nic.compiler.typecheck import typecheck


def constants(tmp_path, body: str) -> dict:
    path = tmp_path / "consts.p4"
    path.write_text("#include <core.p4>\n" + body)
    typed = typecheck(parse(preprocess(str(path))))
    return {d.name: v for d, v in typed.constants.items()}


@pytest.mark.parametrize("expr, value", [
    ("8w200 + 8w100", 44),                 # unsigned wraps modulo 2^8
    ("8w5 - 8w6", 255),
    ("8w200 |+| 8w100", 255),              # saturating
    ("8w5 |-| 8w6", 0),
    ("8w0xF0 ^ 8w0xFF", 0x0F),
    ("~8w1", 254),
    ("8w1 << 9", 0),                       # shifted out
    ("8w129 >> 1", 64),
    ("(bit<8>)16w0x1234", 0x34),           # truncating cast
    ("(bit<8>)(16w0x1234 >> 8)", 0x12),
    ("(bit<8>)(4w0xA ++ 4w0x5)", 0xA5),
    ("(bit<8>)16w0xABCD[11:4]", 0xBC),
    ("8w7 / 8w2", 3),
    ("8w7 % 8w2", 1),
    ("(bit<8>)-1", 255),
    ("(bit<8>)(8w3 == 8w3 ? 8w9 : 8w1)", 9),
])
def test_unsigned_arithmetic(tmp_path, expr, value):
    assert constants(tmp_path, f"const bit<8> C = {expr};")["C"] == value


@pytest.mark.parametrize("expr, value", [
    ("8s127 + 8s1", -128),                 # two's complement wrap
    ("8s100 |+| 8s100", 127),
    ("-8s128 |-| 8s1", -128),
    ("(int<8>)8w255", -1),
    ("-8s64 >> 2", -16),                   # arithmetic shift
])
def test_signed_arithmetic(tmp_path, expr, value):
    assert constants(tmp_path, f"const int<8> C = {expr};")["C"] == value


def test_int_constants_widths_and_booleans(tmp_path):
    values = constants(tmp_path, """
const int BIG = 1 << 40;
const int W = 3 * 4 - 4;
const bit<W> NARROW = 300;
const bool B = (W == 8) && !(BIG < 0);
""")
    assert values["BIG"] == 1 << 40
    assert values["NARROW"] == 300 & 0xFF
    assert values["B"] is True


def test_non_constant_initializer_is_an_error(tmp_path):
    with pytest.raises(CompileError, match="not a compile-time constant"):
        constants(tmp_path, """
control C(in bit<8> x) { apply { const bit<8> y = x + 1; } }""")
