"""Run a P4 program on a local `p4nic switch` process, as a test harness or script needs it.

    with LocalSwitch.pipeline("vnic", workdir) as switch:      # a pipeline p4nic ships
        switch.grpc_addr, switch.packet_socket, switch.json_path, switch.p4info_path
    with LocalSwitch.from_p4("my_prog.p4", workdir) as switch:  # any P4 program

A shipped pipeline comes from p4nic.pipelines (so this works from any directory after a plain
install); another program is compiled with `p4nic compile`. The switch serves P4Runtime on a free local
port and its packet ports on a nanomsg socket (PTF's `nn` platform). Everything goes through
the command line, so the switch is reached exactly as simple_switch_grpc would be.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

P4NIC = [sys.executable, "-m", "p4nic.cli"]
LISTENING = re.compile(r"Server listening on (\S+:\d+)")
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


class LocalSwitch:
    """A `p4nic switch` process; stop() (or leaving the with block) terminates it.
    `switch_args` are further `p4nic switch` options (e.g. ["--pcap", DIR])."""

    def __init__(self, json_path, workdir, p4info_path=None, cpu_port: int = 255,
                 device_id: int = 0, start_timeout: float = 60.0, switch_args=()):
        self.json_path = Path(json_path)
        self.p4info_path = Path(p4info_path) if p4info_path else None
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cpu_port = cpu_port
        self.device_id = device_id
        socket_file = self.workdir / f"{self.json_path.stem}.ipc"
        if len(str(socket_file)) > MAX_SOCKET_PATH:   # a deep work directory
            socket_file = Path(tempfile.mkdtemp(prefix="p4nic-")) / socket_file.name
        self._socket_file = socket_file
        self.packet_socket = f"ipc://{socket_file}"
        self.log_path = self.workdir / f"{self.json_path.stem}.switch.log"
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                P4NIC + ["switch", str(self.json_path), "--packet-in", self.packet_socket,
                         "--device-id", str(device_id), *switch_args, "--",
                         "--grpc-server-addr", "127.0.0.1:0", "--cpu-port", str(cpu_port)],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        deadline = time.monotonic() + start_timeout
        while True:
            found = LISTENING.search(self.log_path.read_text())
            if found and socket_file.exists():
                self.grpc_addr = found.group(1)
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise LocalSwitchError("p4nic switch did not start:\n"
                                       + self.log_path.read_text()[-2000:])
            time.sleep(0.05)

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

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._socket_file.parent != self.workdir:
            shutil.rmtree(self._socket_file.parent, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
