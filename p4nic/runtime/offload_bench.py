"""`make bench`'s offload part: many concurrent flows through a running host, moving guest ->
VNIC -> PNIC and back (the PNIC has room for half of them; TCP closes return flows to the
guest). It prints flows moved per second, packets lost (must be 0), and the time from a flow's
first packet to its offload to the PNIC."""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

HOST = """
host bench {{
    link vf 1
    vnic vm1 {{
        queues 4
        filters {{ default -> queue 1 }}
        tunnel vni 5001 to 02:00:00:00:0b:01 geneve
            local 192.0.2.1 remote 192.0.2.2 smac 02:00:00:00:00:01 dmac 02:00:00:00:00:02
        services {{
            nat {{ ip daddr 10.0.0.2 tcp dport 80 -> dnat 10.0.0.20 }}
            offload {{
                to vnic after 2 packets
                to pnic after 4 packets
                pnic capacity {pnic_capacity}
                idle 300s
            }}
        }}
    }}
    pnic nic0 {{
        vfs 2
        vf 1 vni 5001
        tunnel vni 5001 to 02:00:00:00:0b:01 geneve
            local 192.0.2.1 remote 192.0.2.2 smac 02:00:00:00:00:01 dmac 02:00:00:00:00:02
        network blue vni 5001 {{
            rx ether daddr 02:00:00:00:0a:01 -> vf 1
            tx in vf 1                        -> uplink
        }}
    }}
}}
"""


def bench_offload(flows: int = 1000, exchanges: int = 4) -> dict:
    """Run the load; return the figures (and print them)."""
    from p4nic.runtime.traffic import Traffic, uplink_of
    from p4nic.runtime.up import RunningHost
    from p4nic.runtime.wire import PacketWire
    with tempfile.TemporaryDirectory(prefix="p4nic-offload-bench-") as tmp:
        path = Path(tmp) / "bench.nic"
        path.write_text(HOST.format(pnic_capacity=flows // 2))
        host = RunningHost(path, bmv2=False, run_dir=Path(tmp) / "run", register=False)
        host.start()
        try:
            nic = host.describe()["nics"]["nic0"]
            with PacketWire(nic["packet_socket"]) as wire:
                traffic = Traffic(wire, uplink_of(host.model, "nic0", 1), timeout=60)
                started = time.monotonic()
                conversations = traffic.run(tcp=flows // 2, udp=flows - flows // 2,
                                            packets=exchanges, sport=20000)
                elapsed = time.monotonic() - started
            time.sleep(0.5)
            snapshot = host.manager.snapshot()
        finally:
            host.stop()
    moves = [m for flow in snapshot["flows"] for m in flow["moves"]]
    to_pnic = [m["at"] - flow["opened"] for flow in snapshot["flows"] for m in flow["moves"]
               if m["to"] == "pnic"]
    back = sum(1 for m in moves if m["from"] in ("pnic", "vnic") and m["to"] in ("vnic", "guest"))
    figures = {
        "flows": len(conversations),
        "packets_sent": sum(c.sent for c in conversations),
        "packets_lost": sum(c.lost for c in conversations),
        "answers_wrong": sum(c.wrong for c in conversations),
        "moves": len(moves), "moves_back": back,
        "moves_per_s": len(moves) / elapsed if elapsed else 0.0,
        "seconds": elapsed,
        "to_pnic_median_s": statistics.median(to_pnic) if to_pnic else None,
        "to_pnic_p95_s": sorted(to_pnic)[int(len(to_pnic) * 0.95)] if to_pnic else None,
        "on_pnic": len(to_pnic),
    }
    print(f"  {figures['flows']} concurrent flows ({flows // 2} TCP with NAT, "
          f"{flows - flows // 2} UDP), {exchanges} exchanges each, in {elapsed:.1f} s")
    print(f"  moves: {figures['moves']} ({figures['moves_per_s']:.0f}/s), "
          f"{back} of them back towards the guest; {figures['on_pnic']} flows reached the PNIC "
          f"(its capacity: {flows // 2})")
    print(f"  packets lost: {figures['packets_lost']} of {figures['packets_sent']}"
          f" (wrong answers: {figures['answers_wrong']})")
    if to_pnic:
        print(f"  first packet -> PNIC: median {figures['to_pnic_median_s'] * 1000:.0f} ms, "
              f"p95 {figures['to_pnic_p95_s'] * 1000:.0f} ms")
    return figures
