"""P4Runtime server: Capabilities, Set/GetForwardingPipelineConfig, request-wide checks.

The switch runs as a `p4nic switch` process and is reached over gRPC with the p4runtime protos.
"""
import json

import grpc
import pytest
from p4.v1 import p4runtime_pb2 as pb


from p4rt_client import Client, Names, SetRequest, SwitchProcess, load_config  # noqa: E402

GetRequest = pb.GetForwardingPipelineConfigRequest


@pytest.fixture(scope="module")
def switch(tmp_path_factory):
    process = SwitchProcess(tmp_path_factory.mktemp("p4rt-config"))
    yield process
    assert process.stop() == 0


@pytest.fixture
def client(switch):
    c = Client(switch.address)
    yield c
    c.close()


def fwd_entry(names, mac: bytes, port: bytes = b"\x02") -> pb.Entity:
    entity = pb.Entity()
    te = entity.table_entry
    te.table_id = names.table("MyIngress.fwd")
    te.match.add(field_id=1).exact.value = mac
    te.action.action.action_id = names.action("MyIngress.forward")
    te.action.action.params.add(param_id=1, value=port)
    return entity


def all_entries(client):
    return client.read(pb.Entity(table_entry=pb.TableEntry()))


def test_capabilities_reports_the_p4runtime_version(client):
    assert client.stub.Capabilities(pb.CapabilitiesRequest()).p4runtime_api_version == "1.4.1"


def test_get_before_any_config_returns_no_config(tmp_path):
    process = SwitchProcess(tmp_path)
    c = Client(process.address)
    try:
        assert not c.get_config().HasField("config")
        with pytest.raises(grpc.RpcError) as err:
            all_entries(c)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.RpcError) as err:
            c.insert(fwd_entry(Names(load_config().p4info), b"\x01"))
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    finally:
        c.close()
        assert process.stop() == 0


def test_verify_checks_without_committing_then_commit_and_get(client):
    config = load_config(cookie=7)
    client.set_config(config, SetRequest.VERIFY_AND_COMMIT)
    other = load_config(cookie=8)
    client.set_config(other, SetRequest.VERIFY)
    assert client.get_config(GetRequest.COOKIE_ONLY).config.cookie.cookie == 7

    full = client.get_config(GetRequest.ALL).config
    assert full.p4info == config.p4info
    assert full.p4_device_config == config.p4_device_config
    cookie_only = client.get_config(GetRequest.COOKIE_ONLY).config
    assert not cookie_only.HasField("p4info") and not cookie_only.p4_device_config
    p4info_only = client.get_config(GetRequest.P4INFO_AND_COOKIE).config
    assert p4info_only.HasField("p4info") and not p4info_only.p4_device_config
    device_only = client.get_config(GetRequest.DEVICE_CONFIG_AND_COOKIE).config
    assert device_only.p4_device_config and not device_only.HasField("p4info")


def test_commit_clears_forwarding_state(client):
    names = Names(load_config().p4info)
    client.set_config(load_config())
    client.insert(fwd_entry(names, b"\x01"))
    assert len(all_entries(client)) == 1
    client.set_config(load_config())
    assert all_entries(client) == []


def test_reconcile_and_commit_keeps_forwarding_state(client):
    names = Names(load_config().p4info)
    client.set_config(load_config())
    client.insert(fwd_entry(names, b"\x01"), fwd_entry(names, b"\x02", b"\x03"))
    before = all_entries(client)
    client.set_config(load_config(cookie=9), SetRequest.RECONCILE_AND_COMMIT)
    assert all_entries(client) == before
    assert client.get_config(GetRequest.COOKIE_ONLY).config.cookie.cookie == 9


def test_verify_and_save_then_commit_replays_writes_made_in_between(client):
    names = Names(load_config().p4info)
    client.set_config(load_config())
    client.set_config(load_config(cookie=3), SetRequest.VERIFY_AND_SAVE)
    client.insert(fwd_entry(names, b"\x05"))
    assert len(all_entries(client)) == 1
    client.set_config(action=SetRequest.COMMIT)
    assert [e.table_entry.match[0].exact.value for e in all_entries(client)] == [b"\x05"]
    assert client.get_config(GetRequest.COOKIE_ONLY).config.cookie.cookie == 3


def test_commit_without_a_saved_config_is_not_found(client):
    client.set_config(load_config())
    with pytest.raises(grpc.RpcError) as err:
        client.set_config(action=SetRequest.COMMIT)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        client.set_config(load_config(), SetRequest.COMMIT)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("breakage", ["not json", "json but not a program", "p4info names a missing table",
                                      "p4info action params differ", "no p4info", "no device config",
                                      "unspecified action", "json nested too deeply"])
def test_unrealizable_configs_are_invalid_argument_and_keep_the_old_one(client, breakage):
    client.set_config(load_config(cookie=1))
    config = load_config(cookie=2)
    action = SetRequest.VERIFY_AND_COMMIT
    if breakage == "not json":
        config.p4_device_config = b"{not json"
    elif breakage == "json but not a program":
        config.p4_device_config = json.dumps({"pipelines": "nope"}).encode()
    elif breakage == "p4info names a missing table":
        config.p4info.tables[0].preamble.name = "MyIngress.nonexistent"
    elif breakage == "p4info action params differ":
        next(a for a in config.p4info.actions if a.params).params[0].bitwidth = 10
    elif breakage == "no p4info":
        config.ClearField("p4info")
    elif breakage == "no device config":
        config.p4_device_config = b""
    elif breakage == "json nested too deeply":
        config.p4_device_config = b'{"pipelines": ' + b"[" * 200000 + b"]" * 200000 + b"}"
    else:
        action = SetRequest.UNSPECIFIED
    with pytest.raises(grpc.RpcError) as err:
        client.set_config(config, action)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert client.get_config(GetRequest.COOKIE_ONLY).config.cookie.cookie == 1


def test_unknown_device_id_is_not_found(switch):
    c = Client(switch.address, device_id=99)
    try:
        for call in (lambda: c.set_config(load_config()), c.get_config,
                     lambda: c.read(pb.Entity(table_entry=pb.TableEntry())),
                     lambda: c.write()):
            with pytest.raises(grpc.RpcError) as err:
                call()
            assert err.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        c.close()


def test_reading_an_empty_entity_is_invalid_argument(client):
    client.set_config(load_config())
    with pytest.raises(grpc.RpcError) as err:
        client.read(pb.Entity())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
