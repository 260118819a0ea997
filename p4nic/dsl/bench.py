"""How fast the DSL front end is on a big file: N filter rules (10,000 by default).

    python -m p4nic.dsl.bench [RULES]

The VNIC's filters table holds 1024 entries, so the file names its own build of vnic.p4 with
a filters table of RULES entries (compiled here once). Three figures, in seconds:
check (parse, check, analysis: `p4nic check`), entities (building the P4Runtime messages)
and text (printing them as `p4nic entries` does).
"""
from __future__ import annotations

import io
import shutil
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path


def big_file(workdir: Path, rules: int) -> Path:
    """A .nic file of `rules` filter rules on a vnic.p4 build whose filters table fits them."""
    from p4nic.compiler.cli import serialize_p4info
    from p4nic.compiler.driver import compile_file
    from p4nic.pipelines import p4src_dir
    source = workdir / "p4src"
    shutil.copytree(p4src_dir(), source)
    vnic = source / "vnic.p4"
    text = vnic.read_text()
    at = text.index("table filters {")
    size = text.index("size = 1024;", at)
    vnic.write_text(text[:size] + f"size = {rules};" + text[size + len("size = 1024;"):])
    p4info = workdir / "vnic.p4info.txtpb"
    p4info.write_bytes(serialize_p4info(compile_file(str(vnic), include_dirs=[str(source)]).p4info,
                                        "text"))
    lines = ["vnic vm1 {", f'    p4info "{p4info}"', "    queues 8", "    filters {"]
    for i in range(rules):
        lines.append(f"        ip daddr 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255} "
                     f"tcp dport {1000 + i % 5000} -> queue {1 + i % 8}")
    lines += ["        default -> rss", "    }", "}"]
    path = workdir / "filters.nic"
    path.write_text("\n".join(lines) + "\n")
    return path


def measure(rules: int = 10_000) -> dict:
    from p4nic.dsl import load
    from p4nic.dsl.cli import _as_text
    with tempfile.TemporaryDirectory() as tmp:
        path = big_file(Path(tmp), rules)
        start = time.perf_counter()
        model = load(path)
        checked = time.perf_counter()
        entries = model.entries()
        built = time.perf_counter()
        with redirect_stdout(io.StringIO()):
            for name, nic in entries.items():
                sys.stdout.write(_as_text(nic, model.summaries(name)))
        printed = time.perf_counter()
    return {"rules": rules, "check": checked - start, "entities": built - checked,
            "text": printed - built}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    rules = int(argv[0]) if argv else 10_000
    found = measure(rules)
    print(f"DSL, {found['rules']} filter rules: check {found['check']:.2f} s, entities "
          f"{found['entities']:.2f} s, text output {found['text']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
