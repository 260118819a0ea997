"""RuntimeState built from a BMv2 JSON program with every kind of runtime object."""

import pytest

from p4nic.nic.externs import GREEN, RED
from p4nic.nic.hashing import make_hash
from p4nic.nic.state import RuntimeState
from p4nic.nic.tables import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    TableError,
)

NOACTION, SET_PORT, COUNT_IT = 1, 2, 3


def program(**overrides):
    prog = {
        "header_types": [
            {"name": "standard_metadata", "id": 0,
             "fields": [["ingress_port", 9, False], ["egress_spec", 9, False], ["_pad", 6, False]]},
            {"name": "ipv4_t", "id": 1,
             "fields": [["src", 32, False], ["dst", 32, False], ["proto", 8, False]]},
            {"name": "meta_t", "id": 2, "fields": [["color", 8, False], ["opts", "*"]],
             "max_length": 8},
        ],
        "headers": [
            {"name": "standard_metadata", "id": 0, "header_type": "standard_metadata",
             "metadata": True},
            {"name": "ipv4", "id": 1, "header_type": "ipv4_t", "metadata": False},
            {"name": "meta", "id": 2, "header_type": "meta_t", "metadata": True},
        ],
        "actions": [
            {"name": "NoAction", "id": NOACTION, "runtime_data": []},
            {"name": "set_port", "id": SET_PORT, "runtime_data": [{"name": "port", "bitwidth": 9}]},
            {"name": "count_it", "id": COUNT_IT, "runtime_data": []},
        ],
        "counter_arrays": [
            {"name": "ingress.pkts", "id": 0, "size": 8, "is_direct": False},
            {"name": "ingress.acl_hits", "id": 1, "is_direct": True, "binding": "ingress.acl"},
        ],
        "meter_arrays": [
            {"name": "ingress.police", "id": 0, "type": "bytes", "rate_count": 2, "size": 4,
             "is_direct": False},
            {"name": "ingress.acl_meter", "id": 1, "type": "packets", "rate_count": 2, "size": 16,
             "is_direct": True, "binding": "ingress.acl", "result_target": ["meta", "color"]},
        ],
        "register_arrays": [{"name": "ingress.seen", "id": 0, "size": 16, "bitwidth": 48}],
        "parse_vsets": [{"name": "parser.pvs", "id": 0, "compressed_bitwidth": 16}],
        "learn_lists": [{"name": "digest_0", "id": 1, "elements": [
            {"type": "field", "value": ["ipv4", "src"]},
            {"type": "field", "value": ["standard_metadata", "ingress_port"]}]}],
        "calculations": [{"name": "calc", "id": 0, "algo": "csum16", "input": [
            {"type": "field", "value": ["ipv4", "src"]}]}],
        "pipelines": [{
            "name": "ingress", "id": 0, "init_table": "ingress.acl",
            "action_profiles": [
                {"name": "ingress.ecmp_sel", "id": 0, "max_size": 8, "selector": {
                    "algo": "crc16", "input": [{"type": "field", "value": ["ipv4", "dst"]},
                                               {"type": "field", "value": ["ipv4", "proto"]}]}},
                {"name": "ingress.nh_prof", "id": 1, "max_size": 4},
            ],
            "tables": [
                {"name": "ingress.acl", "id": 0, "match_type": "ternary", "type": "simple",
                 "max_size": 16, "with_counters": True, "support_timeout": True,
                 "direct_meters": "ingress.acl_meter",
                 "key": [{"match_type": "ternary", "target": ["ipv4", "proto"], "mask": None}],
                 "actions": ["NoAction", "count_it"], "action_ids": [NOACTION, COUNT_IT],
                 "default_entry": {"action_id": NOACTION, "action_const": False,
                                   "action_data": [], "action_entry_const": False}},
                {"name": "ingress.ecmp", "id": 1, "match_type": "lpm", "type": "indirect_ws",
                 "action_profile": "ingress.ecmp_sel", "max_size": 16, "with_counters": False,
                 "support_timeout": False, "direct_meters": None,
                 "key": [{"match_type": "lpm", "target": ["ipv4", "dst"], "mask": None}],
                 "actions": ["set_port", "NoAction"]},
                {"name": "ingress.nh", "id": 2, "match_type": "exact", "type": "indirect",
                 "action_profile": "ingress.nh_prof", "max_size": 16,
                 "key": [{"match_type": "exact", "target": ["ipv4", "proto"], "mask": None}],
                 "actions": ["set_port"]},
                {"name": "tbl_act", "id": 3, "match_type": "exact", "type": "simple",
                 "max_size": 1024, "key": [], "actions": ["count_it"],
                 "default_entry": {"action_id": COUNT_IT, "action_const": True,
                                   "action_data": [], "action_entry_const": True}},
            ],
        }],
    }
    prog.update(overrides)
    return prog


@pytest.fixture
def state():
    return RuntimeState(program())


def test_everything_is_built_by_name(state):
    assert sorted(state.tables) == ["ingress.acl", "ingress.ecmp", "ingress.nh", "tbl_act"]
    assert state.tables_by_id[2].name == "ingress.nh"
    assert list(state.counters) == ["ingress.pkts"] and state.counters["ingress.pkts"].size == 8
    assert state.direct_counters == {"ingress.acl_hits": state.tables["ingress.acl"]}
    assert list(state.meters) == ["ingress.police"]
    assert state.meters["ingress.police"].unit == "bytes"
    assert state.direct_meters["ingress.acl_meter"].result_target == ["meta", "color"]
    assert state.registers["ingress.seen"].bitwidth == 48
    assert state.value_sets["parser.pvs"].bitwidth == 16
    digest = state.learn_lists["digest_0"]
    assert digest.id == 1 and [(f.header, f.field, f.bitwidth) for f in digest.fields] == [
        ("ipv4", "src", 32), ("standard_metadata", "ingress_port", 9)]
    calc = state.calculations["calc"]
    assert calc.algo == "csum16" and calc.hash(b"\x00\x01") == 0xFFFE
    assert state.action_ids == {"NoAction": NOACTION, "set_port": SET_PORT, "count_it": COUNT_IT}
    assert state.replication.multicast_groups == {}


def test_keyless_table_runs_its_const_default(state):
    t = state.tables["tbl_act"]
    assert t.lookup(()) is None and t.default_action == (COUNT_IT, ())
    with pytest.raises(PermissionDenied):
        t.set_default(NOACTION)
    with pytest.raises(TableError, match="no key"):
        t.add([], COUNT_IT)


def test_direct_counter_meter_and_hit_recording(state):
    acl = state.tables["ingress.acl"]
    h = acl.add([(6, 0xFF)], COUNT_IT, priority=1, timeout_ms=1000)
    entry = acl.lookup((6,))
    before = entry.last_hit
    acl.record_hit(entry, 100)
    acl.record_hit(entry, 50)
    assert acl.direct_counter(h) == (150, 2)
    assert entry.last_hit >= before
    acl.set_direct_counter(h, 7, 1)
    assert (entry.bytes, entry.packets) == (7, 1)
    assert acl.execute_direct_meter(entry, 100) == GREEN
    acl.set_direct_meter(h, [(0, 0), (0, 0)])
    assert acl.direct_meter_config(h) == ((0, 0), (0, 0))
    assert acl.execute_direct_meter(entry, 100) == RED
    with pytest.raises(TableError, match="has no direct meter"):
        state.tables["ingress.nh"].set_direct_meter(0, None)
    with pytest.raises(NotFound):
        acl.direct_counter(99)


def test_indirect_member_entries_follow_member_changes(state):
    nh = state.tables["ingress.nh"]
    prof = state.action_profiles["ingress.nh_prof"]
    assert prof.selector is None and set(prof.actions) == {SET_PORT}
    prof.add_member(10, SET_PORT, (3,))
    h = nh.add([(6,)], member_id=10)
    assert (nh.lookup((6,)).action_id, nh.lookup((6,)).args) == (SET_PORT, (3,))
    prof.modify_member(10, SET_PORT, (4,))
    assert nh.lookup((6,)).args == (4,)
    with pytest.raises(FailedPrecondition):
        prof.delete_member(10)
    with pytest.raises(TableError, match="give a member or group"):
        nh.add([(7,)], SET_PORT, (1,))
    with pytest.raises(NotFound, match="no member 11"):
        nh.add([(7,)], member_id=11)
    with pytest.raises(TableError, match="has no groups"):
        nh.add([(7,)], group_id=1)
    prof.add_member(11, SET_PORT, (5,))
    nh.modify(h, member_id=11)
    assert nh.lookup((6,)).args == (5,)
    prof.delete_member(10)  # no longer used
    nh.delete(h)
    prof.delete_member(11)
    assert prof.members == {}


def test_selector_picks_member_by_hash_of_selector_input(state):
    ecmp = state.tables["ingress.ecmp"]
    sel = state.action_profiles["ingress.ecmp_sel"]
    for member_id, port in ((30, 1), (10, 2), (20, 3)):  # creation order: 30, 10, 20
        sel.add_member(member_id, SET_PORT, (port,))
    sel.add_group(1, max_size=4, members=[10, 20, 30])
    ecmp.add([(0x0A000000, 8)], group_id=1)
    crc16 = make_hash("crc16")
    seen = set()
    for host in range(40):
        dst, proto = 0x0A000000 + host, 6 + host % 2
        entry = ecmp.lookup((dst,), (dst, proto))
        data = dst.to_bytes(4, "big") + proto.to_bytes(1, "big")
        assert entry.args == ((1, 2, 3)[crc16(data) % 3],)  # BMv2: hash % size, creation order
        seen.add(entry.args)
    assert len(seen) == 3
    # weights give a member several slots
    sel.set_group_members(1, [(30, 2), (10, 1)])
    assert [m.id for m in sel.groups[1].slots] == [30, 30, 10]
    assert sel.groups[1].member_ids == [30, 10]
    with pytest.raises(ResourceExhausted):
        sel.set_group_members(1, [(30, 3), (10, 2)])
    # an emptied group gives no action; an empty group cannot be referenced anew
    sel.set_group_members(1, [])
    assert ecmp.lookup((0x0A000001,), (0x0A000001, 6)).action_id is None
    with pytest.raises(TableError, match="is empty"):
        ecmp.add([(0x0B000000, 8)], group_id=1)
    with pytest.raises(FailedPrecondition):
        sel.delete_group(1)
    assert ecmp.lookup((0x0C000000,), (0, 0)) is None


def test_action_profile_member_and_group_errors(state):
    sel = state.action_profiles["ingress.ecmp_sel"]
    sel.add_member(1, SET_PORT, (1,))
    with pytest.raises(AlreadyExists):
        sel.add_member(1, SET_PORT, (1,))
    with pytest.raises(TableError, match="not allowed"):
        sel.add_member(2, COUNT_IT)
    with pytest.raises(TableError, match="does not fit in 9 bits"):
        sel.add_member(2, SET_PORT, (512,))
    with pytest.raises(NotFound):
        sel.modify_member(5, SET_PORT, (1,))
    sel.add_group(7, members=[1])
    with pytest.raises(AlreadyExists):
        sel.add_group(7)
    with pytest.raises(NotFound, match="no member 9"):
        sel.add_group(8, members=[9])
    with pytest.raises(TableError, match="listed twice"):
        sel.set_group_members(7, [1, 1])
    with pytest.raises(FailedPrecondition):
        sel.delete_member(1)  # still in group 7
    sel.delete_group(7)
    sel.delete_member(1)
    with pytest.raises(NotFound):
        sel.delete_group(7)
    for member_id in range(8):
        sel.add_member(member_id, SET_PORT, (member_id,))
    with pytest.raises(ResourceExhausted):
        sel.add_member(8, SET_PORT, (0,))


def test_value_set_members_and_matching(state):
    vs = state.value_sets["parser.pvs"]
    version = vs.version
    vs.add(0x0800)
    vs.add(0x8100, 0xFF00)
    assert vs.version > version
    assert vs.contains(0x0800) and vs.contains(0x81AB) and not vs.contains(0x86DD)
    assert vs.entries() == [(0x0800, 0xFFFF), (0x8100, 0xFF00)]
    with pytest.raises(AlreadyExists):
        vs.add(0x0800, 0xFFFF)
    with pytest.raises(TableError, match="outside mask"):
        vs.add(0x8101, 0xFF00)
    with pytest.raises(TableError, match="does not fit 16 bits"):
        vs.add(0x10000)
    vs.remove(0x0800)
    with pytest.raises(NotFound):
        vs.remove(0x0800)
    vs.set_members([0x0806, (0x8847, None)])
    assert vs.entries() == [(0x0806, 0xFFFF), (0x8847, 0xFFFF)]
    vs.clear()
    assert vs.entries() == [] and not vs.contains(0x0806)


def test_reset_forgets_control_plane_state(state):
    acl = state.tables["ingress.acl"]
    acl.add([(6, 0xFF)], COUNT_IT, priority=1)
    acl.set_default(COUNT_IT)
    sel = state.action_profiles["ingress.ecmp_sel"]
    sel.add_member(1, SET_PORT, (1,))
    sel.add_group(1, members=[1])
    state.tables["ingress.ecmp"].add([(0, 0)], group_id=1)
    state.counters["ingress.pkts"].count(1, 64)
    state.registers["ingress.seen"].store(1, 5)
    state.meters["ingress.police"].set_rates(0, [(1, 1), (2, 2)])
    state.value_sets["parser.pvs"].add(1)
    state.replication.create_group(1, [(1, 0)])
    state.reset()
    assert len(acl) == 0 and acl.default_action == (NOACTION, ())
    assert len(state.tables["ingress.ecmp"]) == 0 and sel.members == {} and sel.groups == {}
    assert state.counters["ingress.pkts"].read(1) == (0, 0)
    assert state.registers["ingress.seen"].read(1) == 0
    assert state.meters["ingress.police"].get_rates(0) is None
    assert state.value_sets["parser.pvs"].entries() == []
    assert state.replication.multicast_groups == {}
    assert state.tables["tbl_act"].default_action == (COUNT_IT, ())


@pytest.mark.parametrize("change, message", [
    (lambda p: p["pipelines"][0]["tables"][1].update(action_profile="nope"),
     "unknown action profile 'nope'"),
    (lambda p: p["pipelines"][0]["tables"][2].update(type="indirect_ws"),
     "without selector"),
    (lambda p: p["pipelines"][0]["tables"][0].update(direct_meters="nope"),
     "unknown direct meter"),
    (lambda p: p["pipelines"][0]["tables"][0].update(action_ids=[99]), "unknown action id 99"),
    (lambda p: p["pipelines"][0]["tables"][0]["key"][0].update(target=["meta", "opts"]),
     "variable-width field meta.opts"),
    (lambda p: p["pipelines"][0]["tables"][0].pop("max_size"), "neither max_size nor entries"),
    (lambda p: p["calculations"][0].update(algo="sha1"), "unknown hash algorithm 'sha1'"),
    (lambda p: p["pipelines"][0]["tables"][0]["default_entry"].update(action_data=["0x1"]),
     "JSON default entry: action NoAction takes 0 argument"),
    (lambda p: p["counter_arrays"][1].update(binding="nope"), "direct counter .*unknown table"),
    (lambda p: p["pipelines"][0]["tables"][0].update(match_type="fuzzy"),
     "unknown match_type 'fuzzy'"),
    (lambda p: p["pipelines"][0]["tables"][0]["key"][0].update(match_type="valid",
                                                               target="nohdr"),
     "unknown header 'nohdr'"),
])
def test_malformed_json_gives_a_clear_table_error(change, message):
    prog = program()
    change(prog)
    with pytest.raises(TableError, match=message):
        RuntimeState(prog)


def test_json_that_is_not_an_object():
    with pytest.raises(TableError, match="must be an object"):
        RuntimeState([])


def test_selector_input_is_bit_contiguous_and_right_padded():
    prog = program()
    prog["pipelines"][0]["action_profiles"][0]["selector"]["input"] = [
        {"type": "field", "value": ["ipv4", "proto"]},
        {"type": "field", "value": ["standard_metadata", "ingress_port"]}]
    state = RuntimeState(prog)
    sel = state.action_profiles["ingress.ecmp_sel"]
    for member_id in range(5):
        sel.add_member(member_id, SET_PORT, (member_id,))
    sel.add_group(1, members=list(range(5)))
    ecmp = state.tables["ingress.ecmp"]
    ecmp.add([None], group_id=1)
    crc16 = make_hash("crc16")
    for proto, port in ((6, 1), (17, 511), (1, 256), (255, 3)):
        # 8 + 9 = 17 bits -> 3 bytes, 7 zero bits of padding at the end (BMv2 BufBuilder)
        data = (((proto << 9) | port) << 7).to_bytes(3, "big")
        assert ecmp.lookup((0x01020304,), (proto, port)).args == (crc16(data) % 5,)


def test_old_json_format_table_declares_its_own_selector():
    prog = program()
    pipeline = prog["pipelines"][0]
    pipeline["action_profiles"] = []
    ecmp = pipeline["tables"][1]
    del ecmp["action_profile"]
    ecmp["act_prof_name"] = "ecmp_prof"
    ecmp["selector"] = {"algo": "crc32", "input": [{"type": "field", "value": ["ipv4", "dst"]}]}
    pipeline["tables"].pop(2)  # nh: its profile is gone too
    state = RuntimeState(prog)
    profile = state.action_profiles["ecmp_prof"]
    assert profile.selector == "crc32" and state.tables["ingress.ecmp"].action_profile is profile
    profile.add_member(1, SET_PORT, (9,))
    profile.add_group(2, members=[1])
    state.tables["ingress.ecmp"].add([(0, 0)], group_id=2)
    assert state.tables["ingress.ecmp"].lookup((5,), (5,)).args == (9,)


def test_any_damaged_json_gives_table_error_never_a_crash():
    import copy
    import random

    rng = random.Random(3)

    def paths(node, prefix=()):
        if isinstance(node, dict):
            for k, v in node.items():
                yield prefix + (k,)
                yield from paths(v, prefix + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield prefix + (i,)
                yield from paths(v, prefix + (i,))

    base = program()
    all_paths = list(paths(base))
    junk = [None, 7, -1, "x", [], {}, [1, 2, 3], {"a": 1}, 1.5, True]
    rejected = 0
    for _ in range(400):
        prog = copy.deepcopy(base)
        path = rng.choice(all_paths)
        parent = prog
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and rng.random() < 0.4:
            del parent[path[-1]]
        else:
            parent[path[-1]] = rng.choice(junk)
        try:
            RuntimeState(prog)
        except TableError:
            rejected += 1
    assert rejected > 100  # many damages are caught; none escaped as another exception


def test_indirect_table_default_member():
    prog = program()
    prog["pipelines"][0]["tables"][2]["key"] = []  # a keyless indirect table, as p4c emits
    state = RuntimeState(prog)
    nh = state.tables["ingress.nh"]
    prof = state.action_profiles["ingress.nh_prof"]
    assert nh.default_action is None
    prof.add_member(4, SET_PORT, (7,))
    nh.set_default(member_id=4)
    assert nh.default_action == (SET_PORT, (7,)) and nh.default_entry.member_id == 4
    prof.modify_member(4, SET_PORT, (8,))
    assert (nh.default_entry.action_id, nh.default_entry.args) == (SET_PORT, (8,))
    with pytest.raises(FailedPrecondition):
        prof.delete_member(4)
    with pytest.raises(NotFound):
        nh.set_default(member_id=5)
    with pytest.raises(TableError, match="not both"):
        nh.set_default(SET_PORT, (1,), member_id=4)
    with pytest.raises(TableError, match="not an indirect table"):
        state.tables["ingress.acl"].set_default(member_id=4)
    nh.set_default(SET_PORT, (2,))  # a plain action replaces the member
    assert nh.default_entry.member_id is None and nh.default_action == (SET_PORT, (2,))
    prof.delete_member(4)
    prof.add_member(6, SET_PORT, (3,))
    nh.set_default(member_id=6)
    nh.reset_default()
    assert nh.default_action is None
    prof.delete_member(6)
