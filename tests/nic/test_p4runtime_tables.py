"""P4Runtime server: table entries — Write/Read, the spec's match and priority rules, default
entries, direct resources, wildcard reads, per-update errors and batch atomicity."""
import json

import grpc
import pytest
from p4nic.proto import p4runtime_pb2 as pb


from p4rt_client import Client, Names, SwitchProcess, details, load_config  # noqa: E402

# P4Runtime server/client behaviour: `make test` runs it under both protobuf runtimes
pytestmark = pytest.mark.p4runtime

NAMES = Names(load_config().p4info)
FWD = NAMES.table("MyIngress.fwd")
ACL = NAMES.table("MyIngress.acl")
ECMP = NAMES.table("MyIngress.ecmp")
FORWARD = NAMES.action("MyIngress.forward")
DROP = NAMES.action("MyIngress.drop")
NO_ACTION = NAMES.action("NoAction")
INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture(scope="module")
def switch(tmp_path_factory):
    process = SwitchProcess(tmp_path_factory.mktemp("p4rt-tables"))
    yield process
    assert process.stop() == 0


@pytest.fixture
def client(switch):
    c = Client(switch.address)
    c.set_config(load_config())  # a fresh commit: empty tables
    yield c
    c.close()


def entry(table_id=FWD, *, exact=None, ternary=(), lpm=None, action=FORWARD, params=(b"\x02",),
          priority=0, **fields) -> pb.Entity:
    entity = pb.Entity()
    te = entity.table_entry
    te.table_id = table_id
    te.priority = priority
    if exact is not None:
        te.match.add(field_id=1).exact.value = exact
    if lpm is not None:
        fm = te.match.add(field_id=1)
        fm.lpm.value, fm.lpm.prefix_len = lpm
    for field_id, (value, mask) in ternary:
        fm = te.match.add(field_id=field_id)
        fm.ternary.value, fm.ternary.mask = value, mask
    if action is not None:
        te.action.action.action_id = action
        for i, value in enumerate(params, start=1):
            te.action.action.params.add(param_id=i, value=value)
    for name, value in fields.items():
        if hasattr(value, "CopyFrom"):
            getattr(te, name).CopyFrom(value)
        else:
            setattr(te, name, value)
    return entity


def read_table(client, table_id=FWD, **query):
    return [e.table_entry for e in client.read(pb.Entity(table_entry=pb.TableEntry(table_id=table_id, **query)))]


def write_error(call) -> grpc.StatusCode:
    """The code of the single failed update of a one-update Write."""
    with pytest.raises(grpc.RpcError) as err:
        call()
    assert err.value.code() == grpc.StatusCode.UNKNOWN
    (code, _), = details(err.value)
    return code


def test_insert_read_modify_delete(client):
    client.insert(entry(exact=b"\x0a\x00\x00\x00\x00\x01", controller_metadata=5, metadata=b"note"))
    (te,) = read_table(client)
    assert te.match[0].exact.value == b"\x0a\x00\x00\x00\x00\x01"
    assert te.action.action.action_id == FORWARD
    assert te.action.action.params[0].value == b"\x02"
    assert (te.controller_metadata, te.metadata) == (5, b"note")

    client.modify(entry(exact=b"\x0a\x00\x00\x00\x00\x01", params=(b"\x07",)))
    (te,) = read_table(client)
    assert te.action.action.params[0].value == b"\x07"

    client.delete(entry(exact=b"\x0a\x00\x00\x00\x00\x01", action=None))
    assert read_table(client) == []


def test_duplicate_insert_and_missing_entries(client):
    client.insert(entry(exact=b"\x01"))
    assert write_error(lambda: client.insert(entry(exact=b"\x01"))) == grpc.StatusCode.ALREADY_EXISTS
    assert write_error(lambda: client.modify(entry(exact=b"\x02"))) == grpc.StatusCode.NOT_FOUND
    assert write_error(lambda: client.delete(entry(exact=b"\x02"))) == grpc.StatusCode.NOT_FOUND


def test_bytestrings_accept_padding_and_read_back_canonical(client):
    client.insert(entry(exact=b"\x00\x00\x00\x00\x00\x00\x00\x01", params=(b"\x00\x00\x05",)))
    (te,) = read_table(client)
    assert te.match[0].exact.value == b"\x01"
    assert te.action.action.params[0].value == b"\x05"
    # The same key in its shortest form is the same entry.
    assert write_error(lambda: client.insert(entry(exact=b"\x01"))) == grpc.StatusCode.ALREADY_EXISTS


@pytest.mark.parametrize("value, params", [
    (b"\x01\x00\x00\x00\x00\x00\x00", (b"\x02",)),   # 49 bits in a 48-bit field
    (b"", (b"\x02",)),                               # empty bytestring
    (b"\x01", (b"\x02\x00",)),                       # 512 does not fit the 9-bit port
])
def test_values_too_wide_or_empty_are_out_of_range(client, value, params):
    assert write_error(lambda: client.insert(entry(exact=value, params=params))) == \
        grpc.StatusCode.OUT_OF_RANGE


@pytest.mark.parametrize("mutate", [
    lambda te: te.ClearField("match"),                                   # exact omitted
    lambda te: te.match.append(te.match[0]),                             # field given twice
    lambda te: setattr(te.match[0], "field_id", 9),                      # unknown field id
    lambda te: te.action.action.params.add(param_id=1, value=b"\x01"),   # param twice
    lambda te: te.action.action.ClearField("params"),                    # param missing
    lambda te: setattr(te.action.action, "action_id", NAMES.action("MyIngress.meter_drop")),
    lambda te: setattr(te, "priority", 10),                              # exact table: no priority
    lambda te: te.ClearField("action"),                                  # no action
    lambda te: setattr(te, "is_const", True),
    lambda te: te.time_since_last_hit.SetInParent(),
    lambda te: setattr(te, "table_id", 0x02999999),                      # unknown table
])
def test_malformed_entries_are_invalid_argument(client, mutate):
    bad = entry(exact=b"\x01")
    mutate(bad.table_entry)
    assert write_error(lambda: client.insert(bad)) == INVALID


def test_priority_rules_for_ternary_tables(client):
    rule = ((1, (b"\x08\x00", b"\xff\xff")),)
    assert write_error(lambda: client.insert(entry(ACL, ternary=rule, action=DROP, params=()))) == INVALID
    assert write_error(lambda: client.insert(entry(ACL, ternary=rule, action=DROP, params=(),
                                                   priority=-1))) == INVALID
    client.insert(entry(ACL, ternary=rule, action=DROP, params=(), priority=10))
    client.insert(entry(ACL, ternary=rule, action=DROP, params=(), priority=20))  # same key, new priority
    assert sorted(te.priority for te in read_table(client, ACL)) == [10, 20]
    assert [te.priority for te in read_table(client, ACL, priority=20)] == [20]


@pytest.mark.parametrize("ternary", [
    ((1, (b"\x08\x00", b"\x00\x00")),),      # all-zero mask: don't care must be omitted
    ((1, (b"\x08\x01", b"\xff\x00")),),      # value bits outside the mask
])
def test_bad_ternary_matches(client, ternary):
    bad = entry(ACL, ternary=ternary, action=DROP, params=(), priority=1)
    assert write_error(lambda: client.insert(bad)) == INVALID


def test_ternary_entry_with_all_fields_omitted_is_a_valid_catch_all(client):
    client.insert(entry(ACL, action=DROP, params=(), priority=1))
    (te,) = read_table(client, ACL)
    assert len(te.match) == 0 and te.priority == 1


def test_lpm_rules(client):
    member = pb.Entity()
    member.action_profile_member.action_profile_id = NAMES.action_profile("MyIngress.ecmp_selector")
    member.action_profile_member.member_id = 1
    member.action_profile_member.action.action_id = FORWARD
    member.action_profile_member.action.params.add(param_id=1, value=b"\x03")
    client.insert(member)

    def lpm_entry(value, plen):
        e = entry(ECMP, lpm=(value, plen), action=None)
        e.table_entry.action.action_profile_member_id = 1
        return e

    assert write_error(lambda: client.insert(lpm_entry(b"\x0a\x00\x00\x00\x00\x01", 40))) == INVALID
    assert write_error(lambda: client.insert(lpm_entry(b"\x00", 0))) == INVALID
    assert write_error(lambda: client.insert(lpm_entry(b"\x0a\x00\x00\x00\x00\x00", 49))) == INVALID
    client.insert(lpm_entry(b"\x0a\x00\x00\x00\x00\x00", 8))
    (te,) = read_table(client, ECMP)
    assert te.match[0].lpm.prefix_len == 8
    assert te.action.action_profile_member_id == 1
    # A direct action on an indirect table, and a member that does not exist.
    assert write_error(lambda: client.insert(entry(ECMP, lpm=(b"\x0b\x00\x00\x00\x00\x00", 8)))) == INVALID
    missing = lpm_entry(b"\x0c\x00\x00\x00\x00\x00", 8)
    missing.table_entry.action.action_profile_member_id = 42
    assert write_error(lambda: client.insert(missing)) == grpc.StatusCode.NOT_FOUND


def test_default_entry_modify_read_and_reset(client):
    (default,) = read_table(client, is_default_action=True)
    assert default.is_default_action and default.action.action.action_id == NO_ACTION

    client.modify(entry(action=FORWARD, params=(b"\x04",), is_default_action=True))
    (default,) = read_table(client, is_default_action=True)
    assert default.action.action.params[0].value == b"\x04"
    assert read_table(client) == []          # the default entry is not a regular entry

    reset = pb.Entity(table_entry=pb.TableEntry(table_id=FWD, is_default_action=True))
    client.modify(reset)
    (default,) = read_table(client, is_default_action=True)
    assert default.action.action.action_id == NO_ACTION


def test_default_entry_rules(client):
    default = entry(action=FORWARD, is_default_action=True)
    assert write_error(lambda: client.insert(default)) == INVALID
    assert write_error(lambda: client.delete(default)) == INVALID
    with_match = entry(exact=b"\x01", is_default_action=True)
    assert write_error(lambda: client.modify(with_match)) == INVALID
    # NoAction is DEFAULT_ONLY in the acl table: fine as default, refused in an entry.
    client.modify(entry(ACL, action=NO_ACTION, params=(), is_default_action=True))
    in_entry = entry(ACL, ternary=((1, (b"\x01", b"\xff")),), action=NO_ACTION, params=(), priority=1)
    assert write_error(lambda: client.insert(in_entry)) == grpc.StatusCode.PERMISSION_DENIED


def test_default_entry_of_an_indirect_table_is_refused(client):
    """simple_switch_grpc (PI device_mgr.cpp) neither sets nor resets the default action of a
    table with an action profile: INVALID_ARGUMENT, and the table keeps no default."""
    member_default = entry(ECMP, action=None, is_default_action=True)
    member_default.table_entry.action.action_profile_member_id = 1
    assert write_error(lambda: client.modify(member_default)) == INVALID
    reset = pb.Entity(table_entry=pb.TableEntry(table_id=ECMP, is_default_action=True))
    assert write_error(lambda: client.modify(reset)) == INVALID


def test_meter_counter_data_is_unimplemented(client):
    """Per-colour meter counters: BMv2 keeps none, so writing them says so instead of losing
    them; the entry is not installed."""
    counted = entry(ACL, ternary=((1, (b"\x01", b"\xff")),), action=DROP, params=(), priority=1,
                    meter_counter_data=pb.MeterCounterData(green=pb.CounterData(packet_count=1)))
    assert write_error(lambda: client.insert(counted)) == grpc.StatusCode.UNIMPLEMENTED
    assert read_table(client, ACL) == []
    plain = entry(ACL, ternary=((1, (b"\x01", b"\xff")),), action=DROP, params=(), priority=1)
    client.insert(plain)
    dme = pb.Entity()
    dme.direct_meter_entry.table_entry.CopyFrom(plain.table_entry)
    dme.direct_meter_entry.counter_data.red.byte_count = 5
    assert write_error(lambda: client.modify(dme)) == grpc.StatusCode.UNIMPLEMENTED


def test_wildcard_reads(client):
    client.insert(entry(exact=b"\x01"), entry(exact=b"\x02"),
                  entry(ACL, ternary=((1, (b"\x01", b"\xff")),), action=DROP, params=(), priority=3))
    everything = client.read(pb.Entity(table_entry=pb.TableEntry()))
    assert sorted(e.table_entry.table_id for e in everything) == [FWD, FWD, ACL]
    one = read_table(client, FWD, match=[pb.FieldMatch(field_id=1, exact=pb.FieldMatch.Exact(value=b"\x02"))])
    assert [te.match[0].exact.value for te in one] == [b"\x02"]
    by_action = client.read(pb.Entity(table_entry=pb.TableEntry(
        table_id=FWD, action=pb.TableAction(action=pb.Action(action_id=DROP)))))
    assert by_action == []


def test_direct_counter_data_in_entries_and_direct_counter_entries(client):
    client.insert(entry(exact=b"\x01", counter_data=pb.CounterData(byte_count=100, packet_count=2)))
    (te,) = read_table(client, counter_data=pb.CounterData())
    assert (te.counter_data.byte_count, te.counter_data.packet_count) == (100, 2)
    (plain,) = read_table(client)
    assert not plain.HasField("counter_data")

    dce = pb.Entity()
    dce.direct_counter_entry.table_entry.CopyFrom(entry(exact=b"\x01", action=None).table_entry)
    dce.direct_counter_entry.data.byte_count = 7
    dce.direct_counter_entry.data.packet_count = 1
    client.modify(dce)
    (read,) = client.read(pb.Entity(direct_counter_entry=pb.DirectCounterEntry()))
    assert (read.direct_counter_entry.data.byte_count, read.direct_counter_entry.data.packet_count) == (7, 1)
    assert write_error(lambda: client.insert(dce)) == INVALID
    acl_counter = entry(ACL, ternary=((1, (b"\x01", b"\xff")),), action=DROP, params=(), priority=1,
                        counter_data=pb.CounterData(packet_count=1))
    assert write_error(lambda: client.insert(acl_counter)) == INVALID   # acl has no direct counter


def test_direct_meter_config_in_entries_and_direct_meter_entries(client):
    config = pb.MeterConfig(cir=1000, cburst=100, pir=2000, pburst=200)
    client.insert(entry(ACL, ternary=((1, (b"\x01", b"\xff")),), action=DROP, params=(), priority=1,
                        meter_config=config))
    (te,) = read_table(client, ACL, meter_config=pb.MeterConfig())
    assert te.meter_config == config
    (dme,) = client.read(pb.Entity(direct_meter_entry=pb.DirectMeterEntry()))
    assert dme.direct_meter_entry.config == config
    reset = pb.Entity()
    reset.direct_meter_entry.table_entry.CopyFrom(te)
    reset.direct_meter_entry.table_entry.ClearField("meter_config")
    client.modify(reset)
    (dme,) = client.read(pb.Entity(direct_meter_entry=pb.DirectMeterEntry()))
    assert not dme.direct_meter_entry.HasField("config")
    bad = entry(ACL, ternary=((1, (b"\x02", b"\xff")),), action=DROP, params=(), priority=1,
                meter_config=pb.MeterConfig(cir=2000, cburst=1, pir=1000, pburst=1))
    assert write_error(lambda: client.insert(bad)) == INVALID   # CIR above PIR


def test_idle_timeout_only_where_the_table_supports_it(client):
    client.insert(entry(exact=b"\x01", idle_timeout_ns=10**9))
    (te,) = read_table(client, time_since_last_hit=pb.TableEntry.IdleTimeout())
    assert te.idle_timeout_ns == 10**9 and te.HasField("time_since_last_hit")
    acl = entry(ACL, ternary=((1, (b"\x01", b"\xff")),), action=DROP, params=(), priority=1,
                idle_timeout_ns=10**9)
    assert write_error(lambda: client.insert(acl)) == INVALID


def test_batch_errors_are_reported_per_update_in_order(client):
    with pytest.raises(grpc.RpcError) as err:
        client.insert(entry(exact=b"\x01"), entry(exact=b"\x01"), entry(exact=b""), entry(exact=b"\x02"))
    assert err.value.code() == grpc.StatusCode.UNKNOWN
    assert [code for code, _ in details(err.value)] == [
        grpc.StatusCode.OK, grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.OK]
    assert len(read_table(client)) == 2          # CONTINUE_ON_ERROR applied the good ones


@pytest.mark.parametrize("atomicity", [pb.WriteRequest.ROLLBACK_ON_ERROR, pb.WriteRequest.DATAPLANE_ATOMIC])
def test_atomic_batches_roll_back_on_error(client, atomicity):
    client.insert(entry(exact=b"\x09", params=(b"\x01",)))
    updates = [pb.Update(type=pb.Update.INSERT, entity=entry(exact=b"\x01")),
               pb.Update(type=pb.Update.MODIFY, entity=entry(exact=b"\x09", params=(b"\x05",))),
               pb.Update(type=pb.Update.DELETE, entity=entry(exact=b"\x09", action=None)),
               pb.Update(type=pb.Update.INSERT, entity=entry(exact=b"\x09")),
               pb.Update(type=pb.Update.INSERT, entity=entry(exact=b"\x09")),  # fails: exists
               pb.Update(type=pb.Update.INSERT, entity=entry(exact=b"\x03"))]
    with pytest.raises(grpc.RpcError) as err:
        client.write(*updates, atomicity=atomicity)
    codes = [code for code, _ in details(err.value)]
    assert codes[4] == grpc.StatusCode.ALREADY_EXISTS
    assert set(codes[:4] + codes[5:]) == {grpc.StatusCode.ABORTED}
    (te,) = read_table(client)
    assert te.match[0].exact.value == b"\x09" and te.action.action.params[0].value == b"\x01"

    client.write(*updates[:4], atomicity=atomicity)   # the same batch without the bad update
    assert sorted(te.match[0].exact.value for te in read_table(client)) == [b"\x01", b"\x09"]


def test_unknown_atomicity_and_update_type(client):
    with pytest.raises(grpc.RpcError) as err:
        client.write(pb.Update(type=pb.Update.INSERT, entity=entry(exact=b"\x01")), atomicity=7)
    assert err.value.code() == INVALID
    assert write_error(lambda: client.write(pb.Update(type=pb.Update.UNSPECIFIED,
                                                      entity=entry(exact=b"\x01")))) == INVALID


def test_roles_limit_writes_to_annotated_tables(switch):
    guest = Client(switch.address, role="guest")
    admin = Client(switch.address)
    try:
        admin.set_config(load_config())
        guest_flows = NAMES.table("MyIngress.guest_flows")
        guest.insert(entry(guest_flows, exact=b"\x08\x00", action=DROP, params=()))
        assert write_error(lambda: guest.insert(entry(exact=b"\x01"))) == grpc.StatusCode.PERMISSION_DENIED
        assert len(guest.read(pb.Entity(table_entry=pb.TableEntry()), role="guest")) == 1
        admin.insert(entry(exact=b"\x01"))
        assert len(admin.read(pb.Entity(table_entry=pb.TableEntry()))) == 2
        stranger = Client(switch.address, role="nobody")
        with pytest.raises(grpc.RpcError) as err:
            stranger.insert(entry(exact=b"\x02"))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        stranger.close()
    finally:
        guest.close()
        admin.close()


def one_shot(prefix: bytes, *ports_and_weights) -> pb.Entity:
    e = entry(ECMP, lpm=(prefix + b"\x00" * (6 - len(prefix)), 8 * len(prefix)), action=None)
    action_set = e.table_entry.action.action_profile_action_set
    for port, weight in ports_and_weights:
        item = action_set.action_profile_actions.add(weight=weight)
        item.action.action_id = FORWARD
        item.action.params.add(param_id=1, value=port)
    return e


def test_one_shot_action_selector_entries(client):
    client.insert(one_shot(b"\x0a", (b"\x01", 1), (b"\x02", 2)))
    (te,) = read_table(client, ECMP)
    actions = te.action.action_profile_action_set.action_profile_actions
    assert [(a.action.params[0].value, a.weight) for a in actions] == [(b"\x01", 1), (b"\x02", 2)]
    # The members and group behind it are the server's, invisible to member/group reads.
    assert client.read(pb.Entity(action_profile_member=pb.ActionProfileMember())) == []
    assert client.read(pb.Entity(action_profile_group=pb.ActionProfileGroup())) == []

    client.modify(one_shot(b"\x0a", (b"\x03", 1)))
    (te,) = read_table(client, ECMP)
    assert len(te.action.action_profile_action_set.action_profile_actions) == 1
    assert write_error(lambda: client.insert(one_shot(b"\x0b", (b"\x01", 0)))) == INVALID     # weight 0
    too_heavy = one_shot(b"\x0b", (b"\x01", 17))               # above max_group_size 16
    assert write_error(lambda: client.insert(too_heavy)) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert write_error(lambda: client.insert(one_shot(b"\x0b"))) == INVALID                    # empty set
    client.delete(one_shot(b"\x0a"))
    assert read_table(client, ECMP) == []
    # Everything the one shots created is gone: a normal group can take any id again.
    member = pb.Entity()
    member.action_profile_member.action_profile_id = NAMES.action_profile("MyIngress.ecmp_selector")
    member.action_profile_member.member_id = 0xFFFFFFFF
    member.action_profile_member.action.action_id = FORWARD
    member.action_profile_member.action.params.add(param_id=1, value=b"\x01")
    client.insert(member)


def test_one_shot_entries_roll_back(client):
    with pytest.raises(grpc.RpcError):
        client.write(pb.Update(type=pb.Update.INSERT, entity=one_shot(b"\x0a", (b"\x01", 1))),
                     pb.Update(type=pb.Update.INSERT, entity=one_shot(b"\x0a", (b"\x02", 1))),
                     atomicity=pb.WriteRequest.ROLLBACK_ON_ERROR)
    assert read_table(client, ECMP) == []
    client.insert(one_shot(b"\x0a", (b"\x01", 1)))
    assert len(read_table(client, ECMP)) == 1


def test_const_tables_are_read_only(client):
    config = load_config()
    program = json.loads(config.p4_device_config)
    acl_json = next(t for t in program["pipelines"][0]["tables"] if t["name"] == "MyIngress.acl")
    drop_id = next(a["id"] for a in program["actions"] if a["name"] == "MyIngress.drop")
    acl_json["entries"] = [{
        "match_key": [{"match_type": "ternary", "key": "0x0806", "mask": "0xffff"},
                      {"match_type": "ternary", "key": "0x00", "mask": "0x00"}],
        "action_entry": {"action_id": drop_id, "action_data": []}, "priority": 1}]
    config.p4_device_config = json.dumps(program).encode()
    next(t for t in config.p4info.tables if t.preamble.name == "MyIngress.acl").is_const_table = True
    client.set_config(config)

    (te,) = read_table(client, ACL)
    assert te.is_const and te.action.action.action_id == DROP
    assert te.match[0].ternary.value == b"\x08\x06" and len(te.match) == 1
    rule = ((1, (b"\x08\x06", b"\xff\xff")),)
    denied = grpc.StatusCode.PERMISSION_DENIED
    assert write_error(lambda: client.insert(entry(ACL, ternary=((1, (b"\x01", b"\xff")),),
                                                   action=DROP, params=(), priority=2))) == denied
    assert write_error(lambda: client.modify(entry(ACL, ternary=rule, action=DROP, params=(),
                                                   priority=te.priority))) == denied
    assert write_error(lambda: client.delete(entry(ACL, ternary=rule, action=None,
                                                   priority=te.priority))) == denied
    # Direct resources of const entries stay writable: a MODIFY without an action.
    client.modify(entry(ACL, ternary=rule, action=None, priority=te.priority,
                        meter_config=pb.MeterConfig(cir=10, cburst=1, pir=20, pburst=2)))
    (read,) = read_table(client, ACL, meter_config=pb.MeterConfig())
    assert read.meter_config.pir == 20


def test_a_failed_update_changes_nothing(client):
    # The meter config is checked before the entry goes in (CIR above PIR is refused).
    bad_meter = entry(ACL, ternary=((1, (b"\x01", b"\xff")),), action=DROP, params=(), priority=1,
                      meter_config=pb.MeterConfig(cir=5, cburst=1, pir=1, pburst=1))
    assert write_error(lambda: client.insert(bad_meter)) == INVALID
    assert read_table(client, ACL) == []
    assert write_error(lambda: client.insert(entry(exact=b"\x01", counter_data=pb.CounterData(
        packet_count=-1)))) == INVALID
    assert read_table(client) == []


def test_rollback_of_a_delete_whose_message_carries_other_metadata(client):
    client.insert(entry(exact=b"\x01", metadata=b"cookie"))
    delete = entry(exact=b"\x01", action=None, metadata=b"something else")  # non-key fields: ignored
    with pytest.raises(grpc.RpcError):
        client.write(pb.Update(type=pb.Update.DELETE, entity=delete),
                     pb.Update(type=pb.Update.INSERT, entity=entry(exact=b"")),
                     atomicity=pb.WriteRequest.ROLLBACK_ON_ERROR)
    (te,) = read_table(client)
    assert te.metadata == b"cookie"
