"""p4nic.runtime.nicdefs and tunnels agree with the P4 source they describe."""
import re
from pathlib import Path

from scapy.layers.l2 import Ether
from scapy.layers.inet import IP, TCP

from p4nic.runtime import nicdefs
from p4nic.runtime.tunnels import decapsulate, encapsulate

P4SRC = Path(__file__).resolve().parents[2] / "p4src"
CONST = re.compile(r"^const bit<\d+> (\w+) = (0x[0-9A-Fa-f]+|\d+);", re.M)


def p4_constants() -> dict:
    found = {}
    for path in [P4SRC / "include" / "headers.p4", P4SRC / "pnic.p4"]:
        for name, value in CONST.findall(path.read_text()):
            found[name] = int(value, 0)
    return found


def test_every_python_constant_matches_the_p4_source():
    p4 = p4_constants()
    python = {k: v for k, v in vars(nicdefs).items() if k.isupper()}
    assert python, "nicdefs has no constants"
    for name, value in python.items():
        assert name in p4, f"{name} is not a const in p4src"
        assert p4[name] == value, f"{name}: Python {value:#x}, P4 {p4[name]:#x}"


def test_tunnel_round_trip_and_flag_encodings():
    inner = bytes(Ether(src="00:00:00:00:00:01", dst="00:00:00:00:00:02")
                  / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1, dport=2))
    for kind in ("geneve", "vxlan"):
        for special in (False, True):
            frame = encapsulate(inner, kind, 0xABCDE, special=special, outer_smac="00:00:00:00:01:01",
                                outer_dmac="00:00:00:00:02:02", sip="192.0.2.1", dip="192.0.2.2")
            tunnel = decapsulate(bytes(frame))
            assert (tunnel.kind, tunnel.vni, tunnel.special, tunnel.inner) == (kind, 0xABCDE, special, inner)
            assert Ether(bytes(frame))[IP].len == 20 + 8 + 8 + (4 if special and kind == "geneve" else 0) + len(inner)
    flagged = bytes(encapsulate(inner, "vxlan", 1, special=True, outer_smac="00:00:00:00:01:01",
                                outer_dmac="00:00:00:00:02:02", sip="192.0.2.1", dip="192.0.2.2"))
    assert flagged[42] == 0x09                    # VXLAN flags byte: I bit + special bit
    assert decapsulate(inner) is None
