"""The `p4nic` front command, run as a user runs it: as a process."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    return subprocess.run([sys.executable, "-m", "p4nic.cli", *args], capture_output=True, text=True, timeout=60)


def test_help_lists_every_command():
    r = run("--help")
    assert r.returncode == 0
    for name in ("compile", "switch", "stf", "demo", "bench", "send", "sniff", "tables",
                 "table-dump", "counters", "conformance"):
        assert f"  {name}" in r.stdout


def test_unknown_command_is_a_clear_error():
    r = run("frobnicate")
    assert r.returncode == 2
    assert "unknown command 'frobnicate'" in r.stderr
    assert "Traceback" not in r.stderr



def test_closed_output_pipe_ends_quietly():
    # The reader of a long trace goes away after one byte: no traceback, no "internal error".
    prog = ROOT / "tests" / "stf" / "programs" / "services.p4"
    r = subprocess.run(f"'{sys.executable}' -m p4nic.cli stf '{prog}' '{prog.with_suffix('.stf')}' --trace"
                       " | head -c1 >/dev/null", shell=True, capture_output=True, text=True, timeout=120)
    assert r.stderr == ""
