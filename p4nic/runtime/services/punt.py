"""The guest's end of its VNIC: punted packets in (packet-in), served packets out (packet-out).

With `services.flow_table`'s default action set to `svc_to_guest`, the VNIC hands the guest
every packet of a flow it has no entry for (reason REASON_SERVICE). The guest runs it through
`GuestServices` and returns what passes with a packet-out that re-enters the VNIC where the
packet came in (`port` = its ingress port, mode PKT_OUT_INJECT) skipping the services stage the
guest just ran (bypass STAGE_SERVICES), with its connection-tracking state (ct_state) for the
stages after it: an RX packet goes on to the guest's queue, a TX packet
on to the uplink.
"""
from __future__ import annotations

from p4nic.runtime.nicdefs import (PKT_OUT_INJECT, PORT_UPLINK, REASON_SERVICE,
                                   STAGE_SERVICES)
from p4nic.runtime.services.conntrack import Direction
from p4nic.runtime.services.engine import GuestServices, Result, Verdict
from p4nic.runtime.services.entries import TABLE


class PuntServer:
    """Serves one VNIC's punted packets over a P4Runtime connection of the guest's role.

    connection: p4nic.runtime.connection.Connection; builder: the VNIC's EntityBuilder."""

    def __init__(self, services: GuestServices, connection, builder):
        self.services = services
        self.connection = connection
        self.builder = builder

    def take_punts(self) -> None:
        """Make the VNIC punt every packet of a flow without an entry (default svc_to_guest)."""
        self.connection.modify(self.builder.table_entry(TABLE, action="svc_to_guest",
                                                        default=True))

    def serve(self, timeout: float = 1.0) -> Result | None:
        """Serve the next packet-in: run it through the services and send it back if it
        passes. None if none came within `timeout` s or it was punted for another reason."""
        message = self.connection.packet_in(timeout)
        return None if message is None else self.handle(message)

    def handle(self, message) -> Result | None:
        """Serve one packet-in message (serve() without the wait, for a caller that reads
        the stream itself); None if it was punted for another reason than the services."""
        punted = self.builder.parse_packet_in(message)
        if punted.metadata.get("reason") != REASON_SERVICE:
            return None
        port = punted.metadata.get("ingress_port", PORT_UPLINK)
        direction = Direction.RX if port == PORT_UPLINK else Direction.TX
        result = self.services.process(punted.payload, direction)
        if result.verdict is Verdict.FORWARD:
            self.connection.send_packet_out(self.builder.packet_out(
                result.frame, port=port, mode=PKT_OUT_INJECT, bypass=STAGE_SERVICES,
                ct_state=result.ct_state))
        return result
