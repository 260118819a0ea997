"""Ternary keys written VALUE&&&MASK in STF files (simple_switch_CLI's spelling), run through
`p4nic stf` as a process."""
import subprocess
import sys
from pathlib import Path

PROGRAM = Path(__file__).parent / "programs" / "match_kinds.p4"
# match_kinds.p4: packets leave on port 1 with result bytes e l t r o m; t is t_ternary's
FLOW = "0A010203 01BB 06"


def stf(tmp_path, text):
    test = tmp_path / "masks.stf"
    test.write_text(text)
    return subprocess.run([sys.executable, "-m", "p4nic.cli", "stf", str(PROGRAM), str(test)],
                          capture_output=True, text=True, timeout=300)


def test_value_mask_keys_match_by_mask_and_priority(tmp_path):
    r = stf(tmp_path, f"""
add t_ternary 10 flags:0x0F&&&0x0F set_t(v:1)
add t_ternary 20 flags:0x13&&&0xF0 set_t(v:2)
packet 0 000000000001 000000000009 0800 {FLOW} 2F
expect 1 000000000001 000000000009 0800 ** 00 01 ** 00 00 {FLOW} 2F $
packet 0 000000000001 000000000009 0800 {FLOW} 1F
expect 1 000000000001 000000000009 0800 ** 00 02 ** 00 00 {FLOW} 1F $
packet 0 000000000001 000000000009 0800 {FLOW} 20
expect 1 000000000001 000000000009 0800 ** 00 00 ** 00 00 {FLOW} 20 $
""")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS" in r.stdout


def test_value_mask_on_other_match_kinds_is_a_clear_error(tmp_path):
    r = stf(tmp_path, "add t_exact dst:0x01&&&0xFF set_e(v:1)\n")
    assert r.returncode != 0
    assert "masks.stf:1" in r.stdout + r.stderr
    assert "VALUE&&&MASK is only for ternary keys" in r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
