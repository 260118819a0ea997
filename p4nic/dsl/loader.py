"""`load(path)`: a `.nic` file (and what it includes) parsed, checked and compiled: a `Model`.

This is the DSL's one entry point: `p4nic check`, `p4nic entries`, plan/apply, `p4nic up` and
PTF suites call it. Every error of every file is collected before `DslError` is raised;
warnings stay on the model.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from p4nic.compiler.errors import CompileError, SourceLocation
from p4nic.dsl import ast, values
from p4nic.dsl.analysis import analyse
from p4nic.dsl.check import NicChecker, nic_target, program_setting, relative
from p4nic.dsl.compile import nic_entries, summaries
from p4nic.dsl.errors import Diagnostics, DslError, location, suggest
from p4nic.dsl.parser import parse
from p4nic.runtime.p4info import P4InfoError, load_p4info


@dataclass(frozen=True)
class Host:
    """A `host` block: which VNIC and PNIC form the host, and the PNIC VF the VNIC's port 0
    is wired to (what `p4nic up` starts and connects)."""
    name: str
    vnic: Optional[str]
    pnic: Optional[str]
    vf: Optional[int]
    loc: SourceLocation


class Model:
    """A loaded file: its NICs, what each wants installed, services, hosts, stage chains."""

    def __init__(self, checked: list, hosts: list, warnings: list):
        self._checked = {c.target.name: c for c in checked}
        self._entries = None
        self.nics = [c.target for c in checked]
        self.hosts = hosts
        self.warnings = warnings

    @property
    def host(self) -> Optional[Host]:
        """The file's host (the first, if it has several), or None."""
        return self.hosts[0] if self.hosts else None

    def entries(self) -> dict:
        """{NIC name: NicEntries}, in the file's order (P4Runtime messages are built on the
        first call: checking a file needs none)."""
        if self._entries is None:
            self._entries = {name: nic_entries(c) for name, c in self._checked.items()}
        return dict(self._entries)

    def services(self, nic: str):
        """The VNIC's ServicePolicy (None if it has no services block)."""
        return self._nic(nic).services

    def stage_chains(self, nic: str) -> list:
        """Per flow profile of a VNIC with a pipeline block: which flows, and their stages
        (`checked.StageChain`); [] without one."""
        return list(self._nic(nic).chains)

    def summaries(self, nic: str) -> list:
        """One readable line per entity of `entries()[nic]`, in the same order."""
        return summaries(self._nic(nic))

    def entity_count(self, nic: str) -> int:
        """How many entities `entries()` holds for the NIC (without building them)."""
        checked = self._nic(nic)
        return (len(checked.entries) + len(checked.members) + len(checked.groups)
                + len(checked.multicast))

    def host_queues(self, nic: str) -> list:
        """The PNIC ports its numa block names as the host's queues."""
        return list(self._nic(nic).host_queues)

    def table_entries(self, nic: str, table: str) -> list:
        """The entries (checked.Entry: P4Info names, resolved numbers) the file gives one of
        the NIC's tables, named by a unique suffix ("encap.tunnel")."""
        checked = self._nic(nic)
        full = checked.names.table(table).preamble.name
        return [entry for entry in checked.entries if entry.table == full and not entry.default]

    def queues(self, nic: str) -> int:
        """The RX queues a VNIC declares (its ports 1..queues)."""
        return self._nic(nic).queues

    def plan(self, connection, nic: str | None = None):
        """What applying the file would change on one of its NICs (the only one, when `nic` is
        None), reached over `connection` (dsl.apply.plan)."""
        from p4nic.dsl.apply import plan
        return plan(self.entries()[self._one(nic)], connection)

    def apply(self, connection, nic: str | None = None, atomic: bool = False):
        """Make one of the file's NICs hold what the file declares (dsl.apply.apply)."""
        from p4nic.dsl.apply import apply
        return apply(self.entries()[self._one(nic)], connection, atomic=atomic)

    def _one(self, nic: str | None) -> str:
        if nic is not None:
            return self._nic(nic).target.name
        if len(self._checked) != 1:
            raise ValueError(f"the file names {len(self._checked)} NICs: say which")
        return next(iter(self._checked))

    def _nic(self, name: str):
        if name not in self._checked:
            raise KeyError(f"no NIC named '{name}' in the file"
                           + suggest(name, self._checked))
        return self._checked[name]


def load(path, p4info=None) -> Model:
    """Parse, check and compile a `.nic` file. `p4info` (a path or P4Info message) is the
    program of every generic `nic` that names none. Raises DslError listing every error."""
    errors = Diagnostics()
    items = _read(str(path), None, errors, [])
    defines = values.Defines()
    nics, hosts = [], []
    for item in items:
        if isinstance(item, ast.Define):
            if item.name in defines.values:
                first = defines.values[item.name]
                errors.error(f"${item.name} is defined twice (first at line {first.loc.line})",
                             item.loc)
            else:
                defines.values[item.name] = item.values
        elif isinstance(item, ast.Nic):
            nics.append(item)
        elif isinstance(item, ast.Host):
            hosts.append(item)
            nics += item.nics
    seen = {}
    checked = []
    for nic in nics:
        if nic.name in seen:
            errors.error(f"NIC {nic.name} is declared twice (first at {seen[nic.name]})", nic.loc)
            continue
        seen[nic.name] = nic.loc
        info = _program(nic, p4info, errors)
        target = nic_target(nic, defines, errors, info)
        if info is None:
            continue
        result = NicChecker(nic, defines, errors, info, target).run()
        analyse(result, errors)
        checked.append(result)
    found_hosts = [_host(h, {c.target.name: c for c in checked}, defines, errors)
                   for h in hosts]
    errors.fail()
    return Model(checked, [h for h in found_hosts if h], errors.warnings)


def _read(path: str, at: Optional[SourceLocation], errors, stack: list) -> list:
    """The items of a file, its includes spliced in where they stand."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        errors.error(f"cannot read {path}: {reason}", at)
        return []
    parsed = parse(text, path, errors)
    if parsed is None:
        return []
    items = []
    here = os.path.normpath(path)
    for item in parsed.items:
        if not isinstance(item, ast.Include):
            items.append(item)
            continue
        target = os.path.normpath(os.path.join(os.path.dirname(path), item.path))
        if target in stack + [here]:
            chain = " -> ".join(stack + [here, target])
            errors.error(f"include cycle: {chain}", item.loc)
            continue
        items += _read(target, item.loc, errors, stack + [here])
    return items


def _program(nic: ast.Nic, default_p4info, errors):
    """The P4Info a NIC's entries are built for."""
    setting = program_setting(nic)
    if setting is not None:
        if not isinstance(setting.value, str):
            errors.error(f"{setting.name} takes a file name in quotes", setting.loc)
            return None
        path = relative(setting.value, setting.loc)
        try:
            if setting.name == "program":
                return _compiled(str(path.resolve()), _mtime(path))
            return load_p4info(path)
        except (P4InfoError, CompileError, OSError) as exc:
            message = exc.message if isinstance(exc, CompileError) else str(exc)
            errors.error(f"cannot use {setting.value}: {message}", setting.loc)
            return None
    if nic.kind in ("vnic", "pnic"):
        from p4nic.pipelines import compiled
        return compiled(nic.kind).p4info
    if default_p4info is not None:
        try:
            return load_p4info(default_p4info)
        except P4InfoError as exc:
            errors.error(str(exc), nic.loc)
            return None
    errors.error(f"nic {nic.name} names no P4 program: add `p4info \"FILE.p4info.txtpb\"` or "
                 "`program \"FILE.p4\"` (or pass --p4info)", nic.loc)
    return None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@functools.lru_cache(maxsize=16)
def _compiled(path: str, mtime: float):
    """A `.p4` program's P4Info, compiled by p4nic's compiler (once per file version)."""
    del mtime
    if not Path(path).is_file():
        raise OSError(f"no such file: {path}")
    from p4nic.compiler.driver import compile_file
    return compile_file(path, include_dirs=[str(Path(path).parent)]).p4info


def _host(host: ast.Host, checked: dict, defines, errors):
    vnics = [n for n in host.nics if n.kind == "vnic"]
    pnics = [n for n in host.nics if n.kind == "pnic"]
    other = [n for n in host.nics if n.kind not in ("vnic", "pnic")]
    ok = True
    if len(vnics) > 1 or len(pnics) > 1 or other:
        extra = (vnics[1:] + pnics[1:] + other)[0]
        errors.error(f"host {host.name} holds one vnic and one pnic", extra.loc)
        ok = False
    vf = None
    if len(host.links) > 1:
        errors.error(f"host {host.name} is linked twice (first at line {host.links[0].loc.line})",
                     host.links[1].loc)
        ok = False
    if host.links:
        try:
            vf = values.integer(host.links[0].vf, defines, "VF", 1, 254)
        except values.BadValue as exc:
            errors.error(exc.message, (exc.value or host.links[0].vf).loc)
            return None
        if pnics and pnics[0].name in checked:
            vfs = checked[pnics[0].name].target
            count = _vf_count(pnics[0], defines)
            if vf > count:
                errors.error(f"VF {vf} does not exist: {vfs.name} has VFs 1-{count} "
                             "(set `vfs N`)", host.links[0].vf.loc)
                ok = False
    elif vnics and pnics:
        errors.error(f"host {host.name}: say which VF of {pnics[0].name} the VNIC's port 0 is "
                     "wired to: `link vf N`", host.loc)
        ok = False
    if not ok:
        return None
    return Host(host.name, vnics[0].name if vnics else None,
                pnics[0].name if pnics else None, vf, location(host.loc))


def _vf_count(nic: ast.Nic, defines) -> int:
    for setting in nic.statements:
        if isinstance(setting, ast.Setting) and setting.name == "vfs":
            try:
                return values.integer(setting.value, defines, "vfs", 1, 254)
            except values.BadValue:
                return 1
    return 1


__all__ = ["load", "Model", "Host", "DslError"]
