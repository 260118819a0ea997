"""The P4Runtime server's two gRPC front ends (nic/p4runtime/fronts.py): the native one on the
system's gRPC core (grpc_front.c), which `p4nic switch` serves through once its build is
cached, and grpcio's, for TLS, with P4NIC_GRPC_FRONT=grpcio, or where the native one cannot be
built. The tests here run on both; the rest of the suite runs on the native one (conftest.py
builds it first) and `make test` runs the P4Runtime tests once more on grpcio's."""
import contextlib
import threading
import time

import grpc
import pytest
from p4nic.proto import p4runtime_pb2 as pb

from p4nic.nic.p4runtime import calls
from p4nic.nic.p4runtime.fronts import FRONT

from p4rt_client import (FRONTS, WAIT, Client, Names, SwitchProcess, environment, load_config,
                         maps, wait_for)

pytestmark = pytest.mark.p4runtime

UNARY_REQUEST = ("Write", "Read", "Capabilities", "SetForwardingPipelineConfig",
                 "GetForwardingPipelineConfig")
NAMES = Names(load_config().p4info)


@pytest.fixture(scope="module", params=FRONTS)
def switch(request, tmp_path_factory):
    FRONT.require()
    process = SwitchProcess(tmp_path_factory.mktemp(f"front-{request.param}"),
                            env=environment(**FRONTS[request.param]))
    yield request.param, process
    assert process.stop() == 0


def route(port: int) -> pb.Entity:
    """An entry of MyIngress.fwd: destination MAC `port` to that port."""
    return pb.Entity(table_entry=pb.TableEntry(
        table_id=NAMES.table("MyIngress.fwd"),
        match=[pb.FieldMatch(field_id=1, exact=pb.FieldMatch.Exact(value=bytes([port])))],
        action=pb.TableAction(action=pb.Action(
            action_id=NAMES.action("MyIngress.forward"),
            params=[pb.Action.Param(param_id=1, value=bytes([port]))]))))


FWD = pb.Entity(table_entry=pb.TableEntry(table_id=NAMES.table("MyIngress.fwd")))


@contextlib.contextmanager
def primary(address: str):
    """A client that is the primary (election id 1), with the program loaded."""
    client = Client(address, election_id=(0, 1))
    stream = client.stream()
    try:
        assert stream.arbitrate(election_id=(0, 1)).arbitration.status.code == 0
        client.set_config(load_config())
        yield client
    finally:
        stream.close()
        client.close()


def written_and_read(address: str, ports: range) -> None:
    """A route per port written and read back by the primary, then deleted."""
    with primary(address) as client:
        client.insert(*(route(port) for port in ports))
        assert sorted(e.table_entry.SerializeToString() for e in client.read(FWD)) == sorted(
            route(port).table_entry.SerializeToString() for port in ports)
        client.delete(*(route(port) for port in ports))


def test_the_switch_serves_through_the_front_end_it_is_given(switch):
    name, process = switch
    assert maps(process.proc.pid, FRONT.path()) == (name == "native")
    written_and_read(process.address, range(1, 8))
    # the system's gRPC core is started without grpcio's listener choice, which it would
    # refuse on stderr ("Unknown experiment")
    assert "experiment" not in process.log_path.read_text()
    client = Client(process.address)
    try:
        assert client.stub.Capabilities(pb.CapabilitiesRequest(),
                                        timeout=WAIT).p4runtime_api_version
    finally:
        client.close()


def test_a_compressed_request_is_read_as_sent(switch):
    _, process = switch
    channel = grpc.insecure_channel(process.address, compression=grpc.Compression.Gzip)
    try:
        with primary(process.address) as client:
            request = pb.WriteRequest(device_id=1, updates=[
                pb.Update(type=pb.Update.INSERT, entity=route(port)) for port in range(1, 200)])
            request.election_id.low = 1
            channel.unary_unary("/p4.v1.P4Runtime/Write")(request.SerializeToString(),
                                                          timeout=WAIT)
            assert len(client.read(FWD)) == 199
    finally:
        channel.close()


@pytest.mark.parametrize("method", UNARY_REQUEST)
def test_a_call_that_sends_no_request_is_refused(switch, method):
    """The client half-closes without a message: INVALID_ARGUMENT, on both front ends (the
    native one reads the request ahead, and finds none)."""
    _, process = switch
    channel = grpc.insecure_channel(process.address)
    try:
        path = f"/p4.v1.P4Runtime/{method}"
        with pytest.raises(grpc.RpcError) as error:
            if method == "Read":
                list(channel.stream_stream(path)(iter(()), timeout=WAIT))
            else:
                channel.stream_unary(path)(iter(()), timeout=WAIT)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error.value.details() == f"no {method} request"
    finally:
        channel.close()


def test_calls_whose_request_never_comes_lock_no_one_out(switch):
    """Twenty Writes and Reads open with no request sent yet: other clients' calls are all
    served meanwhile, and the waiting ones are answered once their clients half-close."""
    _, process = switch
    release = threading.Event()

    def nothing_until_released():
        release.wait(WAIT)
        return
        yield

    channel = grpc.insecure_channel(process.address)
    try:
        writes = [channel.stream_unary("/p4.v1.P4Runtime/Write").future(
            nothing_until_released(), timeout=WAIT) for _ in range(10)]
        reads = [channel.stream_stream("/p4.v1.P4Runtime/Read")(
            nothing_until_released(), timeout=WAIT) for _ in range(10)]
        for _ in range(3):
            written_and_read(process.address, range(1, 30))
        assert not any(write.done() for write in writes)
        release.set()
        for write in writes:
            assert write.exception(timeout=WAIT).code() == grpc.StatusCode.INVALID_ARGUMENT
        for read in reads:
            with pytest.raises(grpc.RpcError) as error:
                list(read)
            assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        release.set()
        channel.close()


def test_a_first_start_serves_through_grpcio_and_builds_the_native_front_end_for_the_next(
        tmp_path):
    built = tmp_path / "cache" / "p4nic" / FRONT.path().name
    for start in ("first", "next"):
        (tmp_path / start).mkdir()
        process = SwitchProcess(tmp_path / start,
                                env=environment(XDG_CACHE_HOME=str(tmp_path / "cache")))
        try:
            assert maps(process.proc.pid, built) == (start == "next")
            written_and_read(process.address, range(1, 4))
            wait_for(built.is_file, "the native front end's build")
        finally:
            assert process.stop() == 0


def test_without_the_grpc_library_grpcio_serves_and_says_so_quietly(tmp_path):
    """No libgrpc-dev (pkg-config finds no grpc): grpcio serves, the module is not built, and
    nothing is logged above info level about it."""
    (tmp_path / "nowhere").mkdir()
    process = SwitchProcess(tmp_path, env=environment(
        XDG_CACHE_HOME=str(tmp_path / "cache"), PKG_CONFIG_LIBDIR=str(tmp_path / "nowhere"),
        PKG_CONFIG_PATH=""))
    try:
        written_and_read(process.address, range(1, 4))
        time.sleep(1)       # the background build has long given up by now
        assert not maps(process.proc.pid, FRONT.path())
    finally:
        assert process.stop() == 0
    assert not list((tmp_path / "cache").glob(f"**/{FRONT.name}*"))
    assert "_p4nic_grpc_front" not in process.log_path.read_text()


def test_both_sides_number_the_operations_alike():
    module = FRONT.require()
    assert (module.SEND_INITIAL, module.SEND_MESSAGE, module.SEND_STATUS, module.RECEIVE,
            module.CLOSE) == (calls.SEND_INITIAL, calls.SEND_MESSAGE, calls.SEND_STATUS,
                              calls.RECEIVE, calls.CLOSE)


def test_a_handler_answers_its_method_in_place_and_hands_back_what_it_declines(monkeypatch):
    """answer_in_place (the native front end's, for one-update Writes): what the handler
    answers goes back with OK and never comes out of poll(), call after call (each answer asks
    for the method's next call); a call it declines, or fails on, comes out as any call."""
    module = FRONT.require()
    server = module.Server(())
    port = server.add_port("127.0.0.1:0")
    handle = server.register(b"/test.Service/Method")

    def handler(request: bytes):
        if request == b"boom":
            raise ValueError("a bug in the handler")
        return calls.reply(b"in place: " + request) if request.startswith(b"mine") else None
    server.answer_in_place(handle, handler)
    server.start()
    server.request_call("ask", handle)
    unraisable = []
    monkeypatch.setattr("sys.unraisablehook", unraisable.append)
    seen = []                   # what came out of poll(): the handler's declines

    def serve():
        while True:
            tag, success, value = server.poll()
            if tag == "stop":
                return
            if tag != "ask":
                continue            # a reply sent
            seen.append((success, value and value.request))
            if success:
                value.start_batch(calls.reply(b"by poll: " + value.request), "sent")
                server.request_call("ask", handle)
    thread = threading.Thread(target=serve)
    thread.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        method = channel.unary_unary("/test.Service/Method")
        assert [method(b"mine %d" % i, timeout=WAIT) for i in range(5)] == [
            b"in place: mine %d" % i for i in range(5)]
        assert seen == []
        assert method(b"yours", timeout=WAIT) == b"by poll: yours"
        assert method(b"boom", timeout=WAIT) == b"by poll: boom"
        assert method(b"mine again", timeout=WAIT) == b"in place: mine again"
        assert seen == [(True, b"yours"), (True, b"boom")]
        assert [str(hook.exc_value) for hook in unraisable] == ["a bug in the handler"]
    finally:
        channel.close()
        server.shutdown("stop")
        thread.join(WAIT)
        server.destroy()
    assert not thread.is_alive()
