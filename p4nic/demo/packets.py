"""The demo's addresses and frames, built with scapy, and one-line summaries of frames.

Addresses follow the PTF suites (tests/ptf/suites/nic_base.py): the guest behind the VNIC is
10.0.0.2 / GUEST_MAC, its peer across the physical network 10.0.0.1 / PEER_MAC, and the two
tunnel endpoints HOST_IP (this host's PNIC) and REMOTE_IP.
"""
from __future__ import annotations

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Raw

from p4nic.runtime.nicdefs import UDP_PORT_GENEVE, UDP_PORT_VXLAN
from p4nic.runtime.tunnels import decapsulate, encapsulate

GUEST_MAC = "00:00:00:00:0a:01"
PEER_MAC = "00:00:00:00:0b:01"
HOST_MAC = "00:00:00:00:aa:01"
REMOTE_MAC = "00:00:00:00:bb:01"
BROADCAST = "ff:ff:ff:ff:ff:ff"
GUEST_IP = "10.0.0.2"
PEER_IP = "10.0.0.1"
HOST_IP = "192.0.2.1"
REMOTE_IP = "192.0.2.2"
VNI = 100
PAYLOAD = b"p4nic demo payload"


def tcp(src=PEER_IP, dst=GUEST_IP, sport=1234, dport=80, *, eth_src=PEER_MAC,
        eth_dst=GUEST_MAC, vlan=None, tos=0, ttl=64, flags="S") -> bytes:
    """A TCP segment (a SYN unless told) with a short payload, from the peer to the guest
    unless told otherwise."""
    frame = Ether(src=eth_src, dst=eth_dst)
    if vlan is not None:
        frame = frame / Dot1Q(vlan=vlan)
    return bytes(frame / IP(src=src, dst=dst, tos=tos, ttl=ttl)
                 / TCP(sport=sport, dport=dport, flags=flags) / Raw(PAYLOAD))


def from_guest(sport: int, dport=80) -> bytes:
    """A TCP frame the guest transmits to its peer."""
    return tcp(GUEST_IP, PEER_IP, sport, dport, eth_src=GUEST_MAC, eth_dst=PEER_MAC)


def arp_request(sender_ip=GUEST_IP, target_ip=PEER_IP, sender_mac=GUEST_MAC) -> bytes:
    return bytes(Ether(src=sender_mac, dst=BROADCAST)
                 / ARP(op="who-has", hwsrc=sender_mac, psrc=sender_ip, pdst=target_ip))


def tunnelled(inner: bytes, kind="geneve", vni=VNI, special=False) -> bytes:
    """`inner` as it arrives on the PNIC's uplink from the remote tunnel endpoint."""
    return bytes(encapsulate(inner, kind, vni, special=special, outer_smac=REMOTE_MAC,
                             outer_dmac=HOST_MAC, sip=REMOTE_IP, dip=HOST_IP))


def tunnel_params(vni=VNI) -> dict:
    """encap_geneve / encap_vxlan parameters: this host's endpoint towards the remote one."""
    return {"vni": vni, "smac": HOST_MAC, "dmac": REMOTE_MAC, "sip": HOST_IP, "dip": REMOTE_IP}


def rewrite(frame: bytes, *, src=None, dst=None, sport=None, dport=None, eth_src=None,
            eth_dst=None, ttl=None) -> bytes:
    """The frame with some fields changed and its checksums recomputed, as a software
    service (the guest's NAT) or an expected NIC rewrite produces it."""
    packet = Ether(frame)
    for layer, changes in ((Ether, {"src": eth_src, "dst": eth_dst}),
                           (IP, {"src": src, "dst": dst, "ttl": ttl}),
                           (TCP, {"sport": sport, "dport": dport}),
                           (UDP, {"sport": sport, "dport": dport})):
        if layer in packet:
            for name, value in changes.items():
                if value is not None:
                    setattr(packet[layer], name, value)
    for layer in (IP, TCP, UDP):
        if layer in packet:
            del packet[layer].chksum
    return bytes(packet)


def summarize(frame: bytes) -> str:
    """One line a network engineer reads at a glance: tunnel, VLAN, L3/L4 and marks."""
    tunnel = decapsulate(frame) if _is_tunnel(frame) else None
    if tunnel is not None:
        flag = " ⚑special" if tunnel.special else ""
        return f"{tunnel.kind.capitalize()} vni {tunnel.vni}{flag} [{summarize(tunnel.inner)}]"
    packet = Ether(frame)
    text = f"VLAN {packet[Dot1Q].vlan} " if Dot1Q in packet else ""
    if ARP in packet:
        return text + f"ARP who-has {packet[ARP].pdst} tell {packet[ARP].psrc}"
    ip = packet[IP] if IP in packet else packet[IPv6] if IPv6 in packet else None
    if ip is None:
        return text + f"Ethernet type {packet.type:#06x} to {packet.dst}"
    l4 = next((packet[layer] for layer in (TCP, UDP) if layer in packet), None)
    if l4 is not None:
        text += f"{type(l4).__name__} {ip.src}:{l4.sport} → {ip.dst}:{l4.dport}"
    elif ICMP in packet:
        text += f"ICMP {ip.src} → {ip.dst}"
    else:
        text += f"IP proto {ip.proto if IP in packet else ip.nh} {ip.src} → {ip.dst}"
    marks = []
    if IP in packet and packet[IP].tos:
        marks.append(f"dscp {packet[IP].tos >> 2}")
    if IP in packet and packet[IP].ttl != 64:
        marks.append(f"ttl {packet[IP].ttl}")
    if packet.dst not in (GUEST_MAC, PEER_MAC, BROADCAST):
        marks.append(f"dmac {packet.dst}")
    return text + (f" ({', '.join(marks)})" if marks else "")


def _is_tunnel(frame: bytes) -> bool:
    packet = Ether(frame)
    return UDP in packet and packet[UDP].dport in (UDP_PORT_GENEVE, UDP_PORT_VXLAN)
