"""A packet for a port outside v1model's 0..511 on the nanomsg socket: dropped with an error
line in the switch log, and the socket keeps serving (switch as a process, raw protocol)."""
import time

import pynng
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from p4nic.nic.ports.nanomsg import HEADER, MSG_INFO_REP, MSG_INFO_REQ, MSG_PACKET_IN, \
    MSG_PACKET_OUT
from p4nic.runtime.connection import Connection
from p4nic.runtime.entities import EntityBuilder
from p4nic.runtime.local_switch import LocalSwitch

GUEST_MAC = "00:00:00:00:0a:01"
WAIT = 30.0


def next_message(sock, kind):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        message = sock.recv()
        if HEADER.unpack_from(message)[0] == kind:
            return message
    raise AssertionError(f"no message of type {kind}")


def test_out_of_range_ports_are_dropped_with_a_log_line(tmp_path):
    with LocalSwitch.pipeline("vnic", tmp_path,
                              switch_args=["--log-console", "-L", "error"]) as switch:
        p4 = EntityBuilder(switch.p4info_path)
        with Connection(switch.grpc_addr, election_id=(0, 1)) as conn:
            conn.set_pipeline(switch.p4info_path, switch.json_path.read_bytes())
            conn.insert(p4.table_entry("filters", {"dstAddr": GUEST_MAC}, "filter_to_queue",
                                       {"queue": 3}, priority=10))
        frame = bytes(Ether(dst=GUEST_MAC) / IP(src="10.0.0.1", dst="10.0.0.5") / UDP())
        with pynng.Pair0(recv_timeout=int(WAIT * 1000)) as sock:
            sock.dial(switch.packet_socket, block=True)
            sock.send(HEADER.pack(MSG_INFO_REQ, 0, 0))
            next_message(sock, MSG_INFO_REP)
            for port in (600, 512, -1, 0):
                sock.send(HEADER.pack(MSG_PACKET_IN, port, len(frame)) + frame)
            out = next_message(sock, MSG_PACKET_OUT)
            assert HEADER.unpack_from(out)[1] == 3       # only port 0's packet came out
            assert out[HEADER.size:] == frame
        log = switch.log_path.read_text()
    for port in (600, 512, -1):
        assert (f"nanomsg: packet on port {port} dropped: ports are 0..511 "
                "(v1model's 9-bit port)") in log
