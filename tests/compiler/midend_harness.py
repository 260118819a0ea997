"""Shared by the midend and BMv2 back-end tests: compile P4 text, load it into the NIC, send."""
from __future__ import annotations

from p4nic.compiler.driver import compile_file
from p4nic.nic.device import Device

HEADERS = """
#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dstAddr; bit<48> srcAddr; bit<16> etherType; }
header ipv4_t {
    bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> totalLen; bit<16> identification;
    bit<3> flags; bit<13> fragOffset; bit<8> ttl; bit<8> protocol; bit<16> hdrChecksum;
    bit<32> srcAddr; bit<32> dstAddr;
}
struct headers { ethernet_t ethernet; ipv4_t ipv4; }
"""

PARSER = """
parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) { 0x0800: parse_ipv4; default: accept; }
    }
    state parse_ipv4 { pkt.extract(hdr.ipv4); transition accept; }
}
"""

TAIL = """
control VC(inout headers hdr, inout metadata meta) { apply { } }
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { %(egress)s } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.ethernet); pkt.emit(hdr.ipv4); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def ingress_program(apply: str, locals_: str = "", meta: str = "", egress: str = "",
                    extra: str = "") -> str:
    """A v1model program with the shared Ethernet/IPv4 parser and deparser around an ingress
    control made of `locals_` and `apply`."""
    return (HEADERS + f"struct metadata {{ {meta} }}\n" + extra + PARSER
            + "control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {\n"
            + locals_ + "\n apply {\n" + apply + "\n }\n}\n" + TAIL % {"egress": egress})


def compile_text(tmp_path, text: str, name: str = "prog.p4") -> dict:
    path = tmp_path / name
    path.write_text(text)
    return compile_file(str(path)).bmv2_json


def load(bmv2_json: dict) -> Device:
    dev = Device()
    dev.load(bmv2_json)
    return dev


def action_id(bmv2_json: dict, name: str) -> int:
    return next(a["id"] for a in bmv2_json["actions"] if a["name"] == name)


def eth(payload: bytes = b"", ether_type: int = 0x0800, dst: int = 1, src: int = 2) -> bytes:
    return dst.to_bytes(6, "big") + src.to_bytes(6, "big") + ether_type.to_bytes(2, "big") + payload


DATA_PROGRAM = """
#include <core.p4>
#include <v1model.p4>
header data_t { %(fields)s }
%(extra)s
struct headers { data_t d; }
struct metadata { %(meta)s }
parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.d); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    %(locals)s
    apply { %(apply)s }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.d); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def data_program(fields: str, apply: str, locals_: str = "", meta: str = "",
                 extra: str = "") -> str:
    """A program whose parser extracts one header `hdr.d` with `fields` from the front of
    the packet, runs `apply` in ingress and emits `hdr.d` back (egress port 0)."""
    return DATA_PROGRAM % {"fields": fields, "apply": apply, "locals": locals_, "meta": meta,
                           "extra": extra}


def run_once(tmp_path, text: str, packet: bytes, port: int = 0) -> list:
    """Compile, load and send one packet; the (port, bytes) list that comes out."""
    return load(compile_text(tmp_path, text)).process([(port, packet)])
