"""Run a P4 program on a local switch process, as a test harness, `p4nic up` or a script needs it.

    with LocalSwitch.pipeline("vnic", workdir) as switch:      # a pipeline p4nic ships
        switch.grpc_addr, switch.packet_socket, switch.json_path, switch.p4info_path
    with LocalSwitch.from_p4("my_prog.p4", workdir) as switch:  # any P4 program

`LocalSwitch` is a `p4nic switch` process; `Bmv2Switch` is BMv2's `simple_switch_grpc`, started
with the same options. Either serves P4Runtime on a local port and its packet ports on a nanomsg
socket (PTF's `nn` platform), so it is reached exactly as the other would be. A shipped pipeline
comes from p4nic.pipelines (so this works from any directory after a plain install); another
program is compiled with `p4nic compile`.
"""
from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

from p4nic import processes

P4NIC = [sys.executable, "-m", "p4nic.cli"]
LISTENING = re.compile(r"Server listening on (\S+:\d+)")
BMV2_SWITCH = "simple_switch_grpc"
MAX_SOCKET_PATH = 100   # a Unix socket path holds at most 107 bytes


class LocalSwitchError(RuntimeError):
    """Compiling the program or starting the switch failed; the message has the tool's output."""


def compile_p4(source, outdir) -> tuple:
    """`p4nic compile source` into outdir: (BMv2 JSON path, P4Info text path)."""
    source, outdir = Path(source), Path(outdir)
    json_path = outdir / f"{source.stem}.json"
    p4info_path = outdir / f"{source.stem}.p4info.txtpb"
    r = subprocess.run(P4NIC + ["compile", str(source), "-o", str(json_path),
                                "--p4runtime-files", str(p4info_path)],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0 or not json_path.exists() or not p4info_path.exists():
        raise LocalSwitchError(f"p4nic compile {source.name} failed: "
                               f"{(r.stderr or r.stdout).strip()[-1500:]}")
    return json_path, p4info_path


def write_pipeline(name: str, outdir) -> tuple:
    """The shipped pipeline `name` (p4nic.pipelines, compiled once per process) written to
    outdir: (BMv2 JSON path, P4Info text path)."""
    from p4nic import pipelines
    return write_compiled(pipelines.compiled(name), name, outdir)


def write_compiled(result, name: str, outdir) -> tuple:
    """An in-process CompileResult written to outdir as NAME.json and NAME.p4info.txtpb."""
    from p4nic.compiler.cli import serialize_p4info
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    json_path = outdir / f"{name}.json"
    p4info_path = outdir / f"{name}.p4info.txtpb"
    json_path.write_text(json.dumps(result.bmv2_json))
    p4info_path.write_bytes(serialize_p4info(result.p4info, "text"))
    return json_path, p4info_path


def free_local_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now (for a server that cannot bind port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SwitchProcess:
    """A switch process with a P4Runtime server and a nanomsg packet socket.

    Subclasses give the command line (a function of the packet socket's address); this class
    starts it with its output in `log_path`, waits until both the gRPC server and the packet
    socket are up, and stops it."""

    def __init__(self, command, workdir, name: str, grpc_addr: str | None,
                 start_timeout: float, env: dict | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        socket_file = self.workdir / f"{name}.ipc"
        if len(str(socket_file)) > MAX_SOCKET_PATH:   # a deep work directory
            socket_file = Path(tempfile.mkdtemp(prefix="p4nic-")) / socket_file.name
        self.socket_file = socket_file
        self.packet_socket = f"ipc://{socket_file}"
        self.log_path = self.workdir / f"{name}.switch.log"
        self.grpc_addr = grpc_addr
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(command(self.packet_socket), stdout=log,
                                            stderr=subprocess.STDOUT, cwd=self.workdir, env=env)
        deadline = time.monotonic() + start_timeout
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise LocalSwitchError(f"{Path(command(self.packet_socket)[0]).name} did not "
                                       "start:\n" + self.log_path.read_text()[-2000:])
            time.sleep(0.05)

    def _ready(self) -> bool:
        if self.grpc_addr is None:
            found = LISTENING.search(self.log_path.read_text())
            if not found:
                return False
            self.grpc_addr = found.group(1)
        if not self.socket_file.exists():
            return False
        with grpc.insecure_channel(self.grpc_addr) as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=0.5)
            except grpc.FutureTimeoutError:
                return False
        return True

    def stop(self):
        processes.stop(self.process)
        if self.socket_file.parent != self.workdir:
            shutil.rmtree(self.socket_file.parent, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class LocalSwitch(SwitchProcess):
    """A `p4nic switch` process running `json_path`, or no program with json_path None (push
    one over P4Runtime); it serves P4Runtime on `grpc_addr` (default: a free local port).
    `switch_args` are further `p4nic switch` options (e.g. ["--pcap", DIR]); `env` the
    process's environment (default: this one's)."""

    def __init__(self, json_path, workdir, p4info_path=None, cpu_port: int = 255,
                 device_id: int = 0, start_timeout: float = 60.0, switch_args=(),
                 name: str | None = None, grpc_addr: str = "127.0.0.1:0", env: dict | None = None):
        self.json_path = Path(json_path) if json_path else None
        self.p4info_path = Path(p4info_path) if p4info_path else None
        self.cpu_port = cpu_port
        self.device_id = device_id
        program = [str(self.json_path)] if self.json_path else ["--no-p4"]

        def command(packet_socket):
            return P4NIC + ["switch", *program, "--packet-in", packet_socket,
                            "--device-id", str(device_id), *switch_args, "--",
                            "--grpc-server-addr", grpc_addr, "--cpu-port", str(cpu_port)]

        fixed = None if grpc_addr.endswith(":0") else grpc_addr
        super().__init__(command, workdir, name or self.json_path.stem, fixed, start_timeout,
                         env)

    @classmethod
    def from_p4(cls, source, workdir, **kwargs) -> "LocalSwitch":
        json_path, p4info_path = compile_p4(source, workdir)
        return cls(json_path, workdir, p4info_path=p4info_path, **kwargs)

    @classmethod
    def pipeline(cls, name: str, workdir, **kwargs) -> "LocalSwitch":
        """A switch running the shipped pipeline `name` ("vnic" or "pnic"); its JSON and
        P4Info are written to workdir. The program is only loaded: push it with
        Connection.set_pipeline(switch.p4info_path, switch.json_path.read_bytes())."""
        json_path, p4info_path = write_pipeline(name, workdir)
        return cls(json_path, workdir, p4info_path=p4info_path, **kwargs)


class Bmv2Switch(SwitchProcess):
    """BMv2's `simple_switch_grpc` with no program (push one over P4Runtime), on a free local
    gRPC port unless given one, and a Thrift port of its own so that several can run."""

    def __init__(self, workdir, name: str, cpu_port: int = 255, device_id: int = 0,
                 grpc_addr: str | None = None, start_timeout: float = 60.0,
                 executable: str | None = None):
        executable = executable or shutil.which(BMV2_SWITCH)
        if executable is None:
            raise LocalSwitchError(f"{BMV2_SWITCH} is not on PATH: install BMv2 with its "
                                   "P4Runtime server, or leave out --bmv2 to use p4nic's "
                                   "own switch")
        self.cpu_port = cpu_port
        self.device_id = device_id
        grpc_addr = grpc_addr or f"127.0.0.1:{free_local_port()}"
        thrift_port = free_local_port()

        def command(packet_socket):
            return [executable, "--no-p4", "--packet-in", packet_socket,
                    "--device-id", str(device_id), "--thrift-port", str(thrift_port), "--",
                    "--grpc-server-addr", grpc_addr, "--cpu-port", str(cpu_port)]

        super().__init__(command, workdir, name, grpc_addr, start_timeout)
