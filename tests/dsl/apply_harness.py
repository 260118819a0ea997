"""Shared by the plan/apply tests: vnic.p4 on a `p4nic switch` process, and NicEntries built
the way the DSL front end builds them (EntityBuilder entities, each with the statement it
comes from; match entries and multicast groups carry the ownership cookie)."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

from google.protobuf import text_format
from p4nic.proto import p4runtime_pb2

from p4nic import pipelines
from p4nic.compiler.errors import SourceLocation
from p4nic.dsl.model import OWNER_COOKIE, DesiredEntity, NicEntries, NicTarget, Origin
from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import EntityBuilder, as_entity
from p4nic.runtime.local_switch import LocalSwitch

SELECTOR = "VnicIngress.steering.node_queue_selector"
# A switch keeps the highest election id it has seen per role, and only a controller with at
# least that id is primary (P4Runtime spec, "Client Arbitration"): every controller a test
# opens takes the next one, so the last to connect is the primary.
_ELECTIONS = itertools.count(2)


def next_election() -> tuple:
    return (0, next(_ELECTIONS))


def vnic_program():
    """(BMv2 JSON bytes, P4Info) of p4src/vnic.p4, compiled once per test process."""
    compiled = pipelines.compiled("vnic")
    return json.dumps(compiled.bmv2_json).encode(), compiled.p4info


def start_vnic(workdir: Path) -> LocalSwitch:
    """A `p4nic switch` process for vnic.p4 (its pipeline not pushed yet: see fresh_pipeline)."""
    config, p4info = vnic_program()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "vnic.json").write_bytes(config)
    (workdir / "vnic.p4info.txtpb").write_text(text_format.MessageToString(p4info))
    return LocalSwitch(workdir / "vnic.json", workdir, p4info_path=workdir / "vnic.p4info.txtpb")


def fresh_pipeline(address: str):
    """Push vnic.p4 again: every table, profile and group back to the program's state."""
    config, p4info = vnic_program()
    with Connection(address, election_id=next_election()) as conn:
        conn.set_pipeline(p4info, config)


def read_all(conn) -> list:
    """Every table entry, default entry, member, group and multicast group, serialized and
    sorted: two equal lists mean two equal NIC states."""
    queries = [p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry()),
               p4runtime_pb2.Entity(action_profile_member=p4runtime_pb2.ActionProfileMember()),
               p4runtime_pb2.Entity(action_profile_group=p4runtime_pb2.ActionProfileGroup()),
               p4runtime_pb2.Entity(packet_replication_engine_entry=p4runtime_pb2
                                    .PacketReplicationEngineEntry())]
    defaults = [p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry(
        table_id=t.preamble.id, is_default_action=True)) for t in vnic_program()[1].tables
        if not t.implementation_id]
    return sorted(e.SerializeToString() for e in conn.read(*queries, *defaults))


class FileBuilder:
    """A `.nic` file's entries for one VNIC, statement by statement (line numbers count up)."""

    def __init__(self, address: str | None, name: str = "vm1", file: str = "vm1.nic", **target):
        self.p4 = EntityBuilder(vnic_program()[1])
        self.target = NicTarget(name, "vnic", address, p4info=self.p4.p4info, **target)
        self.file = file
        self.entities: list = []
        self.managed_defaults: set = set()
        self.managed_profiles: set = set()

    def origin(self, statement: str, line: int | None = None) -> Origin:
        line = line or len(self.entities) + 1
        return Origin(SourceLocation(self.file, line, 5, "    " + statement), statement)

    def add(self, statement, message, line=None):
        entity = as_entity(message)
        self.entities.append(DesiredEntity(entity, self.origin(statement, line)))
        return entity

    def entry(self, statement, table, match, action=None, params=None, priority=None,
              line=None, **kwargs):
        message = self.p4.table_entry(table, match, action, params, priority, **kwargs)
        message.metadata = OWNER_COOKIE
        return self.add(statement, message, line)

    def default(self, statement, table, action, params=None, line=None):
        message = self.p4.table_entry(table, action=action, params=params, default=True)
        self.managed_defaults.add(self.p4.names.table(table).preamble.name)
        return self.add(statement, message, line)

    def member(self, statement, member_id, action, params=None, line=None):
        self.managed_profiles.add(SELECTOR)
        return self.add(statement, self.p4.action_profile_member(SELECTOR, member_id, action,
                                                                  params), line)

    def group(self, statement, group_id, members, line=None):
        self.managed_profiles.add(SELECTOR)
        return self.add(statement, self.p4.action_profile_group(SELECTOR, group_id, members),
                         line)

    def multicast(self, statement, group_id, replicas, line=None):
        message = self.p4.multicast_group(group_id, replicas)
        message.metadata = OWNER_COOKIE
        return self.add(statement, message, line)

    def build(self, managed_defaults=(), managed_profiles=()) -> NicEntries:
        return NicEntries(self.target, list(self.entities),
                          frozenset(self.managed_defaults | set(managed_defaults)),
                          frozenset(self.managed_profiles | set(managed_profiles)))

    def without(self, *statements) -> NicEntries:
        """The file with the statements (by text) removed."""
        built = self.build()
        built.entities = [d for d in built.entities if d.origin.statement not in statements]
        return built
