"""Converge a running NIC to what a `.nic` file declares: `plan` reads and diffs, `apply` writes.

    from p4nic.dsl.apply import plan, apply
    with Connection(address, election_id=(0, 1)) as conn:
        p = plan(nic_entries, conn)       # reads what the file may own, in one Read
        print(p.render())                 # + add, ~ modify, - delete, in the file's words
        result = apply(p, conn, atomic=True)
        result.ok, result.outcomes        # per update: applied, failed (with the NIC's error), ...

It speaks plain P4Runtime, so it converges simple_switch_grpc exactly as `p4nic switch`.

Writes go out one phase per Write batch (members and multicast groups, groups, table entries,
group deletes, member deletes; see plan.py), so references hold after every batch and the NIC
is consistent wherever a failure stops the apply. Without `atomic`, the batch that fails is
applied as far as the NIC could (CONTINUE_ON_ERROR) and no later batch is sent. With
`atomic`, each batch is sent DATAPLANE_ATOMIC, or ROLLBACK_ON_ERROR where the NIC does not
offer that, or CONTINUE_ON_ERROR where it offers neither (PI, simple_switch_grpc's server,
implements only CONTINUE_ON_ERROR: device_mgr.cpp answers UNIMPLEMENTED); whatever was applied
before the failure is then undone by writing each change's inverse, newest batch first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import grpc
from p4nic.proto import p4runtime_pb2

from p4nic.dsl import collector
from p4nic.dsl.installed import read_installed, read_scope
from p4nic.dsl.model import NicEntries
from p4nic.dsl.plan import DELETE, Change, Plan, PlanError, make_plan
from p4nic.runtime.connection import P4RuntimeClientError, WriteError
from p4nic.runtime.p4info import P4InfoNames

__all__ = ["plan", "apply", "undo", "Plan", "Change", "PlanError", "ApplyResult", "Outcome"]

WriteRequest = p4runtime_pb2.WriteRequest
# Updates per Write request: large enough that a Write costs little per update, small enough
# to stay far below gRPC's 4 MiB default message limit (a VNIC filter update is ~100 bytes).
MAX_UPDATES_PER_WRITE = 4096
# Whole-request failures after which the NIC may or may not have applied the request.
UNKNOWN_OUTCOME = (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE,
                   grpc.StatusCode.CANCELLED)

APPLIED, FAILED, NOT_APPLIED, ROLLED_BACK, UNKNOWN = (
    "applied", "failed", "not applied", "rolled back", "unknown")


# -- plan ------------------------------------------------------------------------------------

def program_names(nic_entries: NicEntries, connection) -> P4InfoNames:
    """The P4Info the NIC runs, checked against the one the entries were built for."""
    try:
        running = connection.get_p4info()
    except P4RuntimeClientError as exc:
        raise PlanError(f"{connection.address}: cannot read the NIC's program ({exc})") from None
    if not running.tables and not running.actions:
        raise PlanError(f"{connection.address}: the NIC runs no program yet (push one with "
                        "`p4nic up` or SetForwardingPipelineConfig)")
    wanted = nic_entries.target.p4info
    if wanted is not None:
        mismatch = program_mismatch(running, P4InfoNames(wanted).p4info)
        if mismatch:
            raise PlanError(f"{nic_entries.target.name} ({connection.address}) runs another "
                            f"program than the file was checked against: {mismatch}")
    return P4InfoNames(running)


def program_mismatch(running, wanted) -> Optional[str]:
    """The first table, action or action profile `wanted` has that `running` lacks or shapes
    differently (name, match fields, params), or None."""
    def shape(kind, obj):
        if kind == "tables":
            return [(f.id, f.name, f.bitwidth, f.match_type) for f in obj.match_fields]
        if kind == "actions":
            return [(p.id, p.name, p.bitwidth) for p in obj.params]
        return list(obj.table_ids)

    for kind in ("tables", "actions", "action_profiles"):
        have = {o.preamble.id: o for o in getattr(running, kind)}
        for obj in getattr(wanted, kind):
            other = have.get(obj.preamble.id)
            if other is None or other.preamble.name != obj.preamble.name:
                return f"the NIC has no {kind[:-1].replace('_', ' ')} '{obj.preamble.name}' " \
                       f"(id {obj.preamble.id:#x})"
            if shape(kind, other) != shape(kind, obj):
                return f"'{obj.preamble.name}' differs between the NIC's program and the file's"
    return None


@collector.pausing
def plan(nic_entries: NicEntries, connection) -> Plan:
    """What `apply` would write to make the NIC behind `connection` hold `nic_entries`."""
    names = program_names(nic_entries, connection)
    entry_tables, default_tables, profiles, multicast = set(), set(), set(), False
    for desired in nic_entries.entities:
        entity = desired.entity
        kind = entity.WhichOneof("entity")
        if kind == "table_entry":
            (default_tables if entity.table_entry.is_default_action else entry_tables).add(
                entity.table_entry.table_id)
        elif kind in ("action_profile_member", "action_profile_group"):
            profiles.add(getattr(entity, kind).action_profile_id)
        elif kind == "packet_replication_engine_entry":
            multicast = True
    try:
        default_tables |= {names.table(n).preamble.id for n in nic_entries.managed_defaults}
        profiles |= {names.action_profile(n).preamble.id for n in nic_entries.managed_profiles}
    except ValueError as exc:
        raise PlanError(f"{nic_entries.target.name}: {exc}") from None
    scope = read_scope(names, connection.role, entry_tables, default_tables, profiles, multicast)
    installed = read_installed(connection, scope, names)
    return make_plan(nic_entries, installed, names)


# -- apply -----------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What became of one change of the plan."""
    change: Change
    status: str = NOT_APPLIED            # APPLIED, FAILED, NOT_APPLIED, ROLLED_BACK, UNKNOWN
    error: Optional[str] = None          # the NIC's error, "CODE: message"
    reason: str = "not sent: an earlier write failed"


@dataclass
class ApplyResult:
    """One NIC's apply: an Outcome per change of the plan, in plan order."""
    plan: Plan
    outcomes: list
    atomicity: str                       # the WriteRequest atomicity the batches went out with
    notes: list = field(default_factory=list)
    rolled_back: bool = False            # an atomic apply failed and all it wrote was undone

    @property
    def ok(self) -> bool:
        return all(o.status == APPLIED for o in self.outcomes)

    @property
    def applied(self) -> list:
        """The changes now on the NIC, in write order."""
        return [o.change for o in self.outcomes if o.status == APPLIED]

    def with_status(self, status: str) -> list:
        return [o for o in self.outcomes if o.status == status]

    def render(self, **options) -> str:
        from p4nic.dsl.render import plain, result_lines
        return plain(result_lines(self, **options))

    def __str__(self) -> str:
        return self.render()


class _BatchWriter:
    """Sends Write batches, settling once per NIC on the strongest atomicity it offers."""

    def __init__(self, connection, atomic: bool):
        self.connection = connection
        self.modes = ([WriteRequest.DATAPLANE_ATOMIC, WriteRequest.ROLLBACK_ON_ERROR,
                       WriteRequest.CONTINUE_ON_ERROR] if atomic
                      else [WriteRequest.CONTINUE_ON_ERROR])
        self.notes: list = []

    @property
    def mode(self) -> int:
        return self.modes[0]

    @property
    def server_atomic(self) -> bool:
        return self.mode != WriteRequest.CONTINUE_ON_ERROR

    def write(self, updates: list) -> list:
        """Write (Update.Type, serialized Entity) pairs; per update None (done) or
        (status, "CODE: message")."""
        while True:
            try:
                self.connection.write_serialized(updates, atomicity=self.mode)
                return [None] * len(updates)
            except WriteError as exc:
                if exc.code == grpc.StatusCode.UNIMPLEMENTED and not exc.errors \
                        and len(self.modes) > 1:
                    self.fall_back()
                    continue
                if not exc.errors:       # the whole request was refused, or its fate is unknown
                    status = UNKNOWN if exc.code in UNKNOWN_OUTCOME else FAILED
                    return [(status, f"{exc.code.name}: {exc}")] * len(updates)
                errors = [None] * len(updates)
                for index, code, message in exc.errors:
                    if index < len(updates):
                        errors[index] = (FAILED, f"{code}: {message}")
                return errors

    def fall_back(self):
        refused = WriteRequest.Atomicity.Name(self.modes.pop(0))
        if self.server_atomic:
            self.notes.append(f"{self.connection.address} does not offer {refused} (it answered "
                              f"UNIMPLEMENTED): batches went out "
                              f"{WriteRequest.Atomicity.Name(self.mode)}")
        else:
            self.notes.append(f"{self.connection.address} offers neither DATAPLANE_ATOMIC nor "
                              "ROLLBACK_ON_ERROR (simple_switch_grpc's PI implements only "
                              "CONTINUE_ON_ERROR): p4nic undoes a failed apply itself, and "
                              "packets may see it half done until then")


def _chunks(changes: list) -> list:
    return [changes[i:i + MAX_UPDATES_PER_WRITE]
            for i in range(0, len(changes), MAX_UPDATES_PER_WRITE)]


@collector.pausing
def apply(plan_or_entries, connection, atomic: bool = False) -> ApplyResult:
    """Write a Plan (or the plan of NicEntries) to the NIC behind `connection`.

    Never raises for what the NIC refuses: the result says, per change, what was applied.
    Raises PlanError when the plan has conflicts (nothing is written then).
    """
    the_plan = plan_or_entries if isinstance(plan_or_entries, Plan) else plan(plan_or_entries,
                                                                             connection)
    if the_plan.conflicts:
        raise PlanError(f"{the_plan.target.name}: {len(the_plan.conflicts)} declared "
                        "entit{} would overwrite what another controller wrote; nothing was "
                        "applied (see `p4nic plan`)".format(
                            "y" if len(the_plan.conflicts) == 1 else "ies"))
    writer = _BatchWriter(connection, atomic)
    outcomes = {id(change): Outcome(change) for change in the_plan.changes}
    written: list = []                    # changes the NIC holds, in write order
    failed = False
    for batch in the_plan.batches():
        for chunk in _chunks(batch):
            errors = writer.write([change.update() for change in chunk])
            failed = any(errors)
            rolled_back_by_nic = failed and writer.server_atomic
            for change, error in zip(chunk, errors):
                outcome = outcomes[id(change)]
                if rolled_back_by_nic and (error is None or error[1].startswith("ABORTED")):
                    outcome.reason = "not applied: the NIC rolled its batch back"
                elif error is None:
                    outcome.status = APPLIED
                    written.append(change)
                else:
                    outcome.status, outcome.error = error
            if failed:
                break
        if failed:
            break
    result = ApplyResult(the_plan, [outcomes[id(c)] for c in the_plan.changes],
                         WriteRequest.Atomicity.Name(writer.mode), writer.notes)
    if failed and atomic and written:
        undone = undo(written, connection)
        for change, error in undone:
            outcome = outcomes[id(change)]
            if error is None:
                outcome.status = ROLLED_BACK
            else:
                outcome.error = f"undo failed: {error}"
        left = sum(1 for _, error in undone if error)
        result.rolled_back = not left
        if left:
            result.notes.append(f"undoing this apply failed for {left} update(s): the NIC "
                                "still holds them (marked 'applied' below)")
    return result


def undo(changes: list, connection) -> list:
    """Write the inverse of applied `changes` (in write order), newest phase first; returns
    (change, None or "CODE: message") per change. ApplyResult.applied is such a list."""
    by_phase: dict = {}
    for change in changes:
        by_phase.setdefault(change.phase, []).append(change)
    done = []
    writer = _BatchWriter(connection, atomic=False)
    for phase in sorted(by_phase, reverse=True):
        # Deletes went first in their phase, so putting them back comes last.
        ordered = sorted(by_phase[phase], key=lambda c: c.action == DELETE)
        for chunk in _chunks(ordered):
            errors = writer.write([change.undo() for change in chunk])
            done += [(change, error and error[1]) for change, error in zip(chunk, errors)]
    return done

