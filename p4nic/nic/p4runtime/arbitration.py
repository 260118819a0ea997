"""Client arbitration: which StreamChannel is primary for each (device, role), and who may write.

Follows P4Runtime spec "Client Arbitration and Controller Replication": the primary of a role is
the live controller whose election id equals the highest election id ever received for that
role; when it leaves, the role has no primary until a controller sends an id at least that high.
Roles are those the P4 program names (`roles.RoleRules`: `@p4runtime_role` annotations and the
packet I/O role annotations); the default role "" has full pipeline access. A role config
(`Role.config`, an opaque Any whose meaning the spec leaves to the target) is accepted and
ignored, as PI's simple_switch_grpc server does: what a role may do is set by the program alone.
A role the program does not name is refused (NOT_FOUND).
"""
import threading
from dataclasses import dataclass, field

import grpc
from google.rpc import code_pb2
from p4nic.proto import p4runtime_pb2

from p4nic.nic.p4runtime.errors import P4RuntimeError, invalid

# PI keeps at most 16 live StreamChannels per device (proto/server/pi_server.cpp max_connections).
MAX_CONTROLLERS_PER_ROLE = 16


def election_key(message) -> tuple | None:
    """A Uint128 election id as a comparable (high, low) tuple; None when unset."""
    if not message.HasField("election_id"):
        return None
    return (message.election_id.high, message.election_id.low)


def unknown_role(role: str, known_roles: set) -> str:
    named = ", ".join(f"'{name}'" for name in sorted(known_roles) if name)
    return (f"unknown role '{role}': the P4 program's roles are the default role ''"
            + (f" and {named}" if named else ""))


class Controller:
    """One StreamChannel and what it arbitrated; responses go out through its `session`
    (`send(response)`, `send_serialized(kind, bytes)`, `end(error)`; session.py)."""

    def __init__(self, session):
        self.session = session
        self.send = session.send
        self.role = None             # role name once arbitrated
        self.election_id = None      # (high, low) or None

    def __str__(self):
        """For log lines: the client's address, and its role and election id once arbitrated."""
        if self.role is None:
            return f"{self.session.name} (not arbitrated)"
        election = "none" if self.election_id is None else f"{self.election_id[0]}:{self.election_id[1]}"
        return f"{self.session.name} (role '{self.role}', election id {election})"


@dataclass
class RoleState:
    controllers: list = field(default_factory=list)
    highest: tuple | None = None     # highest election id ever received for this role
    primary: Controller | None = None


class Arbitrator:
    """Arbitration state of one device, shared by StreamChannel, Write and notification senders."""

    def __init__(self, device_id: int):
        self.device_id = device_id
        self.lock = threading.Lock()
        self.roles: dict[str, RoleState] = {}
        # role -> its primary's election id, remade whole at each change (read without the lock)
        self.primary_ids: dict[str, tuple] = {}

    # -- StreamChannel side ---------------------------------------------------------------------

    def update(self, controller: Controller, update: p4runtime_pb2.MasterArbitrationUpdate,
               known_roles: set | None):
        """Apply one MasterArbitrationUpdate; raises P4RuntimeError to end the stream.
        `known_roles`: the roles of the pipeline (None before one is set: any role is taken,
        and the ones a pipeline then lacks are dropped by `remove_roles`)."""
        role_name = update.role.name
        election_id = election_key(update)
        with self.lock:
            if controller.role is None:
                if update.device_id != self.device_id:
                    raise P4RuntimeError(grpc.StatusCode.NOT_FOUND,
                                         f"unknown device id {update.device_id}")
                if known_roles is not None and role_name not in known_roles:
                    raise P4RuntimeError(grpc.StatusCode.NOT_FOUND, unknown_role(role_name,
                                                                               known_roles))
                state = self.roles.setdefault(role_name, RoleState())
                self._check_unique(state, controller, election_id)
                if len(state.controllers) >= MAX_CONTROLLERS_PER_ROLE:
                    raise P4RuntimeError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                         "too many controllers for this role")
                state.controllers.append(controller)
                controller.role = role_name
            else:
                if update.device_id != self.device_id:
                    raise P4RuntimeError(grpc.StatusCode.FAILED_PRECONDITION,
                                         "device id differs from the one of this stream")
                if role_name != controller.role:
                    raise P4RuntimeError(grpc.StatusCode.FAILED_PRECONDITION,
                                         "role differs from the one of this stream")
                state = self.roles[role_name]
                self._check_unique(state, controller, election_id)
            controller.election_id = election_id
            self._elect(state, controller)

    def remove(self, controller: Controller):
        """The stream of `controller` ended: forget it, and tell the others if it was primary."""
        with self.lock:
            state = self.roles.get(controller.role)
            if state is None or controller not in state.controllers:
                return              # never arbitrated, or its role went with a pipeline change
            state.controllers.remove(controller)
            if state.primary is controller:
                state.primary = None
                self._note_primaries()
                self._notify(state, controller.role, state.controllers)

    def remove_roles(self, keep: set) -> list:
        """Forget the controllers of every role not in `keep` (a new pipeline's roles); returns
        them, for their streams to be ended."""
        with self.lock:
            gone = [role for role in self.roles if role not in keep]
            removed = [controller for role in gone
                       for controller in self.roles.pop(role).controllers]
            self._note_primaries()
            return removed

    def _note_primaries(self):
        """After each change of primary, before anyone is told of it."""
        self.primary_ids = {role: state.primary.election_id
                            for role, state in self.roles.items() if state.primary is not None}

    @staticmethod
    def _check_unique(state, controller, election_id):
        if election_id is None:
            return
        for other in state.controllers:
            if other is not controller and other.election_id == election_id:
                raise invalid("election id already used by another controller of this role")

    def _elect(self, state: RoleState, controller: Controller):
        """Spec "Rules for Handling MasterArbitrationUpdate Messages", after acceptance."""
        election_id = controller.election_id
        role = controller.role
        if election_id is not None and (state.highest is None or election_id >= state.highest):
            had_primary = state.primary is not None
            state.primary = controller
            state.highest = election_id
            self._note_primaries()
            if had_primary:
                self._notify(state, role, [c for c in state.controllers if c is not controller])
                self._notify(state, role, [controller])
            else:
                self._notify(state, role, state.controllers)
        elif state.primary is controller:
            state.primary = None            # a primary downgraded itself
            self._note_primaries()
            self._notify(state, role, state.controllers)
        else:
            self._notify(state, role, [controller])

    def _notify(self, state: RoleState, role: str, controllers):
        for controller in controllers:
            response = p4runtime_pb2.StreamMessageResponse()
            arbitration = response.arbitration
            arbitration.device_id = self.device_id
            if role:
                arbitration.role.name = role
            if state.highest is not None:
                arbitration.election_id.high, arbitration.election_id.low = state.highest
            if state.primary is controller:
                arbitration.status.code = code_pb2.OK
                arbitration.status.message = "is primary"
            elif state.primary is not None:
                arbitration.status.code = code_pb2.ALREADY_EXISTS
                arbitration.status.message = "is backup"
            else:
                arbitration.status.code = code_pb2.NOT_FOUND
                arbitration.status.message = "no primary"
            controller.send(response)

    # -- unary RPC side -------------------------------------------------------------------------

    def check_primary(self, device_id: int, role: str, request, known_roles) -> None:
        """Spec checks for Write / SetForwardingPipelineConfig: NOT_FOUND, then PERMISSION_DENIED.

        Like simple_switch_grpc (PI pi_server.cpp), a role with no live controller accepts
        requests that carry no election id, which keeps grpc_cli-style tools usable.
        """
        if device_id != self.device_id:
            raise P4RuntimeError(grpc.StatusCode.NOT_FOUND, f"unknown device id {device_id}")
        if role and known_roles is not None and role not in known_roles:
            raise P4RuntimeError(grpc.StatusCode.NOT_FOUND, unknown_role(role, known_roles))
        election_id = election_key(request)
        if self.sent_by_primary(role, election_id):
            return
        if election_id is None:
            with self.lock:
                state = self.roles.get(role)
                if state is None or not state.controllers:
                    return
        raise P4RuntimeError(grpc.StatusCode.PERMISSION_DENIED, "not primary")

    def sent_by_primary(self, role: str, election_id: tuple | None) -> bool:
        """Whether `election_id` is that of `role`'s primary (as of its last change)."""
        return election_id is not None and self.primary_ids.get(role) == election_id

    def primaries(self) -> dict:
        """role name -> the primary Controller, for roles that have one."""
        with self.lock:
            return {role: s.primary for role, s in self.roles.items() if s.primary is not None}

    def is_primary(self, controller: Controller) -> bool:
        with self.lock:
            state = self.roles.get(controller.role)
            return state is not None and state.primary is controller
