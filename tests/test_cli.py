"""The `p4nic` front command, run as a user runs it: as a process."""
import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "p4nic.cli", *args], capture_output=True, text=True, timeout=60)


def test_help_lists_every_command():
    r = run("--help")
    assert r.returncode == 0
    for name in ("compile", "switch", "stf", "demo", "bench"):
        assert f"  {name}" in r.stdout


def test_unknown_command_is_a_clear_error():
    r = run("frobnicate")
    assert r.returncode == 2
    assert "unknown command 'frobnicate'" in r.stderr
    assert "Traceback" not in r.stderr
