"""A PTF base test for P4Runtime targets: subclass `P4RuntimeTest` to write a suite.

Everything target-specific comes from PTF test parameters (``--test-params "k='v';..."``), so
one suite runs against `p4nic switch` and simple_switch_grpc alike:

  grpc_addr    P4Runtime address                      default "127.0.0.1:9559"
               (`grpcaddr`, as p4c's PTF runner names it, works too)
  device_id    P4Runtime device id                    default 0
  election_id  election id low word (high is 0)       default 1
  p4info       P4Info file (text or binary)           default: read from the device
  config       device config (BMv2 JSON) to push      default: use the running pipeline
  (`json` is accepted as a synonym of `config`, as in p4lang's PTF runners)

A suite that drives several devices (say a VNIC and a PNIC as PTF devices 0 and 1) opens one
more `Target` per device with `self.open_target("pnic_")`, which reads the same parameters with
that prefix (`pnic_grpc_addr`, `pnic_p4info`, ...).

Each test starts with the pipeline's tables as they were and leaves them so: what a test
inserts through these classes is deleted in tearDown, and default actions it changes are
restored, so tests do not depend on each other's order. `self.apply_nic_file(path)` converges
the target to what a pipeline DSL file declares for it (p4nic.dsl.apply), and tearDown puts
back what that changed, after undoing the test's other writes.
"""
from __future__ import annotations

import time
from pathlib import Path

import ptf
import ptf.testutils as tu
from ptf.base_tests import BaseTest
from p4nic.proto import p4runtime_pb2

from p4nic.runtime.connection import Connection, WriteError
from p4nic.runtime.entities import EntityBuilder, as_entity
from p4nic.runtime.p4info import load_p4info

# Per PTF process: the pipeline is pushed once, not by every test.
_PUSHED = set()


def _param(name: str, default=None):
    value = tu.test_param_get(name)
    return default if value is None else value


class Target:
    """One P4Runtime device a test programs: connection, entity builder, and undo log."""

    def __init__(self, test: BaseTest, prefix: str = ""):
        self.fail = test.fail
        self.grpc_addr = str(_param(prefix + "grpc_addr",
                                    _param(prefix + "grpcaddr", "127.0.0.1:9559")))
        self.device_id = int(_param(prefix + "device_id", 0))
        election_low = int(_param(prefix + "election_id", 1))
        self.conn = Connection(self.grpc_addr, device_id=self.device_id,
                               election_id=(0, election_low))
        self._cleanup: list = []         # key-only entities in write order
        self._defaults: list = []        # default TableEntry messages to restore
        self._nic_files: list = []       # p4nic.dsl.apply.ApplyResult of each apply_nic_*
        try:
            if not self.conn.is_primary:
                self.fail(f"{self.grpc_addr}: another controller is primary for device "
                          f"{self.device_id}")
            p4info_path = _param(prefix + "p4info")
            config_path = _param(prefix + "config", _param(prefix + "json"))
            p4info = load_p4info(p4info_path) if p4info_path else self.conn.get_p4info()
            key = (self.grpc_addr, self.device_id)
            if config_path and key not in _PUSHED:
                self.conn.set_pipeline(p4info, Path(config_path).read_bytes())
                _PUSHED.add(key)
            self.p4 = EntityBuilder(p4info)
        except Exception:
            self.conn.close()
            raise

    def close(self):
        """Undo what the test wrote, then disconnect."""
        try:
            for entry in reversed(self._defaults):
                self.conn.modify(entry)
            # Newest first, one Write per run of same-kind entities: table entries go before
            # the groups and members they point at.
            batch = []
            for entity in reversed(self._cleanup):
                if batch and entity.WhichOneof("entity") != batch[-1].WhichOneof("entity"):
                    self.conn.delete(*batch)
                    batch = []
                batch.append(entity)
            if batch:
                self.conn.delete(*batch)
            self.undo_nic_files()
        finally:
            self.conn.close()

    # -- writes that are undone in tearDown ---------------------------------------------------

    def insert(self, *entities):
        """Insert entities (table entries, members, groups, multicast groups, ...)."""
        self.conn.insert(*entities)
        for entity in entities:
            entity = as_entity(entity)
            if entity.WhichOneof("entity") != "digest_entry":
                self._cleanup.append(self._key_only(entity))

    def delete(self, *entities):
        """Delete entities now (and forget them for tearDown)."""
        self.conn.delete(*entities)
        gone = [self._key_only(as_entity(e)).SerializeToString() for e in entities]
        self._cleanup = [e for e in self._cleanup if e.SerializeToString() not in gone]

    @staticmethod
    def _key_only(entity: p4runtime_pb2.Entity) -> p4runtime_pb2.Entity:
        """What a DELETE needs: the entity without its action / data."""
        key = p4runtime_pb2.Entity()
        key.CopyFrom(entity)
        if key.WhichOneof("entity") == "table_entry":
            key.table_entry.ClearField("action")
            key.table_entry.ClearField("idle_timeout_ns")
        return key

    def add_entry(self, table: str, match: dict | None = None, action: str | None = None,
                  params: dict | None = None, priority: int | None = None, **kwargs):
        """Insert one table entry; returns it (pass it to delete() to remove it early)."""
        entry = self.p4.table_entry(table, match, action, params, priority, **kwargs)
        self.insert(entry)
        return entry

    def set_default(self, table: str, action: str, params: dict | None = None):
        """Change a table's default action until the end of the test."""
        query = self.p4.table_entry(table, default=True)
        current = [e.table_entry for e in self.conn.read(query)
                   if e.table_entry.is_default_action]
        entry = self.p4.table_entry(table, action=action, params=params, default=True)
        self.conn.modify(entry)
        if current:
            original = current[0]
            for data in ("counter_data", "meter_config", "meter_counter_data"):
                original.ClearField(data)
            self._defaults.append(original)

    def add_member(self, profile: str, member_id: int, action: str, params: dict | None = None):
        self.insert(self.p4.action_profile_member(profile, member_id, action, params))

    def add_group(self, profile: str, group_id: int, members, max_size: int = 0):
        self.insert(self.p4.action_profile_group(profile, group_id, members, max_size))

    def add_multicast_group(self, group_id: int, replicas):
        self.insert(self.p4.multicast_group(group_id, replicas))

    def enable_digest(self, name: str, **config):
        """Turn a digest's notifications on, or reconfigure them if an earlier test did."""
        entry = self.p4.digest_entry(name, **config)
        try:
            self.conn.insert(entry)
        except WriteError as exc:
            if [code for _, code, _ in exc.errors] != ["ALREADY_EXISTS"]:
                raise
            self.conn.modify(entry)

    # -- pipeline DSL files -------------------------------------------------------------------

    def apply_nic_file(self, path, nic: str | None = None):
        """Make the target hold what a `.nic` file declares for it (undone in tearDown).

        The file's NIC is `nic`, else its only NIC, else the one whose address is this
        target's; it is written over this target's connection, whatever address it names.
        """
        try:
            from p4nic.dsl import load
        except ImportError:
            self.fail("apply_nic_file needs the pipeline DSL front end (p4nic.dsl.load)")
        entries = load(str(path)).entries()
        if nic is None:
            matching = [n for n, e in entries.items() if e.target.address == self.grpc_addr]
            nic = next(iter(entries)) if len(entries) == 1 else (matching or [None])[0]
        if nic not in entries:
            self.fail(f"{path}: say which NIC to apply (apply_nic_file(path, nic=...)); "
                      f"it names {', '.join(entries) or 'none'}")
        return self.apply_nic_entries(entries[nic])

    def apply_nic_entries(self, nic_entries):
        """Converge the target to one NIC's p4nic.dsl.model.NicEntries, all or nothing."""
        from p4nic.dsl.apply import apply
        result = apply(nic_entries, self.conn, atomic=True)
        if not result.ok:
            self.fail(f"applying {nic_entries.target.name} failed:\n{result.render()}")
        self._nic_files.append(result)
        return result

    def undo_nic_files(self):
        """Put back what apply_nic_file / apply_nic_entries changed, newest first."""
        from p4nic.dsl.apply import undo
        while self._nic_files:
            result = self._nic_files.pop()
            failed = [error for _, error in undo(result.applied, self.conn) if error]
            if failed:
                raise RuntimeError(f"restoring the target after {result.plan.target.name} "
                                   f"failed for {len(failed)} update(s): {failed[0]}")

    # -- reads --------------------------------------------------------------------------------

    def direct_counter(self, table_entry) -> tuple:
        """(packets, bytes) of one entry's direct counter."""
        found = self.conn.read(self.p4.direct_counter_entry(table_entry))
        data = found[0].direct_counter_entry.data if found else None
        return (data.packet_count, data.byte_count) if data else (0, 0)

    def counter(self, name: str, index: int) -> tuple:
        """(packets, bytes) of one cell of an indexed counter."""
        found = self.conn.read(self.p4.counter_entry(name, index))
        data = found[0].counter_entry.data if found else None
        return (data.packet_count, data.byte_count) if data else (0, 0)

    # -- packet I/O ---------------------------------------------------------------------------

    def send_packet_out(self, packet, **metadata):
        """Send a frame (bytes or scapy packet) to the device's CPU port by P4Runtime."""
        self.conn.send_packet_out(self.p4.packet_out(bytes(packet), **metadata))

    def verify_packet_in(self, expected=None, timeout: float = 10.0, **metadata):
        """Wait for a packet-in; check its frame (bytes, scapy or ptf Mask) and metadata fields.

        Returns the parsed PacketIn. Packet-ins that do not match are skipped until the timeout,
        as ptf's verify_packet skips unrelated frames.
        """
        deadline = time.monotonic() + timeout
        seen = []
        while (left := deadline - time.monotonic()) > 0:
            message = self.conn.packet_in(timeout=left)
            if message is None:
                break
            packet_in = self.p4.parse_packet_in(message)
            fields_match = all(packet_in.metadata.get(k) == v for k, v in metadata.items())
            if fields_match and (expected is None or _frame_matches(expected, packet_in.payload)):
                return packet_in
            seen.append(packet_in)
        self.fail(f"no packet-in with {metadata or 'any metadata'} matching the expected frame "
                  f"within {timeout}s; got {len(seen)} other(s): "
                  + "; ".join(f"{p.metadata} {p.payload[:32].hex()}" for p in seen[:3]))

    def verify_no_packet_in(self, timeout: float = 0.5):
        message = self.conn.packet_in(timeout=timeout)
        if message is not None:
            packet_in = self.p4.parse_packet_in(message)
            self.fail(f"unexpected packet-in {packet_in.metadata} {packet_in.payload[:32].hex()}")

    def verify_digest(self, name: str, timeout: float = 10.0) -> list:
        """Wait for a digest list of `name`, ack it, and return its samples as dicts."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self.conn.digest(timeout=left)
            if message is None:
                break
            self.conn.ack_digest(message)
            digest = self.p4.parse_digest(message)
            if digest.name == self.p4.names.get("digests", name).preamble.name:
                return digest.samples
        self.fail(f"no digest '{name}' within {timeout}s")


class P4RuntimeTest(BaseTest):
    """Connects to the target named by the test parameters, pushes the pipeline once, and
    cleans up after each test. The `Target` helpers are methods of the test itself."""

    HELPERS = ("insert", "delete", "add_entry", "set_default", "add_member", "add_group",
               "add_multicast_group", "enable_digest", "apply_nic_file", "apply_nic_entries",
               "undo_nic_files", "direct_counter", "counter",
               "send_packet_out", "verify_packet_in", "verify_no_packet_in", "verify_digest")

    def setUp(self):
        BaseTest.setUp(self)
        self.dataplane = ptf.dataplane_instance
        self.dataplane.flush()
        self._targets = []
        self.target = self.open_target()
        self.conn, self.p4 = self.target.conn, self.target.p4
        for helper in self.HELPERS:
            setattr(self, helper, getattr(self.target, helper))

    def open_target(self, prefix: str = "") -> Target:
        """Another device, from the test parameters that start with `prefix`."""
        target = Target(self, prefix)
        self._targets.append(target)
        return target

    def tearDown(self):
        try:
            for target in reversed(self._targets):
                target.close()
        finally:
            BaseTest.tearDown(self)


def _frame_matches(expected, payload: bytes) -> bool:
    """ptf's rule: a Mask compares under its mask, anything else byte for byte."""
    if hasattr(expected, "pkt_match"):
        return expected.pkt_match(payload)
    return bytes(expected) == payload
