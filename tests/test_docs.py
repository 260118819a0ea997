"""The Python API reference (docs/api.md) shows code that runs: its first example is read from
the page and run as a script, against a real `p4nic switch` process."""
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_api_example_runs_as_written(tmp_path):
    page = (REPO / "docs" / "api.md").read_text()
    example = re.findall(r"```python\n(.*?)```", page, re.S)[0]
    script = tmp_path / "example.py"
    script.write_text(example)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip() == "left by port 3; filter_counter: 1 packet"
