"""`p4nic stf PROG TEST.stf` as a user runs it: a process, exit status, readable report."""
import subprocess
import sys
from pathlib import Path


PROGRAMS = Path(__file__).parent / "programs"
ROUTER = PROGRAMS / "l3_router.json"
ROUTES = """add ipv4_lpm hdr.ipv4.dstAddr:0x0a000000/8 MyIngress.forward(port:2, dstAddr:0x000000000202)
"""
TO_10_1_2_3 = "packet 1 0000000000AA 0000000000BB 0800 45000014 00000000 4006 0000 C0A80001 0A010203\n"
DROPPED_FROM_2 = "packet 2 0000000000AA 0000000000BB 0800 45000014 00000000 4006 0000 C0A80001 0B000001\n"


def stf(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "p4nic.cli", "stf", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def write(tmp_path, text):
    path = tmp_path / "t.stf"
    path.write_text(text)
    return path


def test_router_test_passes():
    r = stf(ROUTER, PROGRAMS / "l3_router.stf")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS" in r.stdout and "5 packet(s) sent, 4 expectation(s) met" in r.stdout


def test_wrong_bytes_are_shown_with_position(tmp_path):
    test = write(tmp_path, ROUTES + TO_10_1_2_3 + "expect 2 000000000202 0000000000AA 0800 45000014 00000000 4006\n")
    r = stf(ROUTER, test)
    assert r.returncode == 1
    assert "port 2, packet 1 (expect on line 3): differs at byte 22 (nibble 44): expected 4, got 3" in r.stdout
    assert "expected 0000000002020000000000AA0800450000140000000040" in r.stdout
    assert "received 0000000002020000000000AA080045000014000000003F06" in r.stdout
    assert "FAIL" in r.stdout


def test_missing_and_unexpected_packets(tmp_path):
    test = write(tmp_path, ROUTES + TO_10_1_2_3 + DROPPED_FROM_2 + "expect 3 00\n" + "expect 0\n")
    r = stf(ROUTER, test)
    assert r.returncode == 1
    assert "port 2: expected 0 packet(s), received 1" in r.stdout
    assert "unexpected: 0000000002020000000000AA" in r.stdout
    assert "port 3: expected 1 packet(s), received 0" in r.stdout
    assert "missing:    00 (line 4)" in r.stdout
    assert "port 0: expected 1 packet(s), received 0" in r.stdout
    assert "missing:    (any packet) (line 5)" in r.stdout


def test_output_on_ports_the_test_never_names_is_not_checked(tmp_path):
    r = stf(ROUTER, write(tmp_path, ROUTES + TO_10_1_2_3), "-v")
    assert r.returncode == 0, r.stdout
    assert "note: output on port(s) 2 not checked" in r.stdout


def test_unknown_names_and_bad_lines_point_at_the_line(tmp_path):
    r = stf(ROUTER, write(tmp_path, "\nadd ipv6_lpm hdr.ipv6.dstAddr:1 drop()\n"))
    assert r.returncode == 1 and f"{tmp_path}/t.stf:2: no table 'ipv6_lpm'" in r.stdout
    r = stf(ROUTER, write(tmp_path, "add ipv4_lpm dstAddr:1/8 forward(port:2)\n"))
    assert r.returncode == 1 and "t.stf:1: action MyIngress.forward needs parameter 'dstAddr'" in r.stdout
    r = stf(ROUTER, write(tmp_path, "packet 1 0g\n"))
    assert r.returncode == 1 and "t.stf:1: invalid packet data '0g'" in r.stderr
    assert "Traceback" not in r.stdout + r.stderr


def test_unreadable_inputs(tmp_path):
    r = stf(tmp_path / "nope.json", PROGRAMS / "l3_router.stf")
    assert r.returncode == 1 and "cannot read" in r.stderr
    (tmp_path / "bad.json").write_text("{")
    r = stf(tmp_path / "bad.json", PROGRAMS / "l3_router.stf")
    assert r.returncode == 1 and "is not valid JSON" in r.stderr
    r = stf(ROUTER)
    assert r.returncode == 2 and "usage: p4nic stf" in r.stderr


SERVICES = PROGRAMS / "services.p4"


def test_p4_program_with_multicast_mirroring_counters_registers():
    r = stf(SERVICES, PROGRAMS / "services.stf", "-v")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "node was created with handle 1" in r.stdout
    assert "last_length[3]= 14" in r.stdout
    assert "policer[2] 1: info rate = 1e-06, burst size = 1" in r.stdout
    assert "9 packet(s) sent, 18 expectation(s) met" in r.stdout


def test_counter_check_that_does_not_hold(tmp_path):
    text = (PROGRAMS / "services.stf").read_text().replace(
        "check_counter packets_by_port(1) packets == 4", "check_counter packets_by_port(1) packets < 2")
    r = stf(SERVICES, write(tmp_path, text))
    assert r.returncode == 1
    assert "counter packets_by_port(1) packets is 4, expected < 2" in r.stdout


def test_compile_errors_are_printed_with_location(tmp_path):
    bad = tmp_path / "bad.p4"
    bad.write_text("#include <v1model.p4>\nheader h_t { bit<8> f }\n")
    r = stf(bad, PROGRAMS / "l3_router.stf")
    assert r.returncode == 1
    assert f"{bad}:2:" in r.stderr and "error" in r.stderr
    assert "Traceback" not in r.stderr


def test_trace_shows_each_packet_through_the_pipeline():
    r = stf(ROUTER, PROGRAMS / "l3_router.stf", "--trace")
    assert r.returncode == 0, r.stdout
    assert "[1.0] [cxt 0] Processing packet received on port 1" in r.stdout
    assert "Table 'MyIngress.ipv4_lpm': hit with handle 0" in r.stdout
