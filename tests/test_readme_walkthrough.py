"""The README's by-hand walkthrough, run as written: its commands are read from README.md (so the
README cannot drift from what works) and run in a shell, in a scratch directory holding the
clone's p4src/ and examples/. Only the P4Runtime port and the socket path are swapped for free
ones, in the commands and in the output they show."""
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from p4nic.processes import free_port

REPO = Path(__file__).resolve().parents[1]
SECTION = "## By hand:"
BIN = Path(sys.executable).parent


def walkthrough() -> list[tuple[str, str]]:
    """(language, text) of every fenced block of the README's walkthrough, in order."""
    readme = (REPO / "README.md").read_text()
    start = readme.index(SECTION)
    end = readme.index("\n## ", start + len(SECTION))
    return re.findall(r"```(\w+)\n(.*?)```", readme[start:end], re.S)


@pytest.mark.shell       # the walkthrough drives the switch with p4runtime-shell
def test_the_readme_walkthrough_runs_as_written(tmp_path):
    blocks = walkthrough()
    assert [lang for lang, _ in blocks] == ["sh", "sh", "python", "sh", "text", "sh", "text",
                                            "sh", "text", "sh", "text", "sh", "sh", "text"]
    (tmp_path / "p4src").symlink_to(REPO / "p4src")
    (tmp_path / "examples").symlink_to(REPO / "examples")
    port = free_port()
    swaps = {"127.0.0.1:9559": f"127.0.0.1:{port}", "ipc:///tmp/vnic.ipc": f"ipc://{tmp_path}/v.ipc"}
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}

    def swapped(text: str) -> str:
        for old, new in swaps.items():
            text = text.replace(old, new)
        return text

    def command(line: str) -> str:
        line = swapped(line)
        if " --grpc-addr" not in line and line.startswith("p4nic counters"):
            line += f" --grpc-addr 127.0.0.1:{port}"   # the README relies on the default port
        return line

    switch = None
    outputs = []
    try:
        for i, (lang, text) in enumerate(blocks):
            if lang != "sh":
                continue
            for line in filter(None, (raw.strip() for raw in text.splitlines())):
                line = command(line)
                if line.endswith("&"):             # the switch, in the background
                    log = open(tmp_path / "switch.log", "w")
                    switch = subprocess.Popen(["bash", "-c", f"exec {line[:-1]}"], cwd=tmp_path,
                                              env=env, stdout=log, stderr=subprocess.STDOUT)
                    deadline = time.monotonic() + 120
                    while "Server listening" not in (tmp_path / "switch.log").read_text():
                        assert switch.poll() is None and time.monotonic() < deadline, \
                            (tmp_path / "switch.log").read_text()
                        time.sleep(0.05)
                    continue
                stdin = blocks[i + 1][1] if i + 1 < len(blocks) and blocks[i + 1][0] == "python" \
                    else None
                r = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, input=stdin,
                                   capture_output=True, text=True, timeout=300)
                assert r.returncode == 0, (shlex.split(line)[:3], r.stdout[-2000:], r.stderr[-2000:])
                assert "Traceback" not in r.stdout + r.stderr
                outputs.append((i, r.stdout))
    finally:
        if switch is not None:
            switch.terminate()
            switch.wait(timeout=30)
    shown = {i - 1: swapped(text) for i, (lang, text) in enumerate(blocks) if lang == "text"}
    assert len(shown) == 5
    for i, out in outputs:
        if i in shown:
            for expected in shown[i].strip().splitlines():
                assert expected in out.splitlines(), (expected, out)
