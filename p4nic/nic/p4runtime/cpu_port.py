"""What a program expects of the CPU port, so that a switch started without `--cpu-port`, or
with another one than the program's, says so instead of failing silently.

By convention a v1model program takes packet-outs on the port its parser tests before it
extracts the `@controller_header("packet_out")` header
(`transition select(standard_metadata.ingress_port) { CPU_PORT: parse_packet_out; ... }`),
and sends packet-ins to that same port. Like simple_switch_grpc, the switch does not guess:
`--cpu-port` alone decides; these checks only warn.
"""
from p4nic.nic.p4runtime.translate import PacketMetadataInfo


def program_cpu_ports(bmv2_json: dict, packet_out: PacketMetadataInfo) -> set[int]:
    """Ports on which the program's parsers extract the packet_out controller header."""
    layout = [(name, width) for _, name, width in packet_out.fields]
    types = {t.get("name") for t in bmv2_json.get("header_types", [])
             if [tuple(f[:2]) for f in t.get("fields", [])] == layout}
    headers = {h.get("name") for h in bmv2_json.get("headers", []) if h.get("header_type") in types}
    ports = set()
    for parser in bmv2_json.get("parsers", []):
        states = {state.get("name"): state for state in parser.get("parse_states", [])}
        for state in states.values():
            if [k.get("value") for k in state.get("transition_key", [])] != [
                    ["standard_metadata", "ingress_port"]]:
                continue
            for transition in state.get("transitions", []):
                target = states.get(transition.get("next_state"))
                if (transition.get("type") == "hexstr" and transition.get("mask") is None
                        and target is not None and _extracts(target, headers)):
                    ports.add(int(transition["value"], 16))
    return ports


def _extracts(state: dict, headers: set) -> bool:
    return any(op.get("op") == "extract" and op["parameters"][0].get("value") in headers
               for op in state.get("parser_ops", []))


def cpu_port_warnings(bmv2_json: dict, packet_in, packet_out, cpu_port: int | None) -> list[str]:
    """Warnings for a program with controller headers on a switch whose CPU port (None: not
    set) does not fit it."""
    if packet_in is None and packet_out is None:
        return []
    try:
        expected = sorted(program_cpu_ports(bmv2_json, packet_out)) if packet_out else []
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        expected = []       # an unusual JSON layout: no guess, only the basic warning
    ports = " or ".join(map(str, expected))
    if cpu_port is None:
        where = f" (its parser takes packet-outs on port {ports})" if expected else ""
        return [f"the P4 program has controller headers{where} but the switch has no CPU port: "
                "P4Runtime packet-in and packet-out are off, and what the program sends to the "
                f"CPU leaves on a data port; start the switch with --cpu-port "
                f"{expected[0] if expected else 'PORT'}"]
    if expected and cpu_port not in expected:
        return [f"the P4 program takes packet-outs on port {ports} (its parser extracts the "
                f"packet_out header there) but the CPU port is {cpu_port}: packet-outs reach the "
                f"program as data, and its packet-ins leave on data port {ports}; start the "
                f"switch with --cpu-port {expected[0]}"]
    return []
