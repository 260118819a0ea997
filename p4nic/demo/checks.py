"""What the demo saw, what it expected, and the verdict for each step of a feature.

An `Event` is one thing a NIC did with the packets sent: a frame leaving a port, or a
packet-in reaching a controller. A step expects a set of events (`Leaves`, `PuntedTo`) and
passes only when exactly those happened — a frame on an extra port or an unexpected packet-in
fails it as surely as a missing one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from p4nic.demo.packets import summarize
from p4nic.runtime import nicdefs
from p4nic.runtime.tunnels import Tunnel, decapsulate

REASONS = {value: name[len("REASON_"):] for name, value in vars(nicdefs).items()
           if name.startswith("REASON_")}


def port_name(nic: str, port: int) -> str:
    """Ports by role (docs/pipelines.md, "Ports"): VNIC port q >= 1 is RX queue q; the demo
    gives the PNIC virtual functions on ports 1-3 and host queues on the ports above."""
    if port == 0:
        return f"{nic} uplink"
    if nic == "VNIC":
        return f"VNIC queue {port}"
    return f"PNIC VF {port}" if port <= 3 else f"PNIC host queue (port {port})"


def frame_text(frame: bytes, sent: bytes | None) -> str:
    return "the frame as sent" if frame == sent else summarize(frame)


@dataclass(frozen=True)
class Event:
    """A frame that left `nic` on `port`, or (port None) a packet-in to controller `to`."""
    nic: str
    frame: bytes
    port: int | None = None
    to: str = ""
    metadata: tuple = ()          # packet-in controller header fields, (name, value) pairs

    def describe(self, sent: bytes | None = None) -> str:
        if self.port is not None:
            return f"{port_name(self.nic, self.port)}: {frame_text(self.frame, sent)}"
        fields = dict(self.metadata)
        reason = REASONS.get(fields.get("reason"), fields.get("reason"))
        vni = f" vni {fields['vni']}" if fields.get("vni") else ""
        return f"packet-in to {self.to}, {reason}{vni}: {frame_text(self.frame, sent)}"


@dataclass
class Leaves:
    """A frame expected to leave `nic` on `port`: exactly `frame`, or a tunnel whose header and
    inner frame are `tunnel` (the outer UDP source port is flow entropy, so it is not compared)."""
    nic: str
    port: int
    frame: bytes | None = None
    tunnel: Tunnel | None = None

    def matches(self, event: Event) -> bool:
        if (event.nic, event.port) != (self.nic, self.port):
            return False
        if self.tunnel is not None:
            return decapsulate(event.frame) == self.tunnel
        return self.frame is None or event.frame == self.frame

    def describe(self, sent: bytes | None = None) -> str:
        if self.tunnel is not None:
            flag = " ⚑special" if self.tunnel.special else ""
            what = (f"{self.tunnel.kind.capitalize()} vni {self.tunnel.vni}{flag} "
                    f"[{frame_text(self.tunnel.inner, sent)}]")
        else:
            what = frame_text(self.frame, sent) if self.frame is not None else "a frame"
        return f"{port_name(self.nic, self.port)}: {what}"


@dataclass
class PuntedTo:
    """A packet-in expected at controller `to` with this reason (and VNI, frame if given)."""
    to: str
    reason: int
    frame: bytes | None = None
    vni: int | None = None

    def matches(self, event: Event) -> bool:
        fields = dict(event.metadata)
        return (event.port is None and event.to == self.to
                and fields.get("reason") == self.reason
                and (self.vni is None or fields.get("vni") == self.vni)
                and (self.frame is None or event.frame == self.frame))

    def describe(self, sent: bytes | None = None) -> str:
        vni = f" vni {self.vni}" if self.vni is not None else ""
        frame = f": {frame_text(self.frame, sent)}" if self.frame is not None else ""
        return f"packet-in to {self.to}, {REASONS[self.reason]}{vni}{frame}"


@dataclass
class Row:
    step: str
    sent: str
    expected: str
    observed: str
    passed: bool
    detail: str = ""           # why it failed, when the one-line texts look alike


@dataclass
class Feature:
    """One patent feature shown end to end: its steps' rows, or the error that stopped it."""
    title: str
    patent: str
    story: str
    rows: list = field(default_factory=list)
    writes: list = field(default_factory=list)   # (before step n, controller, what it wrote)
    error: str = ""

    @property
    def passed(self) -> bool:
        return bool(self.rows) and not self.error and all(row.passed for row in self.rows)

    def check(self, step: str, sent: bytes, where: tuple, expected: list, events: list) -> list:
        """Record whether `events` are exactly the `expected` ones, for the frame `sent` into
        `where` = (nic, port) — or a packet-out, where = (nic, None); returns the events."""
        left = list(events)
        missing = []
        for expectation in expected:
            found = next((e for e in left if expectation.matches(e)), None)
            if found is None:
                missing.append(expectation)
            else:
                left.remove(found)
        passed = not missing and not left
        detail = ""
        if not passed:
            detail = "; ".join([f"missing {m.describe()}" for m in missing]
                               + [f"unexpected {e.describe()}" for e in left])
            detail += _first_difference(missing, left)
        nic, port = where
        into = f"{nic} packet-out" if port is None else port_name(nic, port)
        self.rows.append(Row(step, f"{summarize(sent)}\n→ {into}",
                             "\n".join(e.describe(sent) for e in expected) or "nothing (dropped)",
                             "\n".join(e.describe(sent) for e in events) or "nothing (dropped)",
                             passed, detail))
        return events

    def check_value(self, step: str, what: str, expected, observed) -> None:
        """Record a value read back from a NIC (a counter, a table's state)."""
        passed = expected == observed
        self.rows.append(Row(step, what, str(expected), str(observed), passed,
                             "" if passed else f"{what}: expected {expected}, read {observed}"))


def _first_difference(missing: list, unexpected: list) -> str:
    """Where an expected frame and a frame seen on the same port first differ."""
    for expectation in missing:
        if not isinstance(expectation, Leaves) or expectation.frame is None:
            continue
        for event in unexpected:
            if (event.nic, event.port) == (expectation.nic, expectation.port):
                want, got = expectation.frame, event.frame
                offset = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b),
                              min(len(want), len(got)))
                return (f" (frames differ from byte {offset}: expected "
                        f"{want[offset:offset + 8].hex()}, got {got[offset:offset + 8].hex()})")
    return ""
