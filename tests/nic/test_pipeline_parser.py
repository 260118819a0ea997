"""Parser features of the generated code: stacks, varbit, lookahead, advance, verify, value sets,
masks, unions, parser errors into standard_metadata.parser_error, checksum verification."""

import pytest

from p4nic.nic.device import Device
from p4nic.nic.program import ProgramError
from programs.v1model import (
    ETHERNET, V1Program, ethernet_ipv4, ex, extract, fld, hdr, hexv, ipv4_checksum, prim, sm,
    stack,
)

ETH_HDR = bytes.fromhex("000000000001 000000000002")
ERR = {"NoError": 0, "PacketTooShort": 1, "NoMatch": 2, "StackOutOfBounds": 3,
       "HeaderTooShort": 4, "ParserInvalidArgument": 6, "MyError": 7}


def observe(p: V1Program, *primitives):
    """Ingress: egress_spec 1, then `primitives`; ethernet.dstAddr = parser_error:16 |
    checksum_error:8 so each test can read both back from the frame."""
    act = p.action("observe", [], [
        prim("assign", sm("egress_spec"), hexv(1)),
        prim("assign", fld("ethernet", "dstAddr"),
             ex("|", ex("<<", sm("parser_error"), hexv(8)), sm("checksum_error"))),
        *primitives,
    ])
    p.table("ingress", "obs", [], [act], default=(act, []))


def errors_of(data):
    dst = int.from_bytes(data[:6], "big")
    return dst >> 8, dst & 0xFF


def run(p, frame):
    dev = Device()
    dev.load(p.json())
    out = dev.process([(0, frame)])
    assert len(out) == 1
    return out[0][1]


# ---- header stacks ---------------------------------------------------------------------------


def mpls_program(*primitives):
    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header_type("mpls_t", [["label", 20], ["tc", 3], ["bos", 1], ["ttl", 8]])
    p.header("ethernet", "ethernet_t")
    p.header_stack("mpls", "mpls_t", 3)
    p.state("start", [extract("ethernet")], [fld("ethernet", "etherType")],
            [("0x8847", "parse_mpls"), (None, None)])
    p.state("parse_mpls", [{"op": "extract", "parameters": [{"type": "stack", "value": "mpls"}]}],
            [{"type": "stack_field", "value": ["mpls", "bos"]}], [("0x00", "parse_mpls"),
                                                                   (None, None)])
    observe(p, prim("assign", fld("ethernet", "srcAddr"),
                    ex("size_stack", None, stack("mpls"))), *primitives)
    return p


def label(value, bos, ttl=64):
    return ((value << 12) | (bos << 8) | ttl).to_bytes(4, "big")


def test_stack_extracts_until_bottom_of_stack():
    frame = ETH_HDR + b"\x88\x47" + label(10, 0) + label(20, 1) + b"data"
    out = run(mpls_program(), frame)
    assert errors_of(out) == (ERR["NoError"], 0)
    assert int.from_bytes(out[6:12], "big") == 2  # size_stack
    assert out[12:] == frame[12:]


def test_stack_overflow_is_stack_out_of_bounds():
    frame = ETH_HDR + b"\x88\x47" + b"".join(label(i, 0) for i in range(4)) + b"data"
    out = run(mpls_program(), frame)
    assert errors_of(out)[0] == ERR["StackOutOfBounds"]
    assert out[12:] == frame[12:]  # 3 labels parsed and deparsed, the rest is payload


def test_push_and_pop_front_follow_p4_16_stacks():
    frame = ETH_HDR + b"\x88\x47" + label(10, 0) + label(20, 1) + b"data"
    # push_front(1): [new(invalid) 10 20]; make mpls[0] valid with label 5
    out = run(mpls_program(prim("push", stack("mpls"), hexv(1)),
                           prim("add_header", hdr("mpls[0]")),
                           prim("assign", fld("mpls[0]", "label"), hexv(5))), frame)
    assert out[14:26] == label(5, 0, 0) + label(10, 0) + label(20, 1)
    out = run(mpls_program(prim("pop", stack("mpls"), hexv(1))), frame)
    assert out[14:] == label(20, 1) + b"data"


def test_stack_element_by_runtime_index_and_out_of_range_write_is_ignored():
    frame = ETH_HDR + b"\x88\x47" + label(10, 0) + label(20, 1) + b"data"
    elem = {"type": "expression", "value": {
        "op": "access_field", "left": {"type": "expression", "value": {
            "op": "dereference_header_stack", "left": stack("mpls"),
            "right": fld("ethernet", "etherType")}}, "right": 3}}  # ttl of mpls[etherType]
    p = mpls_program(prim("assign", fld("ethernet", "etherType"), hexv(1)),
                     prim("assign", elem, hexv(7)),
                     prim("assign", fld("ethernet", "etherType"), hexv(9)),
                     prim("assign", elem, hexv(8)))
    out = run(p, frame)
    assert out[14:22] == label(10, 0) + label(20, 1, ttl=7)


def test_stack_field_of_last_and_assign_header_stack():
    p = mpls_program()
    p.header_stack("mpls2", "mpls_t", 3)
    p.deparse_order.remove("mpls2[0]"), p.deparse_order.remove("mpls2[1]")
    p.deparse_order.remove("mpls2[2]")
    p.actions[-1]["primitives"] += [
        prim("assign_header_stack", stack("mpls2"), stack("mpls")),
        prim("assign", fld("ethernet", "etherType"),
             {"type": "stack_field", "value": ["mpls2", "label"]}),
    ]
    frame = ETH_HDR + b"\x88\x47" + label(10, 0) + label(0x1234, 1) + b"data"
    out = run(p, frame)
    assert out[12:14] == b"\x12\x34"


# ---- variable-length headers -------------------------------------------------------------------


def varbit_program(*primitives):
    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header_type("len_t", [["len", 8]])
    p.header_type("opt_t", [["kind", 8], ["data", "*"]], length_exp=None, max_length=5)
    p.header("ethernet", "ethernet_t")
    p.header("l", "len_t")
    p.header("opt", "opt_t")
    p.header("opt2", "opt_t")
    vl = {"op": "extract_VL", "parameters": [
        {"type": "regular", "value": "opt"},
        ex("<<", fld("l", "len"), hexv(3))]}
    p.state("start", [extract("ethernet"), extract("l"), vl])
    observe(p, *primitives)
    return p


def test_varbit_extract_and_deparse_round_trip():
    frame = ETH_HDR + b"\x00\x00" + b"\x03" + b"\x07abc" + b"rest"
    out = run(varbit_program(), frame)
    assert errors_of(out) == (0, 0)
    assert out[12:] == frame[12:]


def test_varbit_too_long_for_max_length_is_header_too_short():
    frame = ETH_HDR + b"\x00\x00" + b"\x05" + b"\x07abcde" + b"rest"
    out = run(varbit_program(), frame)
    assert errors_of(out)[0] == ERR["HeaderTooShort"]


def test_varbit_past_the_end_is_packet_too_short():
    frame = ETH_HDR + b"\x00\x00" + b"\x04" + b"\x07ab"
    out = run(varbit_program(), frame)
    assert errors_of(out)[0] == ERR["PacketTooShort"]
    assert out[12:] == frame[12:]


def test_assign_vl_copies_value_and_width():
    frame = ETH_HDR + b"\x00\x00" + b"\x02" + b"\x07ab" + b"rest"
    out = run(varbit_program(prim("add_header", hdr("opt2")),
                             prim("assign_VL", fld("opt2", "data"), fld("opt", "data"))), frame)
    assert out[12:] == b"\x00\x00" + b"\x02" + b"\x07ab" + b"\x00ab" + b"rest"


# ---- lookahead, advance, set, verify, masks, value sets ------------------------------------------


def test_lookahead_select_set_and_advance():
    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header_type("meta_t", [["peek", 16], ["skip", 32]])
    p.header("ethernet", "ethernet_t")
    p.header("meta", "meta_t", metadata=True)
    p.state("start", [
        extract("ethernet"),
        {"op": "set", "parameters": [fld("meta", "peek"), {"type": "lookahead", "value": [4, 16]}]},
    ], [{"type": "lookahead", "value": [0, 8]}], [("0xaa", "skip"), (None, None)])
    p.state("skip", [
        {"op": "set", "parameters": [fld("meta", "skip"), hexv(16)]},
        {"op": "advance", "parameters": [fld("meta", "skip")]},
    ])
    observe(p, prim("assign", fld("ethernet", "srcAddr"), fld("meta", "peek")))
    out = run(p, ETH_HDR + b"\x00\x00" + b"\xab\xcd\xef" + b"zz")
    # lookahead of 16 bits at bit offset 4 of "abcdef" -> 0xbcde; select saw 0xab -> not 0xaa
    assert int.from_bytes(out[6:12], "big") == 0xBCDE
    out = run(p, ETH_HDR + b"\x00\x00" + b"\xaa\xcd" + b"zz")
    # BMv2 advance consumes the bytes: they are not deparsed
    assert out[14:] == b"zz"
    out = run(p, ETH_HDR + b"\x00\x00" + b"\xaa")
    assert errors_of(out)[0] == ERR["PacketTooShort"]  # advance past the end


def test_verify_raises_the_program_error_value():
    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header("ethernet", "ethernet_t")
    p.state("start", [extract("ethernet"), {"op": "verify", "parameters": [
        ex("!=", fld("ethernet", "etherType"), hexv(0xFFFF)), hexv(7)]}])
    observe(p)
    prog = p.json()
    prog["errors"].append(["MyError", 7])
    dev = Device()
    dev.load(prog)
    (port, out), = dev.process([(0, ETH_HDR + b"\xff\xff")])
    assert errors_of(out)[0] == ERR["MyError"]
    (port, out), = dev.process([(0, ETH_HDR + b"\x08\x00")])
    assert errors_of(out)[0] == ERR["NoError"]


def select_program(transitions, vsets=()):
    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header_type("tag_t", [["v", 16]])
    p.header("ethernet", "ethernet_t")
    p.header("tag", "tag_t")
    p.state("start", [extract("ethernet")], [fld("ethernet", "etherType")], transitions)
    p.state("parse_tag", [extract("tag")])
    p.parse_vsets.extend(vsets)
    observe(p, prim("assign", fld("ethernet", "srcAddr"),
                    ex("b2d", None, ex("valid", None, hdr("tag")))))
    return p


def took_tag(dev, ether_type):
    (port, out), = dev.process([(0, ETH_HDR + ether_type.to_bytes(2, "big") + b"\x12\x34")])
    return int.from_bytes(out[6:12], "big") == 1


def test_masked_transition():
    dev = Device()
    dev.load(select_program([{"type": "hexstr", "value": "0x8100", "mask": "0xff00",
                              "next_state": "parse_tag"}, (None, None)]).json())
    assert took_tag(dev, 0x81AB) and not took_tag(dev, 0x8200)


def test_no_matching_case_and_no_default_ends_parsing_without_error():
    dev = Device()
    dev.load(select_program([("0x8100", "parse_tag")]).json())
    (port, out), = dev.process([(0, ETH_HDR + b"\x08\x00" + b"xy")])
    assert errors_of(out)[0] == ERR["NoError"]
    assert out[12:] == b"\x08\x00xy"


def test_parse_value_set_is_read_at_packet_time():
    dev = Device()
    vs = [{"name": "pvs", "id": 0, "compressed_bitwidth": 16}]
    dev.load(select_program([{"type": "parse_vset", "value": "pvs", "mask": None,
                              "next_state": "parse_tag"}, (None, None)], vs).json())
    assert not took_tag(dev, 0x9000)
    dev.state.value_sets["pvs"].add(0x9000)
    assert took_tag(dev, 0x9000) and not took_tag(dev, 0x9001)
    dev.state.value_sets["pvs"].add(0x7000, 0xF000)
    assert took_tag(dev, 0x7ABC)


# ---- unions ----------------------------------------------------------------------------------


def test_header_union_members_are_exclusive():
    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header_type("a_t", [["x", 8]])
    p.header_type("b_t", [["y", 16]])
    p.header("ethernet", "ethernet_t")
    p.header("u.a", "a_t")
    p.header("u.b", "b_t")
    p.union_types.append({"name": "u_t", "id": 0, "headers": [["a", "a_t"], ["b", "b_t"]]})
    p.unions.append({"name": "u", "id": 0, "union_type": "u_t", "header_ids": [1 + 1, 1 + 2]})
    p.state("start", [extract("ethernet")], [fld("ethernet", "etherType")],
            [("0x0001", "pa"), ("0x0002", "pb"), (None, None)])
    p.state("pa", [extract("u.a")])
    p.state("pb", [extract("u.b")])
    # making b valid must invalidate a
    observe(p, prim("add_header", hdr("u.b")),
            prim("assign", fld("ethernet", "srcAddr"),
                 ex("b2d", None, ex("valid_union", None, {"type": "header_union", "value": "u"}))))
    out = run(p, ETH_HDR + b"\x00\x01" + b"\x42" + b"tail")
    assert int.from_bytes(out[6:12], "big") == 1
    assert out[14:] == b"\x00\x00" + b"tail"  # u.a (parsed 0x42) invalid, u.b zeroed


# ---- checksum verification and errors ------------------------------------------------------


def test_checksum_verify_sets_checksum_error():
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    p = V1Program()
    ethernet_ipv4(p)
    ipv4_checksum(p, verify=True, update=False)
    observe(p)
    dev = Device()
    dev.load(p.json())
    good = bytes(Ether() / IP(dst="1.2.3.4") / UDP())
    bad = bytearray(good)
    bad[24] ^= 0xFF
    assert errors_of(dev.process([(0, good)])[0][1]) == (0, 0)
    assert errors_of(dev.process([(0, bytes(bad))])[0][1]) == (0, 1)


@pytest.mark.parametrize("mutate,message", [
    (lambda j: j["parsers"][0]["parse_states"][0]["parser_ops"].append({"op": "jump"}),
     "unsupported parser op 'jump'"),
    (lambda j: j["parsers"][0]["parse_states"][0]["transitions"][0].update(next_state="nowhere"),
     "unknown next_state 'nowhere'"),
    (lambda j: j["parsers"][0]["parse_states"][0]["parser_ops"][0]["parameters"][0].update(
        value="ghost"), "unknown header 'ghost'"),
    (lambda j: j["parsers"].clear(), "needs a parser named 'parser'"),
])
def test_bad_parsers_are_program_errors(mutate, message):
    p = V1Program()
    ethernet_ipv4(p)
    observe(p)
    prog = p.json()
    mutate(prog)
    with pytest.raises(ProgramError, match=message):
        Device().load(prog)


def union_stack_program(*primitives):
    """Options as a stack of unions {short: 1 byte kind, long: kind + 1 byte value}, parsed
    until kind 0; ingress gets `primitives`."""
    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header_type("short_t", [["kind", 8]])
    p.header_type("long_t", [["kind", 8], ["value", 8]])
    p.header("ethernet", "ethernet_t")
    p.union_types.append({"name": "opt_t", "id": 0,
                          "headers": [["short", "short_t"], ["long", "long_t"]]})
    ids = []
    for i in range(3):
        a = p.header(f"opts[{i}].short", "short_t")
        b = p.header(f"opts[{i}].long", "long_t")
        p.unions.append({"name": f"opts[{i}]", "id": i, "union_type": "opt_t",
                         "header_ids": [a, b]})
        ids.append(i)
    p.header("copy.short", "short_t")
    p.header("copy.long", "long_t")
    p.unions.append({"name": "copy", "id": 3, "union_type": "opt_t",
                     "header_ids": [len(p.headers) - 2, len(p.headers) - 1]})
    p.union_stacks.append({"name": "opts", "id": 0, "union_type": "opt_t",
                           "header_union_ids": ids})

    def extract_to(member):
        return {"op": "extract", "parameters": [
            {"type": "union_stack", "value": ["opts", member]}]}

    p.state("start", [extract("ethernet")], [{"type": "lookahead", "value": [0, 8]}],
            [("0x01", "long"), ("0x00", "last"), (None, "short")])
    p.state("short", [extract_to("short")],
            [{"type": "union_stack_field", "value": ["opts", "short", "kind"]}],
            [(None, "start2")])
    p.state("long", [extract_to("long")], transitions=[(None, "start2")])
    p.state("start2", [], [{"type": "lookahead", "value": [0, 8]}],
            [("0x01", "long"), ("0x00", "last"), (None, "short")])
    p.state("last", [extract_to("short")])
    observe(p, *primitives)
    return p


def test_union_stack_extract_and_assign_union():
    union = {"type": "expression", "value": {
        "op": "dereference_union_stack", "left": {"type": "header_union_stack", "value": "opts"},
        "right": hexv(1)}}
    p = union_stack_program(
        prim("assign_union", {"type": "header_union", "value": "copy"}, union),
        prim("assign", fld("ethernet", "srcAddr"), {"type": "expression", "value": {
            "op": "access_field", "left": {"type": "expression", "value": {
                "op": "access_union_header", "left": union, "right": 1}}, "right": 1}}))
    # options: short(5), long(1, 0x77), end(0)
    frame = ETH_HDR + b"\x08\x00" + b"\x05" + b"\x01\x77" + b"\x00" + b"tail"
    out = run(p, frame)
    assert errors_of(out)[0] == 0
    assert int.from_bytes(out[6:12], "big") == 0x77  # opts[1].long.value
    # deparse order: opts[0..2] members, then copy.short, copy.long (the copy of opts[1])
    assert out[14:] == b"\x05" + b"\x01\x77" + b"\x00" + b"\x01\x77" + b"tail"


def test_plain_extract_of_varbit_header_uses_its_length_exp():
    """P4_14-style JSON: the header type's length_exp reads a field of the header itself."""
    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header_type("opt_t", [["len", 8], ["data", "*"]], max_length=9,
                  length_exp=ex("<<", fld("opt", "len"), hexv(3)))
    p.header("ethernet", "ethernet_t")
    p.header("opt", "opt_t")
    p.state("start", [extract("ethernet"), extract("opt")])
    observe(p)
    frame = ETH_HDR + b"\x00\x00" + b"\x03abc" + b"rest"
    out = run(p, frame)
    assert errors_of(out) == (0, 0)
    assert out[12:] == frame[12:]
    out = run(p, ETH_HDR + b"\x00\x00" + b"\x09abc")
    assert errors_of(out)[0] == ERR["PacketTooShort"]


def test_parser_loop_that_consumes_nothing_times_out():
    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header("ethernet", "ethernet_t")
    p.state("start", [extract("ethernet")], transitions=[(None, "spin")])
    p.state("spin", [], [{"type": "lookahead", "value": [0, 8]}],
            [("0x00", "spin"), (None, None)])
    observe(p)
    out = run(p, ETH_HDR + b"\x00\x00" + b"\x00\x01")
    assert errors_of(out)[0] == 5  # ParserTimeout, instead of hanging like BMv2
    assert run(p, ETH_HDR + b"\x00\x00" + b"\x07")[12:] == b"\x00\x00\x07"


@pytest.mark.parametrize("kind", ["generic", "ipv4"])
def test_checksum_verify_skips_an_invalid_target_and_ipv4_type_matches(kind):
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    p = V1Program()
    ethernet_ipv4(p)
    ipv4_checksum(p, verify=True, update=True)
    observe(p, prim("assign", fld("ipv4", "ttl"), hexv(9)))
    prog = p.json()
    prog["checksums"][0]["if_cond"] = None  # only the target's validity guards it
    if kind == "ipv4":
        prog["checksums"][0].update(type="ipv4", calculation=None)
    dev = Device()
    dev.load(prog)
    arp = ETH_HDR + b"\x08\x06" + bytes(28)
    assert errors_of(dev.process([(0, arp)])[0][1]) == (0, 0)
    good = bytes(Ether() / IP(dst="1.2.3.4") / UDP())
    (port, out), = dev.process([(0, good)])
    assert errors_of(out) == (0, 0)
    ip = IP(out[14:])
    sent = ip.chksum
    del ip.chksum
    assert ip.ttl == 9 and IP(bytes(ip)).chksum == sent


def test_a_very_deep_parse_graph_still_compiles():
    """80 states chained through selects: deeper than Python lets blocks nest."""
    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header_type("b_t", [["v", 8]])
    p.header("ethernet", "ethernet_t")
    p.state("start", [extract("ethernet")], transitions=[(None, "s0")])
    for i in range(80):
        p.header(f"b{i}", "b_t")
        nxt = f"s{i + 1}" if i + 1 < 80 else None
        p.state(f"s{i}", [extract(f"b{i}")], [fld(f"b{i}", "v")], [("0x01", nxt), (None, None)])
    observe(p)
    out = run(p, ETH_HDR + b"\x00\x00" + b"\x01" * 80 + b"end")
    assert errors_of(out)[0] == 0 and out[14:] == b"\x01" * 80 + b"end"


# ---- field layouts ---------------------------------------------------------------------------


def test_awkward_field_layouts_parse_and_deparse_bit_exact():
    """Fields off byte boundaries, wider than 64 bits, signed, and of odd byte counts (parsed
    and written back through struct in byte-aligned units) come out as they went in, and each
    field reads back its own bits."""
    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header_type("odd_t", [["a", 4], ["b", 128], ["c", 4], ["d", 48], ["e", 3], ["f", 13],
                            ["g", 24], ["h", 7], ["i", 9], ["j", 16, True]])
    p.header("ethernet", "ethernet_t")
    p.header("odd", "odd_t")
    p.state("start", [extract("ethernet"), extract("odd")], [], [(None, None)])
    # the ethernet source address shows d + 1, so a field read is checked, not only the bytes
    observe(p, prim("assign", fld("ethernet", "srcAddr"), ex("+", fld("odd", "d"), hexv(1))))
    odd = bytes(range(0x81, 0x81 + 35))  # 280 bits; high bits set, so j is negative
    out = run(p, ETH_HDR + b"\x08\x00" + odd + b"tail")
    assert out[14:] == odd + b"tail"
    d = int.from_bytes(odd, "big") >> (280 - 4 - 128 - 4 - 48) & (1 << 48) - 1
    assert int.from_bytes(out[6:12], "big") == d + 1
