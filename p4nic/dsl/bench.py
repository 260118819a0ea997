"""How fast the pipeline DSL is on a big file: `make bench` (its DSL part) and

    python -m p4nic.dsl.bench [RULES]

The file holds RULES (10,000 by default) `table` rules for the benchmark's own program,
`bench_acl.p4` beside this module: an IPv4 ACL whose ternary table holds 16384 entries (the
shipped pipelines' tables are smaller). Each rule is one entry. Figures:

- check: parse, check and analysis (`p4nic check`, `dsl.load`);
- entities: building the P4Runtime messages (`Model.entries()`); with the pure-Python
  protobuf runtime most of this is protobuf's own code;
- text: printing them as `p4nic entries` does;
- apply: the file applied to a `p4nic switch` process running the program (plan, then Write
  batches, as `p4nic apply` does), in entries/s; then the plan of the applied file (nothing
  to change: one Read, no entity parsed).

Wall-clock seconds, with this process's CPU seconds beside them (the machine may be shared).
"""
from __future__ import annotations

import io
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

PROGRAM = Path(__file__).with_name("bench_acl.p4")
RULES = 10_000


def big_file(workdir: Path, rules: int) -> tuple:
    """(the .nic file, BMv2 JSON, P4Info) of `rules` ACL rules on bench_acl.p4, compiled
    into workdir."""
    from p4nic.compiler.driver import compile_file
    from p4nic.runtime.local_switch import write_compiled
    json_path, p4info = write_compiled(compile_file(str(PROGRAM)), "bench_acl", workdir)
    lines = ["nic acl {", f'    p4info "{p4info}"', "    table acl {"]
    for i in range(rules):
        lines.append(f"        srcAddr 10.{i >> 8 & 255}.{i & 255}.0/24 "
                     f"dstAddr 192.168.{i % 7}.{i % 250 + 1} protocol {17 if i % 3 == 0 else 6} "
                     f"dstPort {1000 + i % 5000} -> to_port(port {1 + i % 8})")
    lines += ["        default -> deny()", "    }", "}"]
    path = workdir / "acl.nic"
    path.write_text("\n".join(lines) + "\n")
    return path, json_path, p4info


class _Clock:
    """Wall and CPU time since the last `lap()`."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple:
        wall, cpu = time.perf_counter(), time.process_time()
        found = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return found


def measure(rules: int = RULES, apply: bool = True) -> dict:
    """{figure: (wall s, CPU s)} and the counts they are for."""
    from p4nic.dsl import load
    from p4nic.dsl.cli import _as_text
    found = {"rules": rules}
    with tempfile.TemporaryDirectory(prefix="p4nic-dsl-bench-") as tmp:
        path, json_path, p4info = big_file(Path(tmp), rules)
        clock = _Clock()
        model = load(path)
        found["check"] = clock.lap()
        entries = model.entries()["acl"]
        found["entities"] = clock.lap()
        found["entries"] = len(entries.entities)
        with redirect_stdout(io.StringIO()):
            sys.stdout.write(_as_text(entries, model.summaries("acl")))
        found["text"] = clock.lap()
        if apply:
            found.update(_apply(model, json_path, p4info, Path(tmp)))
    return found


def _apply(model, json_path: Path, p4info: Path, workdir: Path) -> dict:
    from p4nic.runtime.connection import Connection
    from p4nic.runtime.local_switch import LocalSwitch
    with LocalSwitch(json_path, workdir / "switch", p4info_path=p4info) as switch:
        with Connection(switch.grpc_addr, election_id=(0, 1)) as conn:
            conn.set_pipeline(p4info, json_path.read_bytes())
            clock = _Clock()
            result = model.apply(conn)
            applied = clock.lap()
            if not result.ok:
                raise RuntimeError("the benchmark's file did not apply:\n" + result.render())
            again = model.plan(conn)
            replanned = clock.lap()
            if not again.empty:
                raise RuntimeError(f"{len(again.changes)} changes left after apply")
    return {"apply": applied, "applied": len(result.applied), "replan": replanned}


def _seconds(figure: tuple) -> str:
    return f"{figure[0]:.2f} s ({figure[1]:.2f} s CPU)"


def report(found: dict) -> list:
    """The figures as the lines `make bench` prints."""
    from google.protobuf.internal import api_implementation
    check, entities = found["check"], found["entities"]
    lines = [f"{found['rules']:,} rules, {found['entries']:,} entries "
             f"(protobuf runtime: {api_implementation.Type()})",
             f"check {_seconds(check)}, entities {_seconds(entities)}: check + entities "
             f"{_seconds((check[0] + entities[0], check[1] + entities[1]))}",
             f"text output (p4nic entries) {_seconds(found['text'])}"]
    if "apply" in found:
        wall = found["apply"][0]
        lines.append(f"apply to a p4nic switch process: {found['applied'] / wall:,.0f} entries/s "
                     f"({found['applied']:,} in {_seconds(found['apply'])}); "
                     f"plan once applied {_seconds(found['replan'])}")
    return lines


def part(rules: int = RULES) -> None:
    """The DSL part of `p4nic bench`."""
    for line in report(measure(rules)):
        print(f"  {line}", flush=True)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    rules = int(argv[0]) if argv else RULES
    for line in report(measure(rules)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
