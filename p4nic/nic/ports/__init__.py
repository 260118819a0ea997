"""Packet ports: where packets enter and leave the software NIC.

Every port backend is a *packet source* with the same small shape, so the dataplane loop
(`dataplane.Dataplane`) can mix them and always moves packets in batches:

    source.ports          -> set of port numbers the source transmits on (None: every port)
    source.fileno()       -> a file descriptor readable when packets wait, or None to be polled
    source.receive(limit) -> list[(port, bytes)]   never blocks
    source.transmit(batch: list[(port, bytes)])    never blocks; drops what it cannot send
    source.close()

Backends: `nanomsg` (BMv2's packet-in protocol, what PTF's `nn` platform speaks), `rawsock`
(Linux interfaces), `files` (BMv2's `--use-files`); `pcap` writes and reads capture files.
"""


class PortError(Exception):
    """A port cannot be opened: bad address, missing interface or file, no permission."""
