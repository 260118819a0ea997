"""simple_switch traffic manager semantics: multicast, clones, resubmit, recirculate, digests,
drops, priorities (docs/simple_switch.md after-ingress / after-egress pseudocode)."""

import pytest

from p4nic.nic.device import Device
from programs.v1model import (
    ETHERNET, V1Program, ex, extract, fld, hdr, hexv, prim, rt, sm, traffic_manager,
)

FRAME = bytes.fromhex("000000000001 0000000000aa 0800") + bytes(range(50))


def stamp(data):
    """(instance_type, egress_rid, tag, count, egress_port) written by the egress `stamp`."""
    src = int.from_bytes(data[6:12], "big")
    return (src >> 40, (src >> 24) & 0xffff, (src >> 16) & 0xff, (src >> 8) & 0xff, src & 0xff)


@pytest.fixture
def dev():
    d = Device()
    d.load(traffic_manager().json())
    return d


def choose(dev, table, action, *args):
    dev.state.tables[table].set_default(dev.state.action_ids[action], args)


def test_unicast_normal(dev):
    choose(dev, "ing", "to_port", 3)
    (port, data), = dev.process([(1, FRAME)])
    assert port == 3
    assert stamp(data) == (0, 0, 0, 0, 3)
    assert data[12:] == FRAME[12:]


def test_multicast_replicates_with_rid_and_replication_instance_type(dev):
    dev.state.replication.create_group(5, [(2, 10), (3, 10), (4, 11)])
    choose(dev, "ing", "mcast", 5)
    out = dev.process([(1, FRAME)])
    assert [p for p, _ in out] == [2, 3, 4]
    assert [stamp(d) for _, d in out] == [(5, 10, 0, 0, 2), (5, 10, 0, 0, 3), (5, 11, 0, 0, 4)]


def test_multicast_to_unknown_group_sends_nothing(dev):
    choose(dev, "ing", "mcast", 9)
    assert dev.process([(1, FRAME)]) == []


def test_drop_wins_and_mark_to_drop_clears_mcast(dev):
    choose(dev, "ing", "drop_it")
    assert dev.process([(1, FRAME)]) == []


def test_ingress_clone_gets_original_packet_and_field_list(dev):
    dev.state.replication.create_session(7, [(9, 0)])
    choose(dev, "ing", "clone_i2e", 7, 2)
    out = dev.process([(1, FRAME)])
    by_port = dict(out)
    assert sorted(by_port) == [2, 9]
    # the original: modified etherType, instance NORMAL; the clone: packet as it entered,
    # INGRESS_CLONE, meta.tag preserved through field list 1 (its value at the end of ingress)
    assert by_port[2][12:14] == b"\x12\x34"
    assert stamp(by_port[2]) == (0, 0, 0x77, 0, 2)
    assert by_port[9][12:14] == b"\x08\x00"
    assert stamp(by_port[9]) == (1, 0, 0x77, 0, 9)


def test_clone_to_unconfigured_session_does_nothing_else(dev):
    choose(dev, "ing", "clone_i2e", 8, 2)
    assert [p for p, _ in dev.process([(1, FRAME)])] == [2]


def test_egress_clone_and_clone_session_truncation(dev):
    dev.state.replication.create_session(3, [(6, 1)], packet_length_bytes=20)
    choose(dev, "ing", "to_port", 2)
    choose(dev, "eg_first", "clone_e2e", 3)
    out = dev.process([(1, FRAME)])
    assert [p for p, _ in out] == [2, 6]
    original, clone = out[0][1], out[1][1]
    assert len(original) == len(FRAME) and stamp(original) == (0, 0, 0, 0, 2)
    assert len(clone) == 20
    assert stamp(clone) == (2, 1, 0x99, 0, 6)


def test_resubmit_restarts_ingress_with_field_list(dev):
    choose(dev, "ing", "resub")
    (port, data), = dev.process([(1, FRAME)])
    assert port == 7
    assert stamp(data) == (0, 0, 0x55, 1, 7)
    assert data[12:] == FRAME[12:]


def test_recirculate_reenters_with_deparsed_packet(dev):
    choose(dev, "ing", "to_port", 2)
    choose(dev, "eg_first", "recirc")
    (port, data), = dev.process([(1, FRAME)])
    assert port == 7
    # second pass: RECIRC in ingress (takes `again`: count 1, port 7), NORMAL again in egress
    assert stamp(data) == (0, 0, 0x66, 1, 7)
    assert data[12:] == FRAME[12:]


def test_digest_reaches_on_digest_once_per_batch(dev):
    got = []
    dev.on_digest = lambda lid, name, samples: got.append((lid, name, samples))
    choose(dev, "ing", "digest", 2)
    out = dev.process([(1, FRAME), (4, FRAME)])
    assert [p for p, _ in out] == [2, 2]
    assert got == [(1, "mac_learn", [(0xaa, 1), (0xaa, 4)])]


def test_priority_out_of_range_is_dropped_without_priority_queues(dev):
    choose(dev, "ing", "set_prio", 3, 2)
    assert dev.process([(1, FRAME)]) == []
    queued = Device(priority_queues=8)
    queued.load(traffic_manager().json())
    choose(queued, "ing", "set_prio", 3, 2)
    assert [p for p, _ in queued.process([(1, FRAME)])] == [2]


def test_timestamps_lengths_and_queue_metadata():

    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header_type("obs_t", [["its", 48], ["ets", 48], ["len", 32], ["qid", 8], ["prio", 8]])
    p.header("ethernet", "ethernet_t")
    p.header("obs", "obs_t")
    p.state("start", [extract("ethernet")])
    ing = p.action("ing", [], [
        prim("assign", sm("egress_spec"), hexv(2)),
        prim("assign", sm("priority"), hexv(5)),
        prim("add_header", hdr("obs")),
        prim("assign", fld("obs", "its"), sm("ingress_global_timestamp")),
    ])
    eg = p.action("eg", [], [
        prim("assign", fld("obs", "ets"), sm("egress_global_timestamp")),
        prim("assign", fld("obs", "len"), sm("packet_length")),
        prim("assign", fld("obs", "qid"), fld("standard_metadata", "priority")),
    ])
    p.table("ingress", "i", [], [ing], default=(ing, []))
    p.table("egress", "e", [], [eg], default=(eg, []))
    dev = Device(priority_queues=8)
    dev.load(p.json())
    out = dev.process([(1, FRAME), (1, FRAME)])
    assert [port for port, _ in out] == [2, 2]
    obs = [data[14:14 + 18] for _, data in out]
    its = [int.from_bytes(o[0:6], "big") for o in obs]
    ets = [int.from_bytes(o[6:12], "big") for o in obs]
    assert its[0] <= its[1] and all(i <= e for i, e in zip(its, ets))
    # egress sees the length register: the packet plus the header added in ingress
    assert int.from_bytes(obs[0][12:16], "big") == len(FRAME) + 18
    assert obs[0][16] == 5


def test_queue_depths_reach_the_packet_through_plain_copies():
    """Queueing metadata is computed when only copies of copies of it reach the wire (the
    pipeline skips it when nothing reads it, so each copy must count as a read)."""
    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header_type("meta_t", [["depth", 19], ["again", 19]])
    p.header("ethernet", "ethernet_t")
    p.header("meta", "meta_t", metadata=True)
    p.state("start", [extract("ethernet")])
    ing = p.action("ing", [], [prim("assign", sm("egress_spec"), hexv(2))])
    eg = p.action("eg", [], [
        prim("assign", fld("meta", "depth"), sm("enq_qdepth")),
        prim("assign", fld("meta", "again"), fld("meta", "depth")),
        prim("assign", fld("ethernet", "etherType"), fld("meta", "again")),
    ])
    p.table("ingress", "i", [], [ing], default=(ing, []))
    p.table("egress", "e", [], [eg], default=(eg, []))
    dev = Device()
    dev.load(p.json())
    out = dev.process([(1, FRAME)] * 3)
    # the packets found 0, 1 and 2 packets ahead of them in port 2's queue
    assert [int.from_bytes(data[12:14], "big") for _, data in out] == [0, 1, 2]


def test_trace_says_why_a_packet_was_dropped():
    lines = []
    dev = Device(logger=lines.append)
    dev.load(traffic_manager().json())
    choose(dev, "ing", "drop_it")
    assert dev.process([(1, FRAME)]) == []
    assert any("Dropping packet at the end of ingress" in line for line in lines)
    assert any("Applying table 'ing'" in line for line in lines)


def test_a_packet_that_recirculates_forever_is_stopped():

    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header("ethernet", "ethernet_t")
    p.state("start", [extract("ethernet")])
    p.field_lists.append({"id": 1, "name": "none", "elements": []})
    again = p.action("again", [], [prim("recirculate", hexv(1))])
    p.table("egress", "e", [], [again], default=(again, []))
    dev = Device()
    dev.load(p.json())
    assert dev.process([(1, FRAME), (1, FRAME)]) == []


def test_parser_and_deparser_primitives():

    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header("ethernet", "ethernet_t")
    p.header("copy", "ethernet_t")
    p.state("start", [extract("ethernet"), {"op": "primitive", "parameters": [
        prim("assign_header", hdr("copy"), hdr("ethernet"))]}])
    prog = p.json()
    prog["deparsers"][0]["primitives"] = [prim("assign", fld("copy", "etherType"), hexv(0xBEEF))]
    dev = Device()
    dev.load(prog)
    (port, data), = dev.process([(1, FRAME)])
    assert data[:14] == FRAME[:14]
    assert data[14:26] == FRAME[:12] and data[26:28] == b"\xbe\xef"
    assert data[28:] == FRAME[14:]


@pytest.mark.parametrize("pipe,primitive", [
    ("ingress", "resubmit"),
    ("egress", "clone_egress_pkt_to_egress"),
])
def test_endless_resubmit_or_egress_clone_chain_is_stopped(pipe, primitive):

    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header("ethernet", "ethernet_t")
    p.state("start", [extract("ethernet")])
    p.field_lists.append({"id": 1, "name": "none", "elements": []})
    params = [hexv(1)] if primitive == "resubmit" else [hexv(4), hexv(1)]
    again = p.action("again", [], [prim(primitive, *params)])
    p.table(pipe, "t", [], [again], default=(again, []))
    dev = Device()
    dev.load(p.json())
    dev.state.replication.create_session(4, [(2, 0)])
    out = dev.process([(1, FRAME)])
    assert len(out) < 2000  # it ends; egress clones may leave before the cut


def test_packet_length_of_original_and_ingress_clone_after_remove_header():
    """The original's length register shrinks with remove_header; the clone, re-parsed from
    the packet as received, keeps the received length (simple_switch ingress cloning)."""

    p = V1Program()
    p.header_type("a_t", [["f1", 8], ["f2", 8]])
    p.header("a", "a_t")
    p.header("a2", "a_t")
    p.state("start", [extract("a"), extract("a2")])
    act = p.action("shrink_and_clone", [("port", 9)], [
        prim("assign", sm("egress_spec"), rt(0)),
        prim("remove_header", hdr("a2")),
        prim("clone_ingress_pkt_to_egress", hexv(1), hexv(0)),
    ])
    show = p.action("show", [], [prim("assign", fld("a", "f2"),
                                      ex("&", sm("packet_length"), hexv(0xFF)))])
    p.table("ingress", "i", [], [act], default=(act, [2]))
    p.table("egress", "e", [], [show], default=(show, []))
    dev = Device()
    dev.load(p.json())
    dev.state.replication.create_session(1, [(3, 0)])
    out = dict(dev.process([(1, b"\x03\x00\x00\x00")]))
    assert out == {2: b"\x03\x02", 3: b"\x03\x04\x00\x00"}

