"""`p4nic bench` runs every part end to end (a smoke run with few packets; no timing asserted)."""
import re
import subprocess
import sys


def test_bench_reports_every_part():
    r = subprocess.run([sys.executable, "-m", "p4nic.cli", "bench", "--packets", "300",
                        "--flows", "20", "--frames", "3000", "--socket-frames", "1000",
                        "--rounds", "1", "--dsl-rules", "300", "--latency-write", "2000",
                        "--latency-read", "5000"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "Traceback" not in out + r.stderr
    for title in ("compile time", "packets/s in-process", "packets/s through the nanomsg port", "guest service engine packets/s",
                  "stateful offload: 20 concurrent flows",
                  "packet latency through the nanomsg port", "end to end",
                  "pipeline DSL: check, entities and apply of a 300-rule file",
                  "P4Runtime control plane"):
        assert f"== {title}" in out, out
    assert re.search(r"vnic\.p4: \d+\.\d+ s", out) and re.search(r"pnic\.p4: \d+\.\d+ s", out), out
    for figure in (r"INSERT, Writes of 1,000 /32 LPM routes: p4nic [\d,]+ entries/s",
                   r"Write of one INSERT, round trip: p4nic [\d.]+ ms",
                   r"Read of the [\d,]+ routes: p4nic [\d.]+ s"):
        assert re.search(figure, out), out
    assert len(re.findall(r"[\d,]+ packets/s \(300 packets in", out)) == 2, out
    assert re.search(r"switch process CPU: ([\d.]+ us/packet|below one clock tick)", out), out
    assert len(re.findall(r"(passed as is|translated \(DNAT\)), (64|1500)-byte frames: [\d,]+ "
                          r"packets/s", out)) == 4, out
    assert "packets lost: 0 of" in out, out
    assert re.search(r"first packet -> PNIC: median \d+ ms", out), out
    assert re.search(r"control plane idle: p50 [\d.]+ ms, p90 [\d.]+ ms", out), out
    assert re.search(r"8 P4Runtime clients writing and reading: p50 [\d.]+ ms, p90 [\d.]+ ms",
                     out), out
    assert "== packet latency through the nanomsg port while the control plane works" in out, out
    for phase in (r"idle \(1 s\)", "Write of 2,000 entries", "Read of 5,000 entries",
                  "rolled-back batch of 2,000 INSERTs"):
        assert re.search(rf"p4nic +{phase}: \d+ packets, p50 [\d.]+ ms, p99 [\d.]+ ms, max "
                         rf"[\d.]+ ms \(in [\d.]+ s\)", out), out
    for workload in ("simple_router", "vnic.p4"):
        for figure in ("--use-files", "nanomsg"):
            assert re.search(rf"{re.escape(workload)}, {figure}: p4nic [\d,]+ packets/s", out), out
        assert re.search(rf"{re.escape(workload)}, start-up: p4nic [\d.]+ s", out), out
