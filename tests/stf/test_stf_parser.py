"""The STF reader: every command form p4c's STF tests use, and clear errors for bad lines."""
import glob

import pytest

from p4nic.stf.parser import STFError, parse_stf

SAMPLE = """
# a comment line
ADD ipv4_lpm hdr.ipv4.dstAddr:0x0a000000/8 MyIngress.forward(port:2, mac:0x00aabbccddee) = R1
add acl 10 h.$valid$:1 key.f:0x0a**  drop()   # trailing comment
setdefault ipv4_lpm drop()
packet 1 0000 0000 0001   0000 0000 0002 0800
expect 2 00AABBCCDDEE **** $
expect 3
no_packet
wait
remove all
check_counter cnt(3) bytes >= 128
check_counter cnt($R1)
mc_mgrp_create 1
mc_node_create 0 1 2 3
mc_node_associate 1 0
mirroring_add 5 4
register_write r 0 0x10
meter_array_set_rates m 0.0001:1 0.0005:1
"""


def test_every_command_form():
    cmds = parse_stf(SAMPLE, "t.stf")
    names = [c.name for c in cmds]
    assert names == ["add", "add", "setdefault", "packet", "expect", "expect", "no_packet", "wait",
                     "remove_all", "check_counter", "check_counter", "mc_mgrp_create",
                     "mc_node_create", "mc_node_associate", "mirroring_add", "register_write",
                     "meter_array_set_rates"]
    add = cmds[0].args
    assert cmds[0].line == 3
    assert add == {"table": "ipv4_lpm", "priority": None,
                   "matches": [("hdr.ipv4.dstAddr", ("0x0a000000", "8"))],
                   "action": "MyIngress.forward", "action_args": [("port", "2"), ("mac", "0x00aabbccddee")],
                   "entry_name": "R1"}
    assert cmds[1].args["priority"] == 10
    assert cmds[1].args["matches"] == [("h.$valid$", "1"), ("key.f", "0x0a**")]
    assert cmds[1].args["action_args"] == []
    assert cmds[3].args == {"port": 1, "data": bytes.fromhex("000000000001000000000002 0800")}
    assert cmds[4].args == {"port": 2, "pattern": "00AABBCCDDEE****", "exact_length": True}
    assert cmds[5].args == {"port": 3, "pattern": None, "exact_length": False}
    assert cmds[9].args == {"counter": "cnt", "index": "3", "kind": "bytes", "comparison": ">=",
                            "value": "128"}
    assert cmds[10].args["index"] == "$R1" and cmds[10].args["comparison"] == "=="
    assert cmds[12].args["values"] == ["0", "1", "2", "3"]
    assert cmds[16].args["values"] == ["m", ("0.0001", "1"), ("0.0005", "1")]


@pytest.mark.parametrize("text, message", [
    ("frobnicate 1", "unknown command 'frobnicate'"),
    ("packet x 00", "packet needs a port number"),
    ("packet 0 0g", "invalid packet data '0g'"),
    ("packet 0 000", "odd number of hex digits"),
    ("expect 0 00$ 11", "'$' may only end the expected packet"),
    ("add t f:1 a(", "expected a parameter name, found end of line"),
    ("add t a()", "add needs at least one FIELD:VALUE key"),
    ("add t f:1 a() extra", "unexpected 'extra'"),
    ("check_counter c(1) packets ~ 3", "unexpected character '~'"),
    ("mc_node_create 1", "expected a number, found end of line"),
    ("remove one", "expected 'all', found 'one'"),
])
def test_bad_lines_name_file_and_line(text, message):
    with pytest.raises(STFError) as e:
        parse_stf("\n" * 4 + text, "t.stf")
    assert str(e.value).startswith("t.stf:5: ")
    assert message in str(e.value)


def test_reads_every_p4c_sample_stf():
    files = sorted(glob.glob("/work/ref/testdata/p4_16_samples/*.stf"))
    if not files:
        pytest.skip("p4c's test data is not on this machine")
    total = sum(len(parse_stf(open(f).read(), f)) for f in files)
    assert total > 1500
