"""A running host: its NICs as switch processes, programmed and wired together by the vswitch.

`p4nic up` builds one from a `.nic` file; tests and scripts can build one directly:

    host = Host([HostNic("vm1", "vnic"), HostNic("host1", "pnic")],
                links=[("vm1", 0, "host1", 1)], run_dir=Path("build/up/h1"))
    host.start()
    host.endpoints()   # per NIC: P4Runtime address, packet socket, P4Info and JSON paths
    host.stop()

Each NIC runs `p4nic switch` (or, with bmv2=True, BMv2's simple_switch_grpc) with no program;
the host compiles the NIC's pipeline and pushes it over P4Runtime, as any controller would. Users
reach a NIC's P4Runtime server directly, and its ports on the socket the vswitch exposes for it
(the switch's own socket belongs to the vswitch).
"""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import text_format

from p4nic import pipelines
from p4nic.runtime.connection import Connection
from p4nic.runtime.local_switch import Bmv2Switch, LocalSwitch, LocalSwitchError
from p4nic.runtime.vswitch import VSwitch

CPU_PORT = 255          # p4src's default CPU_PORT (docs/pipelines.md, "Ports")
P4C_BMV2 = "p4c-bm2-ss"


class HostError(RuntimeError):
    """The host could not be brought up; the message says which NIC and why."""


@dataclass
class HostNic:
    """One NIC of a host: its name, pipeline ("vnic" or "pnic"), and P4Runtime identity."""
    name: str
    kind: str
    device_id: int = 0
    grpc_addr: str | None = None          # None: a free port on 127.0.0.1
    election_id: tuple = (0, 1)


@dataclass
class RunningNic:
    spec: HostNic
    switch: object                         # LocalSwitch or Bmv2Switch
    json_path: Path
    p4info_path: Path
    packet_socket: str                     # the vswitch's socket for this NIC's free ports
    ports_wired: list = field(default_factory=list)


class Host:
    """Brings NICs up, wires them, and takes everything down again (stop() is idempotent)."""

    def __init__(self, nics: list, links: list, run_dir: Path, bmv2: bool = False,
                 logger: logging.Logger | None = None):
        self.specs = nics
        self.links = links                 # [(nic_a, port_a, nic_b, port_b)]
        self.run_dir = Path(run_dir)
        self.bmv2 = bmv2
        self.log = logger or logging.getLogger("p4nic.host")
        self.nics: dict[str, RunningNic] = {}
        self.controllers: dict[str, Connection] = {}   # the host's own controller of each NIC
        self.vswitch: VSwitch | None = None
        self.compiler = "p4nic compile"

    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            programs = {kind: self._compile(kind) for kind in {n.kind for n in self.specs}}
            for spec in self.specs:
                self._start_nic(spec, *programs[spec.kind])
            self.vswitch = VSwitch(logger=self.log)
            for nic in self.nics.values():
                self.vswitch.add_nic(nic.spec.name, nic.switch.packet_socket, nic.packet_socket)
            for nic_a, port_a, nic_b, port_b in self.links:
                self.vswitch.link(nic_a, port_a, nic_b, port_b)
                self.nics[nic_a].ports_wired.append(port_a)
                self.nics[nic_b].ports_wired.append(port_b)
            self.vswitch.start()
        except BaseException:
            self.stop()
            raise

    def _compile(self, kind: str) -> tuple:
        """(JSON path, P4Info path) of a shipped pipeline, written into the run directory.
        For BMv2, p4c compiles it when p4c is on PATH (else p4nic's compiler, which writes
        JSON that BMv2 runs)."""
        json_path = self.run_dir / f"{kind}.json"
        p4info_path = self.run_dir / f"{kind}.p4info.txtpb"
        p4c = shutil.which(P4C_BMV2) if self.bmv2 else None
        if p4c:
            self.compiler = P4C_BMV2
            r = subprocess.run([p4c, "--arch", "v1model", "-I", str(pipelines.p4src_dir()),
                                "-o", str(json_path), "--p4runtime-files", str(p4info_path),
                                str(pipelines.source(kind))],
                               capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                raise HostError(f"{P4C_BMV2} failed on {kind}.p4:\n{r.stderr[-2000:]}")
            return json_path, p4info_path
        result = pipelines.compiled(kind)
        json_path.write_text(json.dumps(result.bmv2_json))
        p4info_path.write_text(text_format.MessageToString(result.p4info))
        return json_path, p4info_path

    def _start_nic(self, spec: HostNic, json_path: Path, p4info_path: Path) -> None:
        switch = self._launch(spec, spec.grpc_addr)
        self.nics[spec.name] = RunningNic(spec, switch, json_path, p4info_path,
                                          f"ipc://{self.run_dir / spec.name}.ipc")
        self._push(self.nics[spec.name])

    def _launch(self, spec: HostNic, grpc_addr: str | None):
        workdir = self.run_dir / spec.name
        try:
            if self.bmv2:
                return Bmv2Switch(workdir, "switch", cpu_port=CPU_PORT, device_id=spec.device_id,
                                  grpc_addr=grpc_addr)
            return LocalSwitch(None, workdir, cpu_port=CPU_PORT, device_id=spec.device_id,
                               name="switch", grpc_addr=grpc_addr or "127.0.0.1:0")
        except LocalSwitchError as exc:
            raise HostError(f"NIC {spec.name}: {exc}") from None

    def _push(self, nic: RunningNic, program=None) -> None:
        """Open the host's controller of the NIC (default role, the NIC's election id), push
        the pipeline with it and let `program(name, conn)` write the NIC's entries; only then
        is it published as controller(name), so that no other writer (the offload manager)
        races the pipeline push (simple_switch_grpc can crash on a Write during one).
        Everything the host writes later goes through it, so the host stays the NIC's primary
        controller."""
        old = self.controllers.pop(nic.spec.name, None)
        if old is not None:
            old.close()
        conn = Connection(nic.switch.grpc_addr, device_id=nic.spec.device_id,
                          election_id=nic.spec.election_id)
        try:
            conn.set_pipeline(nic.p4info_path, nic.json_path.read_bytes())
            if program is not None:
                program(nic.spec.name, conn)
        except BaseException:
            conn.close()
            raise
        self.controllers[nic.spec.name] = conn

    def controller(self, name: str) -> Connection:
        """The host's controller of NIC `name` (it stays open until stop())."""
        return self.controllers[name]

    def restart_dead(self, program=None) -> list:
        """Start again, on the same P4Runtime address and sockets, every NIC whose process
        ended, with its pipeline pushed and `program(name, conn)` run before anyone else may
        write to it (see _push); returns their names. A NIC that fails to come back is
        stopped, so the next call tries again, and the error raised."""
        restarted = []
        for name, nic in self.nics.items():
            if nic.switch.process.poll() is None:
                continue
            self.log.warning("NIC %s stopped (exit %s); starting it again", name,
                             nic.switch.process.returncode)
            nic.switch = self._launch(nic.spec, nic.switch.grpc_addr)
            try:
                self._push(nic, program)
            except BaseException:
                nic.switch.stop()
                raise
            self.vswitch.redial(name, nic.switch.packet_socket)
            restarted.append(name)
        return restarted

    def endpoints(self) -> dict:
        """What a user needs to reach each NIC, JSON-ready."""
        return {name: {"kind": nic.spec.kind,
                       "p4runtime": nic.switch.grpc_addr,
                       "device_id": nic.spec.device_id,
                       "packet_socket": nic.packet_socket,
                       "ports_wired": sorted(nic.ports_wired),
                       "p4info": str(nic.p4info_path),
                       "json": str(nic.json_path),
                       "log": str(nic.switch.log_path)}
                for name, nic in self.nics.items()}

    def stop(self) -> None:
        if self.vswitch is not None:
            self.vswitch.stop()
            self.vswitch = None
        for conn in self.controllers.values():
            conn.close()
        self.controllers = {}
        for nic in self.nics.values():
            nic.switch.stop()
        self.nics = {}
