"""Stateful services in software: what a guest runs for a flow's first packets, and the
reference behaviour the VNIC and PNIC flow tables must reproduce once the flow is offloaded.

docs/internals.md, "Guest service engine", has the module map and the entry contract."""
from p4nic.runtime.services.conntrack import ORIGINAL, REPLY, Connection, Direction, Timeouts
from p4nic.runtime.services.engine import GuestServices, Result, Verdict
from p4nic.runtime.services.entries import FlowEntry, NotOffloadable

__all__ = ["ORIGINAL", "REPLY", "Connection", "Direction", "FlowEntry", "GuestServices",
           "NotOffloadable", "Result", "Timeouts", "Verdict"]
