"""Control flow of generated pipelines: table apply with every match kind, hit/miss and
action_run switches, conditionals with joins, action calls, direct counters and meters, action
profiles and selectors, const entries."""

import pytest

from p4nic.nic.device import Device
from p4nic.nic.program import ProgramError
from programs.v1model import ETHERNET, V1Program, ex, extract, fld, hexv, prim, rt, sm

ETH = "ethernet"


def base():
    """ethernet only; ingress is built by each test. Action ids: 0 NoAction, 1 set_src(v),
    2 set_type(v), 3 port(p)."""
    p = V1Program()
    p.header_type("ethernet_t", ETHERNET)
    p.header("ethernet", "ethernet_t")
    p.state("start", [extract("ethernet")])
    p.action("set_src", [("v", 48)], [prim("assign", fld(ETH, "srcAddr"), rt(0))])
    p.action("set_type", [("v", 16)], [prim("assign", fld(ETH, "etherType"), rt(0))])
    p.action("port", [("p", 9)], [prim("assign", sm("egress_spec"), rt(0))])
    return p


def frame(dst=1, src=2, etype=0x0800):
    return dst.to_bytes(6, "big") + src.to_bytes(6, "big") + etype.to_bytes(2, "big") + b"data"


def fields(data):
    return (int.from_bytes(data[:6], "big"), int.from_bytes(data[6:12], "big"),
            int.from_bytes(data[12:14], "big"))


def load(p):
    dev = Device()
    dev.load(p.json())
    return dev


def send(dev, f=None, port=0):
    out = dev.process([(port, f or frame())])
    return out[0] if out else None


def test_action_run_switch_picks_the_next_table_per_action():
    p = base()
    p.table("ingress", "t", [("exact", [ETH, "dstAddr"])], [1, 2],
            next_tables={"set_src": "after_src", "set_type": "after_type"})
    p.table("ingress", "after_src", [], [3], default=(3, [5]))
    p.table("ingress", "after_type", [], [3], default=(3, [6]))
    dev = load(p)
    t = dev.state.tables["t"]
    t.add([(1,)], 1, (0xAA,))
    t.add([(2,)], 2, (0xBBBB,))
    assert send(dev, frame(dst=1))[0] == 5
    port, data = send(dev, frame(dst=2))
    assert port == 6 and fields(data)[2] == 0xBBBB
    # a miss with no default action follows base_default_next (None: end of ingress)
    assert send(dev, frame(dst=3))[0] == 0


def test_hit_and_miss_branches():
    p = base()
    p.table("ingress", "t", [("exact", [ETH, "dstAddr"])], [1, 0],
            next_tables={"__HIT__": "on_hit", "__MISS__": "on_miss"}, default=(0, []))
    p.table("ingress", "on_hit", [], [3], default=(3, [7]))
    p.table("ingress", "on_miss", [], [3], default=(3, [8]))
    dev = load(p)
    dev.state.tables["t"].add([(1,)], 1, (9,))
    assert send(dev, frame(dst=1))[0] == 7
    assert send(dev, frame(dst=2))[0] == 8


def test_conditionals_branch_and_join():
    p = base()
    p.conditional("ingress", "c1", ex("==", fld(ETH, "dstAddr"), hexv(1)), "a", "b")
    p.init["ingress"] = "c1"
    p.table("ingress", "a", [], [1], default=(1, [0x11]), base_default_next="join")
    p.table("ingress", "b", [], [1], default=(1, [0x22]), base_default_next="join")
    p.table("ingress", "join", [], [3], default=(3, [4]))
    dev = load(p)
    port, data = send(dev, frame(dst=1))
    assert port == 4 and fields(data)[1] == 0x11
    port, data = send(dev, frame(dst=5))
    assert port == 4 and fields(data)[1] == 0x22


def test_action_calls_run_without_a_table():
    p = base()
    prog = p.json()
    prog["pipelines"][0]["action_calls"] = [
        {"name": "call1", "id": 0, "action_id": 3, "next_node": None}]
    prog["actions"][3]["runtime_data"] = []
    prog["actions"][3]["primitives"] = [prim("assign", sm("egress_spec"), hexv(9))]
    prog["pipelines"][0]["init_table"] = "call1"
    dev = Device()
    dev.load(prog)
    assert dev.process([(0, frame())])[0][0] == 9


@pytest.mark.parametrize("kind,entries,probes", [
    ("ternary", [((0x0800, 0xFF00), 10, 1), ((0x0806, 0xFFFF), 20, 2)],
     [(0x0806, 2), (0x08AA, 1), (0x0900, None)]),
    ("range", [((0x0600, 0x06FF), 1, 1), ((0x0650, 0x0660), 5, 2)],
     [(0x0655, 2), (0x0601, 1), (0x0700, None)]),
    ("exact", [((0x0800,), None, 1)], [(0x0800, 1), (0x0801, None)]),
    ("lpm", [((0x0800, 8), None, 1), ((0x0880, 12), None, 2)],
     [(0x0885, 2), (0x0811, 1), (0x0911, None)]),
])
def test_match_kinds(kind, entries, probes):
    p = base()
    p.table("ingress", "t", [(kind, [ETH, "etherType"])], [3], default=(3, [0]))
    dev = load(p)
    t = dev.state.tables["t"]
    for match, prio, port in entries:
        t.add([match], 3, (port,), priority=prio)
    for etype, port in probes:
        assert send(dev, frame(etype=etype))[0] == (port or 0)


def test_valid_key_and_static_key_mask():
    p = base()
    p.table("ingress", "t", [("valid", ETH), ("exact", [ETH, "srcAddr"], "0x0000000000ff")],
            [3], default=(3, [0]))
    dev = load(p)
    dev.state.tables["t"].add([(1,), (0x22,)], 3, (5,))
    assert send(dev, frame(src=0x1122))[0] == 5  # srcAddr & 0xff == 0x22


def test_direct_counters_and_idle_time_see_hits_only():
    p = base()
    p.table("ingress", "t", [("exact", [ETH, "dstAddr"])], [3], default=(3, [0]),
            with_counters=True, support_timeout=True)
    dev = load(p)
    t = dev.state.tables["t"]
    handle = t.add([(1,)], 3, (2,))
    before = t.get(handle).last_hit
    dev.process([(0, frame(dst=1)), (0, frame(dst=1)), (0, frame(dst=2))])
    assert t.direct_counter(handle) == (2 * len(frame()), 2)
    assert t.get(handle).last_hit >= before


def test_direct_meter_writes_its_result_target():
    p = base()
    p.header_type("meta_t", [["color", 8]])
    p.header("meta", "meta_t", metadata=True)
    p.meters.append({"name": "dm", "id": 0, "is_direct": True, "binding": "t", "size": 16,
                     "rate_count": 2, "type": "packets", "result_target": ["meta", "color"]})
    p.action("show", [], [prim("assign", fld(ETH, "srcAddr"), fld("meta", "color"))])
    p.table("ingress", "t", [("exact", [ETH, "dstAddr"])], [3], default=(3, [0]),
            direct_meters="dm", base_default_next="s")
    p.table("ingress", "s", [], [4], default=(4, []))
    dev = load(p)
    t = dev.state.tables["t"]
    h = t.add([(1,)], 3, (2,))
    t.set_direct_meter(h, [(1, 1), (1, 1)])  # 1 packet/s, burst 1: the burst then red
    colours = [fields(send(dev, frame(dst=1))[1])[1] for _ in range(3)]
    assert colours[0] == 0 and colours[-1] == 2


def test_indirect_table_with_member_and_selector_group():
    p = base()
    prog_profiles = [{"name": "ap", "id": 0, "max_size": 16,
                      "selector": {"algo": "crc16", "input": [fld(ETH, "srcAddr")]}}]
    p.table("ingress", "t", [("exact", [ETH, "dstAddr"])], [3], type="indirect_ws",
            action_profile="ap")
    prog = p.json()
    prog["pipelines"][0]["action_profiles"] = prog_profiles
    dev = Device()
    dev.load(prog)
    ap = dev.state.action_profiles["ap"]
    ap.add_member(1, 3, (11,))
    ap.add_member(2, 3, (12,))
    ap.add_group(7, members=[1, 2])
    t = dev.state.tables["t"]
    t.add([(1,)], member_id=1)
    t.add([(2,)], group_id=7)
    assert send(dev, frame(dst=1))[0] == 11
    ports = {send(dev, frame(dst=2, src=s))[0] for s in range(40)}
    assert ports == {11, 12}  # the selector spreads flows over both members
    again = {send(dev, frame(dst=2, src=5))[0] for _ in range(5)}
    assert len(again) == 1  # and a flow always takes the same member


def test_const_entries_from_the_json():
    p = base()
    p.table("ingress", "t", [("exact", [ETH, "dstAddr"])], [3], default=(3, [0]),
            entries=[{"match_key": [{"match_type": "exact", "key": "0x000000000001"}],
                      "action_entry": {"action_id": 3, "action_data": ["0x0003"]},
                      "priority": 1}])
    dev = load(p)
    assert send(dev, frame(dst=1))[0] == 3


def test_exit_in_a_table_action_ends_the_pipeline():
    p = base()
    p.action("bye", [], [prim("assign", sm("egress_spec"), hexv(4)), prim("exit")])
    p.table("ingress", "t", [("exact", [ETH, "dstAddr"])], [4, 0], default=(0, []),
            base_default_next="u")
    p.table("ingress", "u", [], [3], default=(3, [9]))
    dev = load(p)
    dev.state.tables["t"].add([(1,)], 4, ())
    assert send(dev, frame(dst=1))[0] == 4
    assert send(dev, frame(dst=2))[0] == 9


def test_control_flow_loop_is_rejected():
    p = base()
    p.conditional("ingress", "c1", ex("==", fld(ETH, "dstAddr"), hexv(1)), "c2", None)
    p.conditional("ingress", "c2", ex("==", fld(ETH, "dstAddr"), hexv(1)), "c1", None)
    p.init["ingress"] = "c1"
    with pytest.raises(ProgramError, match="control flow loops"):
        load(p)


def test_unknown_next_table_is_rejected():
    p = base()
    p.table("ingress", "t", [], [3], default=(3, [1]), base_default_next="ghost")
    with pytest.raises(ProgramError, match="unknown next node 'ghost'"):
        load(p)


def test_deeply_nested_and_crossing_control_flow():
    """80 nested conditionals (too deep to nest as Python blocks: the generator falls back to
    one function per join) and branches that share a node without rejoining."""
    p = base()
    depth = 80
    for i in range(depth):
        nxt = f"c{i + 1}" if i + 1 < depth else "deep"
        p.conditional("ingress", f"c{i}", ex("!=", fld(ETH, "srcAddr"), hexv(i)), nxt, "shallow")
    p.init["ingress"] = "c0"
    p.table("ingress", "deep", [], [3], default=(3, [7]))
    p.table("ingress", "shallow", [], [3], default=(3, [8]), base_default_next="x1")
    p.conditional("ingress", "x1", ex("==", fld(ETH, "dstAddr"), hexv(1)), "shared", "x2")
    p.conditional("ingress", "x2", ex("==", fld(ETH, "dstAddr"), hexv(2)), "shared", "other")
    p.table("ingress", "shared", [], [1], default=(1, [0x5]))
    p.table("ingress", "other", [], [1], default=(1, [0x6]))
    dev = load(p)
    assert send(dev, frame(src=1000))[0] == 7
    for src, dst, expected in [(3, 1, 5), (3, 2, 5), (3, 9, 6)]:
        port, data = send(dev, frame(src=src, dst=dst))
        assert port == 8 and fields(data)[1] == expected
