"""A switch whose CPU port does not fit the program says so: a warning when the pipeline is
set, and an info log line for every packet-out it refuses."""
from google.rpc import code_pb2
from p4.v1 import p4runtime_pb2 as pb

from p4rt_client import Client, SwitchProcess, load_config

PACKET_OUT = pb.StreamMessageRequest()
PACKET_OUT.packet.payload = bytes.fromhex("000000000002" "000000000001" "0800")
PACKET_OUT.packet.metadata.add(metadata_id=1, value=b"\x03")
PACKET_OUT.packet.metadata.add(metadata_id=2, value=b"\x00")


def controller(switch):
    client = Client(switch.address, election_id=(0, 1))
    stream = client.stream()
    assert stream.arbitrate((0, 1)).arbitration.status.code == code_pb2.OK
    client.set_config(load_config())
    return client, stream


def test_no_cpu_port_is_a_warning_and_refused_packet_outs_are_logged(tmp_path):
    switch = SwitchProcess(tmp_path, cpu_port=None, options=["--log-console", "-L", "info"])
    client, stream = controller(switch)
    try:
        output = switch.log_path.read_text()
        assert "the P4 program has controller headers (its parser takes packet-outs on port " \
               "255) but the switch has no CPU port" in output
        assert "start the switch with --cpu-port 255" in output
        stream.send(PACKET_OUT)
        assert stream.recv(kind="error").error.canonical_code == code_pb2.FAILED_PRECONDITION
        line = switch.wait_for_log("refused: no CPU port configured").splitlines()[-1]
        assert "[I]" in line and "packet-out from ipv4:127.0.0.1:" in line
        assert "(role '', election id 0:1)" in line
    finally:
        stream.close()
        client.close()
        assert switch.stop() == 0


def test_a_cpu_port_other_than_the_programs_is_a_warning_without_asking_for_logs(tmp_path):
    switch = SwitchProcess(tmp_path, cpu_port=192)
    client, stream = controller(switch)
    try:
        assert ("the P4 program takes packet-outs on port 255 (its parser extracts the "
                "packet_out header there) but the CPU port is 192") in switch.log_path.read_text()
    finally:
        stream.close()
        client.close()
        assert switch.stop() == 0


def test_the_programs_cpu_port_gets_no_warning(tmp_path):
    switch = SwitchProcess(tmp_path, cpu_port=255)
    client, stream = controller(switch)
    try:
        assert "CPU port" not in switch.log_path.read_text()
    finally:
        stream.close()
        client.close()
        assert switch.stop() == 0
