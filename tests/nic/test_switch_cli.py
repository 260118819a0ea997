"""`p4nic switch` command line: what simple_switch_grpc accepts, and clear errors for the rest."""
import os
import subprocess
import sys

import pytest

from p4nic import processes
from p4nic.nic.cli import DEFAULT_GRPC_ADDR, SwitchUsageError, announce, notes, parse_args
from p4nic.nic.p4runtime.fronts import GRPCIO_EXPERIMENTS


def switch(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "p4nic.cli", "switch", *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def test_general_and_target_options_with_simple_switch_grpc_defaults():
    opts = parse_args(["prog.json", "-i", "1@veth1", "--interface", "2@veth2", "--device-id", "3",
                       "-L", "info", "--log-console", "--", "--cpu-port", "255"])
    assert opts.config == "prog.json"
    assert opts.interface == [(1, "veth1"), (2, "veth2")]
    assert (opts.device_id, opts.log_level, opts.log_console) == (3, "info", True)
    assert (opts.cpu_port, opts.drop_port, opts.priority_queues) == (255, 511, 1)
    assert opts.grpc_server_addr == DEFAULT_GRPC_ADDR == "0.0.0.0:9559"


def test_target_options_are_also_taken_before_the_separator():
    opts = parse_args(["--no-p4", "--drop-port", "100", "--priority-queues", "8",
                       "--", "--grpc-server-addr", "127.0.0.1:50001"])
    assert (opts.no_p4, opts.config) == (True, None)
    assert (opts.drop_port, opts.priority_queues, opts.grpc_server_addr) == (100, 8, "127.0.0.1:50001")
    assert opts.cpu_port is None


@pytest.mark.parametrize("address", ["127.0.0.1:0", "localhost:9559", "[::1]:9559", "[::]:50001"])
def test_grpc_addresses_with_a_port(address):
    assert parse_args(["--no-p4", "--", "--grpc-server-addr", address]).grpc_server_addr == address


def test_pcap_directory_defaults_to_current_directory(tmp_path):
    assert parse_args(["p.json", "--pcap"]).pcap == "."
    assert parse_args(["p.json", "--pcap", str(tmp_path)]).pcap == str(tmp_path)


@pytest.mark.parametrize("argv, message", [
    ([], "please specify an input JSON configuration file"),
    (["p.json", "-i", "veth1"], "'veth1' is not PORT@INTERFACE"),
    (["p.json", "-i", "x@veth1"], "'x@veth1' is not PORT@INTERFACE"),
    (["p.json", "--log-console", "--log-file", "f"], "exclusive"),
    (["p.json", "--use-files", "0", "--packet-in", "ipc:///tmp/x"], "exclusive"),
    (["p.json", "-L", "loud"], "invalid choice: 'loud'"),
    (["p.json", "--pcap", "/no/such/dir"], "'/no/such/dir' specified with '--pcap' does not exist"),
    (["p.json", "--", "--cpu-port", "0"], "--cpu-port 0 is not valid"),
    (["p.json", "--", "--cpu-port", "-4"], "'-4' is not a non-negative integer"),
    (["p.json", "-i", "1@a", "--", "--cpu-port", "1"], "CPU port 1 is used as a data port"),
    (["p.json", "-i", "1@a", "-i", "1@b"], "port 1 is given more than one interface"),
    (["p.json", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["p.json", "--", "--log-console"], "unrecognized arguments: --log-console"),
])
def test_bad_command_lines(argv, message):
    with pytest.raises(SwitchUsageError, match=message.replace("(", r"\(")):
        parse_args(argv)


def test_bad_flag_as_a_process_is_usage_not_traceback():
    r = switch("prog.json", "--frobnicate")
    assert r.returncode == 2
    assert "p4nic switch: error: unrecognized arguments: --frobnicate" in r.stderr
    assert "usage: p4nic switch" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_and_malformed_program_files(tmp_path):
    r = switch(str(tmp_path / "absent.json"))
    assert r.returncode == 1 and "cannot read" in r.stderr and "No such file" in r.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"header_types": [,]}')
    r = switch(str(bad))
    assert r.returncode == 1
    assert f"'{bad}' is not valid JSON: line 1 column 19: Expecting value" in r.stderr
    assert "Traceback" not in r.stderr


def test_unwritable_outputs_are_clear_errors(tmp_path):
    program = tmp_path / "p.json"
    program.write_text("{}")
    r = switch(str(program), "--log-file", str(tmp_path / "no" / "dir" / "switch.log"))
    assert r.returncode == 1 and "cannot open log file" in r.stderr and "Traceback" not in r.stderr


def test_help_and_version():
    r = switch("--help")
    assert r.returncode == 0 and "--packet-in" in r.stdout and "--grpc-server-addr" in r.stdout
    r = switch("--version")
    assert r.returncode == 0 and r.stdout.startswith("p4nic ")


def test_options_for_bmv2_services_are_accepted_with_a_note():
    opts = parse_args(["p.json", "--thrift-port", "9090", "--packet-in", "ipc:///tmp/x.ipc",
                       "-i", "1@veth1", "--nanolog", "ipc:///tmp/log.ipc"])
    said = notes(opts)
    assert any("--thrift-port ignored" in line for line in said)
    assert any("--nanolog ignored" in line for line in said)
    assert "note: --interface options ignored because --packet-in is used" in said
    assert notes(parse_args(["p.json"])) == []


# Run `p4nic switch` in a Python that notes GRPC_EXPERIMENTS when grpc is first imported.
WATCH_GRPC_IMPORT = """
import os, sys
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "grpc":
            print("GRPC_EXPERIMENTS:", os.environ.get("GRPC_EXPERIMENTS"), flush=True)
            sys.meta_path.remove(self)
        return None
sys.meta_path.insert(0, Watch())
from p4nic.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("given, chosen", [(None, GRPCIO_EXPERIMENTS), ("-foo", "-foo")])
def test_grpc_listener_is_chosen_before_grpc_is_imported(given, chosen):
    """grpcio's front end serves P4Runtime on gRPC's faster listener (see fronts.py); that only
    works if the choice is in the environment when grpc is imported. A user's own choice
    stays."""
    env = {key: value for key, value in os.environ.items() if key != "GRPC_EXPERIMENTS"}
    if given is not None:
        env["GRPC_EXPERIMENTS"] = given
    address = f"127.0.0.1:{processes.free_port()}"
    proc = subprocess.Popen([sys.executable, "-c", WATCH_GRPC_IMPORT, "switch", "--no-p4", "--",
                             "--grpc-server-addr", address], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == f"GRPC_EXPERIMENTS: {chosen}"
    finally:
        processes.stop(proc)


class Writes:
    """A stream that keeps each write apart."""

    def __init__(self):
        self.writes = []

    def write(self, text):
        self.writes.append(text)

    def flush(self):
        pass


def test_the_serving_lines_go_out_in_one_write():
    """Scripts (and LocalSwitch) read the port from "Server listening on HOST:PORT"; written in
    pieces, a warning from another thread could land inside the line, after the port."""
    stream = Writes()
    announce(stream, "127.0.0.1", 9559, "ipc:///tmp/s.ipc")
    assert stream.writes == ["Server listening on 127.0.0.1:9559\n"
                             "Packet ports on nanomsg socket ipc:///tmp/s.ipc\n"]
