"""`p4nic up HOST.nic`: bring a whole host up from its file, and keep it up until Ctrl-C.

    p4nic up examples/host.nic            # the VNIC and PNIC on p4nic switch processes
    p4nic up examples/host.nic --bmv2     # the same host on simple_switch_grpc processes
    p4nic up examples/host.nic --json     # what it prints, as one JSON object

It starts the file's VNIC and PNIC as switch processes wired together (runtime.host), pushes
their pipelines, applies the file (dsl.apply), and runs the guest — its services in software
and its network stack (guest_app) — and the offload manager (runtime.offload). It then prints,
for each NIC, its P4Runtime address (for `python -m p4runtime_sh --grpc-addr ...`) and its
packet socket (for PTF's `nn` platform), and registers the host by name (HOSTS/NAME.json,
where `p4nic status` and `p4nic traffic` find it); `status.json` in its run directory is
refreshed twice a second. A NIC whose process dies is started again and the file applied to it.

Everything binds to 127.0.0.1 unless the file gives an address: a host is for this machine.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from p4nic.runtime.connection import Connection, P4RuntimeClientError
from p4nic.runtime.entities import EntityBuilder
from p4nic.runtime.host import Host, HostError, HostNic
from p4nic.runtime.local_switch import LocalSwitchError

REFRESH_S = 0.5
RUN_ROOT_VARIABLE = "P4NIC_RUN_ROOT"
GUEST_ROLE = "guest"
log = logging.getLogger("p4nic.up")


def run_root() -> Path:
    """Where hosts keep their sockets and state, one directory per host name, and say that
    they are up: $P4NIC_RUN_ROOT, else p4nic-UID in the temporary directory."""
    return Path(os.environ.get(RUN_ROOT_VARIABLE)
                or Path(tempfile.gettempdir()) / f"p4nic-{os.getuid()}")


def registry() -> Path:
    """Where hosts that are up say where they are: NAME.json, the host's description."""
    return run_root() / "hosts"


def running_host(name: str | None) -> dict:
    """The description of the host `name` that is up (the only one, when name is None);
    ValueError saying what is up otherwise."""
    found = {}
    for path in sorted(registry().glob("*.json")):
        try:
            described = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if _alive(described.get("pid")):
            found[described["host"]] = described
    if name is not None:
        if name not in found:
            raise ValueError(f"no host named '{name}' is up"
                             + (f" (up: {', '.join(found)})" if found else ""))
        return found[name]
    if len(found) != 1:
        raise ValueError("no host is up: start one with `p4nic up HOST.nic`" if not found
                         else f"several hosts are up ({', '.join(found)}): name one")
    return next(iter(found.values()))


def _alive(pid) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _host_layout(model):
    """(host name, [HostNic], links, vnic name, pnic name) from the file's host block, or from
    its only VNIC and PNIC (VNIC port 0 wired to VF 1)."""
    by_name = {nic.name: nic for nic in model.nics}
    host = model.host
    if host is not None:
        name, vnic, pnic, vf = host.name, host.vnic, host.pnic, host.vf or 1
    else:
        vnics = [n.name for n in model.nics if n.kind == "vnic"]
        pnics = [n.name for n in model.nics if n.kind == "pnic"]
        if len(vnics) > 1 or len(pnics) > 1 or not (vnics or pnics):
            raise ValueError("the file names no host: give it a `host` block with one vnic "
                             "and one pnic (or name one of each)")
        name = (vnics or pnics)[0]
        vnic, pnic, vf = (vnics or [None])[0], (pnics or [None])[0], 1
    nics = []
    for nic_name in (vnic, pnic):
        if nic_name is None:
            continue
        target = by_name[nic_name]
        nics.append(HostNic(target.name, target.kind, target.device_id,
                            target.address, tuple(target.election_id)))
    links = [(vnic, 0, pnic, vf)] if vnic and pnic else []
    return name, nics, links, vnic, pnic


class RunningHost:
    """A host brought up from a file, with its guest and offload manager."""

    def __init__(self, path: Path, bmv2: bool, run_dir: Path | None, register: bool = True):
        from p4nic.dsl import load
        self.path = path
        self.register = register          # `p4nic up` registers; the demo's host does not
        self.model = load(path)
        self.name, specs, links, self.vnic, self.pnic = _host_layout(self.model)
        self.vf = links[0][3] if links else None
        self.run_dir = run_dir or run_root() / self.name
        self.registered = registry() / f"{self.name}.json"
        if register:
            self._refuse_if_up()
        self.host = Host(specs, links, self.run_dir, bmv2=bmv2, logger=log)
        self.entries = self.model.entries()
        self.mtime = path.stat().st_mtime
        self.manager = None
        self.guest_conn = None
        self.guest_app = None

    def _refuse_if_up(self) -> None:
        try:
            pid = json.loads(self.registered.read_text()).get("pid")
        except (OSError, json.JSONDecodeError):
            return
        if _alive(pid) and pid != os.getpid():
            raise HostError(f"host {self.name} is already up (process {pid}); stop it first")

    def start(self) -> None:
        self.host.start()
        for name in self.host.nics:
            self._apply(name)
        self._start_guest()
        if self.register:
            self.registered.parent.mkdir(parents=True, exist_ok=True)
            self._write(self.registered, self.describe())

    def _apply(self, name: str, conn: Connection | None = None) -> None:
        """Make NIC `name` hold the file's entries, through `conn` (default: the host's
        controller of it)."""
        from p4nic.dsl.apply import apply
        result = apply(self.entries[name], conn or self.host.controller(name))
        if not result.ok:
            raise HostError(f"applying {self.path} to {name} failed:\n{result.render()}")

    def _start_guest(self) -> None:
        """The guest behind the VNIC: its network stack on the queue ports, and, when the file
        gives the VNIC services, those services and the offload manager."""
        from p4nic.runtime.guest_app import GuestApp
        from p4nic.runtime.offload import Nic, OffloadManager
        from p4nic.runtime.services.engine import GuestServices
        if self.vnic is None:
            return
        vswitch = self.host.vswitch
        self.guest_app = GuestApp(lambda port, frame: vswitch.send(self.vnic, port, frame))
        queues = self._queues(self.vnic)
        for port in queues:
            vswitch.tap(self.vnic, port, lambda frame, port=port: self.guest_app.receive(port, frame))
        policy = self.model.services(self.vnic)
        if policy is None:
            return
        vnic = self.host.nics[self.vnic]
        if self.host.bmv2:
            # simple_switch_grpc's P4Runtime server (PI) has no roles: one primary controller
            # per device, which alone may write and alone receives packet-ins. The guest
            # shares the host's controller of its VNIC (docs/offload.md).
            self.guest_conn = self.host.controller(self.vnic)
        else:
            self.guest_conn = Connection(vnic.switch.grpc_addr, device_id=vnic.spec.device_id,
                                         role=GUEST_ROLE, election_id=(0, 1))
        builders = {name: EntityBuilder(nic.p4info_path) for name, nic in self.host.nics.items()}
        controller = self.host.controller
        self.manager = OffloadManager(
            GuestServices(policy), policy,
            vnic=Nic(self.vnic, lambda: controller(self.vnic), builders[self.vnic]),
            pnic=(Nic(self.pnic, lambda: controller(self.pnic), builders[self.pnic])
                  if self.pnic else None),
            guest_conn=self.guest_conn)
        self.manager.start()

    def _queues(self, vnic: str) -> list:
        return list(range(1, self.model.queues(vnic) + 1))

    def watch(self) -> None:
        """Restart NICs that died (and program them again); apply the file again when it
        changed; refresh status.json."""
        try:
            self.host.restart_dead(program=self._apply)
        except (HostError, LocalSwitchError, P4RuntimeClientError) as exc:
            print(f"p4nic up: a NIC did not come back: {exc}; trying again", file=sys.stderr,
                  flush=True)
        if self.path.stat().st_mtime != self.mtime:
            self.reload()
        self._write(self.run_dir / "status.json", self.status())

    def reload(self) -> None:
        """The file changed: check it, apply it to every NIC (plan/apply: only what changed),
        and give the offload manager its new policy. A file with errors changes nothing. The
        host's shape (which NICs, how wired) stays as it was started."""
        from p4nic.dsl import DslError, load
        self.mtime = self.path.stat().st_mtime
        try:
            model = load(self.path)
            if _host_layout(model)[1:] != _host_layout(self.model)[1:]:
                raise ValueError("its NICs or their wiring changed: stop the host and start it "
                                 "again for that")
        except (DslError, ValueError) as exc:
            print(f"p4nic up: {self.path} changed but is not applied: {exc}", file=sys.stderr)
            return
        self.model, self.entries = model, model.entries()
        try:
            for name in self.host.nics:
                self._apply(name)
        except HostError as exc:
            print(f"p4nic up: {self.path} changed: {exc}", file=sys.stderr, flush=True)
            return
        policy = model.services(self.vnic) if self.vnic else None
        if self.manager is not None and policy is not None:
            self.manager.set_policy(policy)
        print(f"p4nic up: {self.path} changed: applied", file=sys.stderr, flush=True)

    def describe(self) -> dict:
        endpoints = self.host.endpoints()
        return {"host": self.name, "file": str(self.path), "pid": os.getpid(),
                "target": "bmv2" if self.host.bmv2 else "p4nic",
                "compiler": self.host.compiler,
                "run_dir": str(self.run_dir), "vnic": self.vnic, "pnic": self.pnic,
                "vf": self.vf,
                "guest_role": GUEST_ROLE if self.guest_conn and not self.host.bmv2 else None,
                "nics": endpoints}

    def status(self) -> dict:
        stats = self.host.vswitch.stats if self.host.vswitch else {}
        ports = {}
        for (nic, port, way), count in sorted(stats.items()):
            ports.setdefault(nic, {}).setdefault(str(port), {})[way] = [count.packets, count.bytes]
        offload = self.manager.snapshot() if self.manager else {"flows": [], "moves": []}
        return {"host": self.name, "time": time.time(), "ports": ports,
                "guest_answered": self.guest_app.answered if self.guest_app else 0, **offload}

    @staticmethod
    def _write(path: Path, content: dict) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(content, indent=2))
        temporary.replace(path)

    def stop(self) -> None:
        if self.manager is not None:
            self.manager.stop()
        if self.guest_conn is not None and not self.host.bmv2:
            self.guest_conn.close()
        self.host.stop()
        (self.run_dir / "status.json").unlink(missing_ok=True)
        if self.register:
            self.registered.unlink(missing_ok=True)


def print_endpoints(described: dict, console: Console) -> None:
    console.print(f"[bold]host {described['host']} is up[/] ({described['target']}):")
    for name, nic in described["nics"].items():
        wired = ", ".join(map(str, nic["ports_wired"]))
        console.print(f"  {name} ({nic['kind']})  P4Runtime {nic['p4runtime']} device "
                      f"{nic['device_id']}  packets {nic['packet_socket']}"
                      + (f"  (port {wired} wired to the other NIC)" if wired else ""),
                      soft_wrap=True, highlight=False)
    first = next(iter(described["nics"].values()))
    console.print(f"p4runtime-shell: python -m p4runtime_sh --grpc-addr {first['p4runtime']} "
                  f"--device-id {first['device_id']} --election-id 0,0   (reads; the host "
                  "stays the NIC's primary controller)", soft_wrap=True)
    console.print(f"run directory: {described['run_dir']}")
    console.print("p4nic status --watch, p4nic traffic: see the host work")
    console.print("Ctrl-C stops the host.")


def _interrupt(*_):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="p4nic up", description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path, metavar="HOST.nic")
    parser.add_argument("--bmv2", action="store_true",
                        help="run the NICs on BMv2's simple_switch_grpc (found on PATH)")
    parser.add_argument("--json", action="store_true", help="print the endpoints as JSON")
    parser.add_argument("--run-dir", type=Path, metavar="DIR",
                        help=f"sockets and state (default: {run_root()}/HOST)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log moves and restarts")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if options.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    console = Console(stderr=options.json)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        running = RunningHost(options.file, options.bmv2, options.run_dir)
    except Exception as exc:       # DslError, a file without a host, a host already up
        print(f"p4nic up: {exc}", file=sys.stderr)
        return 1
    try:
        running.start()
        described = running.describe()
        if options.json:
            print(json.dumps(described), flush=True)
        else:
            print_endpoints(described, console)
        while True:
            time.sleep(REFRESH_S)
            running.watch()
    except KeyboardInterrupt:
        return 0
    except (HostError, LocalSwitchError, P4RuntimeClientError) as exc:
        print(f"p4nic up: {exc}", file=sys.stderr)
        return 1
    finally:
        running.stop()
