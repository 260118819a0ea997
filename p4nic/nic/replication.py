"""The packet replication engine: multicast groups and clone (mirror) sessions.

simple_switch's PRE (docs/simple_switch.md, "multicast" and "clone"; src/bm_sim/simple_pre.cpp)
maps a multicast group to L1 nodes, each with a replication id (`egress_rid`) and a set of ports;
copies come out node by node, ports ascending within a node. P4Runtime's MulticastGroupEntry
lists replicas (egress_port, instance); here the replicas of one instance form one node, nodes in
order of first appearance. A clone session sends a copy to its replicas, optionally truncated
to `packet_length_bytes` (0: whole packet), with a class of service. A session may instead (or
as well) name a multicast group, as simple_switch's mirroring sessions do (`mirroring_add_mc`,
MirroringSessionConfig.mgid): its copies follow the group's members at packet time.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

from .tables import AlreadyExists, NotFound, TableError


class CloneSession(NamedTuple):
    """A clone session; `replicas` in packet-path order; `multicast_group` 0: none."""

    id: int
    replicas: tuple
    class_of_service: int
    packet_length_bytes: int
    multicast_group: int = 0


def _check_replicas(what: str, replicas: Sequence) -> tuple:
    """Validate [(port, rid), ...] and return them in replication order."""
    seen = set()
    nodes: dict = {}
    for replica in replicas:
        try:
            port, rid = replica
        except (TypeError, ValueError):
            raise TableError(f"{what}: replica {replica!r} is not (port, rid)") from None
        for label, value in (("port", port), ("rid", rid)):
            if not isinstance(value, int) or value < 0:
                raise TableError(f"{what}: replica {label} {value!r} must be an int >= 0")
        if (port, rid) in seen:
            raise TableError(f"{what}: duplicate replica (port {port}, rid {rid})")
        seen.add((port, rid))
        nodes.setdefault(rid, []).append(port)
    return tuple((port, rid) for rid, ports in nodes.items() for port in sorted(ports))


class Replication:
    """Multicast groups (id -> replicas) and clone sessions (id -> CloneSession).

    The packet path reads `multicast_groups[id]` / `clone_sessions[id]` (or `.get`); a missing
    group or session means no copies, as in BMv2.
    """

    def __init__(self):
        self.multicast_groups: dict = {}
        self.clone_sessions: dict = {}

    # ---- multicast -----------------------------------------------------------------------------

    def _group_id(self, group_id) -> int:
        if not isinstance(group_id, int) or group_id <= 0:
            raise TableError(f"multicast group id {group_id!r} must be an int > 0")
        return group_id

    def create_group(self, group_id: int, replicas: Sequence = ()):
        self._group_id(group_id)
        if group_id in self.multicast_groups:
            raise AlreadyExists(f"multicast group {group_id} already exists")
        self.multicast_groups[group_id] = _check_replicas(f"multicast group {group_id}", replicas)

    def modify_group(self, group_id: int, replicas: Sequence):
        self.get_group(group_id)
        self.multicast_groups[group_id] = _check_replicas(f"multicast group {group_id}", replicas)

    def delete_group(self, group_id: int):
        self.get_group(group_id)
        del self.multicast_groups[group_id]

    def get_group(self, group_id) -> tuple:
        self._group_id(group_id)
        replicas = self.multicast_groups.get(group_id)
        if replicas is None:
            raise NotFound(f"multicast group {group_id} does not exist")
        return replicas

    # ---- clone sessions ------------------------------------------------------------------------

    def _session(self, session_id, replicas, class_of_service, packet_length_bytes,
                 multicast_group) -> CloneSession:
        what = f"clone session {session_id}"
        if not isinstance(session_id, int) or session_id < 0:
            raise TableError(f"clone session id {session_id!r} must be an int >= 0")
        if not isinstance(class_of_service, int) or class_of_service < 0:
            raise TableError(f"{what}: class of service {class_of_service!r} must be >= 0")
        if not isinstance(packet_length_bytes, int) or packet_length_bytes < 0:
            raise TableError(f"{what}: packet length {packet_length_bytes!r} must be >= 0")
        if multicast_group:
            self._group_id(multicast_group)
        return CloneSession(session_id, _check_replicas(what, replicas), class_of_service,
                            packet_length_bytes, multicast_group)

    def create_session(self, session_id: int, replicas: Sequence, class_of_service: int = 0,
                       packet_length_bytes: int = 0, multicast_group: int = 0):
        session = self._session(session_id, replicas, class_of_service, packet_length_bytes,
                                multicast_group)
        if session_id in self.clone_sessions:
            raise AlreadyExists(f"clone session {session_id} already exists")
        self.clone_sessions[session_id] = session

    def modify_session(self, session_id: int, replicas: Sequence, class_of_service: int = 0,
                       packet_length_bytes: int = 0, multicast_group: int = 0):
        session = self._session(session_id, replicas, class_of_service, packet_length_bytes,
                                multicast_group)
        self.get_session(session_id)
        self.clone_sessions[session_id] = session

    def delete_session(self, session_id: int):
        self.get_session(session_id)
        del self.clone_sessions[session_id]

    def get_session(self, session_id) -> CloneSession:
        session = self.clone_sessions.get(session_id)
        if session is None:
            raise NotFound(f"clone session {session_id!r} does not exist")
        return session

    def clear(self):
        self.multicast_groups.clear()
        self.clone_sessions.clear()
