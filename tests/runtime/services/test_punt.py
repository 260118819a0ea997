"""The guest serving its VNIC: flows the VNIC has no entry for are punted to the guest
(packet-in), run through the engine and returned (packet-out) into the VNIC's RX or TX path;
once the guest writes the engine's entries under its role, the VNIC serves the flow itself."""
import ipaddress

from scapy.layers.l2 import ARP, Ether

from p4nic.runtime.nicdefs import PORT_FIRST_QUEUE, PORT_UPLINK
from p4nic.runtime.services import Direction, GuestServices, Verdict
from p4nic.runtime.services.entries import TABLE
from p4nic.runtime.services.policy import DestinationNat, FlowMatch, ServicePolicy, SourceNat
from p4nic.runtime.services.punt import PuntServer
from svc_helpers import DEADLINE, tcp, udp

POLICY = ServicePolicy(
    dnat=(DestinationNat(FlowMatch(dst=ipaddress.ip_network("10.0.0.2/32"), proto=6),
                         ipaddress.ip_address("192.168.1.2"), 8080),),
    snat=(SourceNat(FlowMatch(src=ipaddress.ip_network("192.168.1.0/24"), proto=17),
                    ipaddress.ip_address("10.0.0.2"), (30000, 30099)),))


def test_the_guest_serves_punted_packets_then_hands_the_flow_to_its_vnic(vnic):
    services = GuestServices(POLICY)
    server = PuntServer(services, vnic.guest.conn, vnic.guest.p4)
    server.take_punts()
    try:
        # RX: a new connection from the uplink reaches the guest, not the queue
        syn = tcp("10.0.0.1", "10.0.0.2", 21001, 80, "S", 1000)
        assert vnic.exchange(PORT_UPLINK, syn) == []
        served = server.serve(timeout=DEADLINE)
        assert served.verdict is Verdict.FORWARD and served.offload_ready
        assert served.connection.opened == Direction.RX
        assert vnic.wait_for_frames() == [(PORT_FIRST_QUEUE, served.frame)]
        # TX: the guest's own new flow, punted from its queue, leaves by the uplink SNATed
        query = udp("192.168.1.2", "8.8.8.8", 5353, 53, b"query")
        assert vnic.exchange(PORT_FIRST_QUEUE, query) == []
        sent = server.serve(timeout=DEADLINE)
        assert sent.connection.opened == Direction.TX
        assert vnic.wait_for_frames() == [(PORT_UPLINK, sent.frame)]
        # not IP: punted as well, and returned as it was
        arp = bytes(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="10.0.0.2"))
        assert vnic.exchange(PORT_UPLINK, arp) == []
        assert server.serve(timeout=DEADLINE).connection is None
        assert vnic.wait_for_frames() == [(PORT_FIRST_QUEUE, arp)]
        # the guest offloads the TCP flow: its next packets never reach the guest
        vnic.guest.insert(*[entry.table_entry(vnic.guest.p4)
                            for entry in services.flow_entries(served.connection)])
        services.offloaded(served.connection, "vnic")
        syn_ack = tcp("192.168.1.2", "10.0.0.1", 8080, 21001, "SA", 5000, 1001)
        reference = services.process(syn_ack, Direction.TX)
        # out before the marker, so the VNIC served it (a punt would come back later, by gRPC)
        assert vnic.exchange(PORT_FIRST_QUEUE, syn_ack) == [(PORT_UPLINK, reference.frame)]
    finally:
        vnic.guest.restore()
        vnic.guest.conn.modify(vnic.guest.p4.table_entry(TABLE, action="svc_continue",
                                                         default=True))
