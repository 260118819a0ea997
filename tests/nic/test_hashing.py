"""BMv2 hash algorithms against published check values, and BMv2's hash-input layout."""

import socket

import pytest

from p4nic.nic.hashing import HASH_ALGORITHMS, Toeplitz, field_list_packer, make_hash
from p4nic.nic.tables import TableError

CHECK = b"123456789"  # the CRC catalogue's check input
ALL_ONES_64 = (1 << 64) - 1


@pytest.mark.parametrize("name, expected", [
    ("crc16", 0xBB3D),            # CRC-16/ARC
    ("crc16_custom", 0xBB3D),     # BMv2 default config = CRC-16/ARC
    ("crc32", 0xCBF43926),        # CRC-32/ISO-HDLC
    ("crc32_custom", 0xCBF43926),
    ("crcCCITT", 0x29B1),         # CRC-16/IBM-3740 (CCITT-FALSE)
    ("crc8_custom", 0xF4),        # BMv2 default config = CRC-8/SMBUS
    ("identity", 0x3132333435363738),
    ("xxh64", 0x8CB841DB40E6AE83),
])
def test_catalogue_check_values(name, expected):
    assert make_hash(name)(CHECK) == expected


@pytest.mark.parametrize("name, params, expected", [
    ("crc16_custom", (0x1021, 0, 0, False, False), 0x31C3),            # CRC-16/XMODEM
    ("crc16_custom", (0x1021, 0, 0, True, True), 0x2189),              # CRC-16/KERMIT
    ("crc32_custom", (0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, True, True), 0xE3069283),  # CRC-32C
    ("crc8_custom", (0x31, 0, 0, True, True), 0xA1),                   # CRC-8/MAXIM-DOW
    ("crc64_custom", (0x1B, ALL_ONES_64, ALL_ONES_64, True, True), 0xB90956C775A41001),  # GO-ISO
    ("crc64_custom", (0x42F0E1EBA9EA3693, ALL_ONES_64, ALL_ONES_64, True, True),
     0x995DC9BBDF1939FA),                                              # CRC-64/XZ
])
def test_custom_crc_parameters(name, params, expected):
    crc = make_hash(name)
    crc.configure(*params)
    assert crc(CHECK) == expected


def test_custom_crc_instances_are_independent_and_checked():
    a, b = make_hash("crc16_custom"), make_hash("crc16_custom")
    a.configure(0x1021, 0, 0, False, False)
    assert (a(CHECK), b(CHECK)) == (0x31C3, 0xBB3D)
    with pytest.raises(TableError, match="does not fit 16 bits"):
        a.configure(0x10000, 0, 0, False, False)


def test_internet_checksum_of_an_ipv4_header():
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert make_hash("csum16")(header) == 0xB861
    assert make_hash("cksum16")(header) == 0xB861
    # an odd trailing byte is padded with a zero byte
    assert make_hash("csum16")(b"\x01") == 0xFEFF


def test_xor_hashes_pad_the_tail_with_zeros():
    assert make_hash("xor16")(bytes.fromhex("1234abcd56")) == 0x1234 ^ 0xABCD ^ 0x5600
    assert make_hash("xor32")(bytes.fromhex("11223344aa")) == 0x11223344 ^ 0xAA000000
    assert make_hash("identity")(b"\x01\x02") == 0x0102


def test_xxh64_known_answers():
    xxh64 = make_hash("xxh64")
    assert xxh64(b"") == 0xEF46DB3751D8E999
    assert xxh64(b"abc") == 0x44BC2CF5AD770999
    assert xxh64(bytes(range(100))) == 0x6AC1E58032166597  # > 32 bytes: the 4-lane loop


def test_toeplitz_matches_the_rss_verification_suite():
    key = bytes.fromhex("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c"
                        "6a42b73bbeac01fa")
    addrs = socket.inet_aton("66.9.149.187") + socket.inet_aton("161.142.100.80")
    ports = (2794).to_bytes(2, "big") + (1766).to_bytes(2, "big")
    toeplitz = Toeplitz(key)
    assert toeplitz(addrs) == 0x323E8FC2
    assert toeplitz(addrs + ports) == 0x51CCC178
    assert make_hash("toeplitz")(addrs) == 0  # BMv2's default key is all zeros
    with pytest.raises(TableError):
        toeplitz.set_key(b"\x01\x02\x03")


def test_round_robin_hashes():
    rr = make_hash("round_robin")
    assert [rr(b"x"), rr(b"x"), rr(b"y")] == [0, 1, 2]
    rrc = make_hash("round_robin_consistent")
    assert [rrc(b"a"), rrc(b"b"), rrc(b"a"), rrc(b"c")] == [0, 1, 0, 2]


def test_random_is_64_bit():
    values = {make_hash("random")(b"") for _ in range(20)}
    assert all(0 <= v < 1 << 64 for v in values) and len(values) > 1


def test_every_algorithm_hashes_bytes_to_an_int():
    for name in HASH_ALGORITHMS:
        assert isinstance(make_hash(name)(CHECK), int)


def test_unknown_algorithm_is_a_clear_error():
    with pytest.raises(TableError, match="unknown hash algorithm 'md5'.*crc16"):
        make_hash("md5")


def test_reflecting_only_the_input_leaves_the_remainder_unreflected():
    # refin=True/refout=False returns the raw remainder, which the fully reflected CRC mirrors
    full, mixed = make_hash("crc16_custom"), make_hash("crc16_custom")
    mixed.configure(0x8005, 0, 0, True, False)
    raw = mixed(CHECK)
    assert int(format(raw, "016b")[::-1], 2) == full(CHECK) == 0xBB3D


def test_field_list_packer_lays_fields_out_as_bmv2():
    assert field_list_packer([4, 4])((0xA, 0xB)) == b"\xab"
    assert field_list_packer([4, 4, 1])((0xA, 0xB, 1)) == b"\xab\x80"
    assert field_list_packer([1, 9])((1, 0x1FF)) == bytes([0b11111111, 0b11000000])
    assert field_list_packer([32, 16])((0xC0A80001, 80)) == bytes.fromhex("c0a800010050")
    assert field_list_packer([])(()) == b""


def bitwise_crc(data: bytes, width: int, poly: int, init: int, xorout: int, refin: bool,
                refout: bool) -> int:
    """The CRC catalogue's definition, one bit at a time: a reference for the table versions."""
    top, mask = 1 << (width - 1), (1 << width) - 1
    crc = init
    for byte in data:
        if refin:
            byte = int(f"{byte:08b}"[::-1], 2)
        crc ^= byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & mask if crc & top else (crc << 1) & mask
    if refout:
        crc = int(f"{crc:0{width}b}"[::-1], 2)
    return crc ^ xorout


@pytest.mark.parametrize("name, params", [
    ("crc16", (0x8005, 0, 0, True, True)),
    ("crc16_custom", (0x1021, 0xFFFF, 0, True, True)),
    ("crc32_custom", (0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, True, True)),
    ("crc64_custom", (0x42F0E1EBA9EA3693, ALL_ONES_64, ALL_ONES_64, True, True)),
])
def test_long_inputs_two_bytes_a_step_match_the_bitwise_definition(name, params):
    """Inputs of 16 bytes and more (flow keys) run two bytes a step; odd lengths end with one."""
    crc = make_hash(name)
    if name != "crc16":
        crc.configure(*params)
    width = {"crc16": 16, "crc16_custom": 16, "crc32_custom": 32, "crc64_custom": 64}[name]
    for length in (15, 16, 17, 38, 39, 64, 301):
        data = bytes((i * 37 + length) & 0xFF for i in range(length))
        assert crc(data) == bitwise_crc(data, width, *params), length


def test_a_remembered_crc_is_forgotten_when_the_parameters_change():
    """Long inputs' CRCs are remembered (a flow is hashed per packet); configure starts over."""
    crc = make_hash("crc16_custom")
    key = bytes(range(38))  # a flow key's length
    assert crc(key) == crc(key) == bitwise_crc(key, 16, 0x8005, 0, 0, True, True)
    crc.configure(0x1021, 0xFFFF, 0, True, True)
    assert crc(key) == bitwise_crc(key, 16, 0x1021, 0xFFFF, 0, True, True)
