"""`p4nic conformance DIR` (`make conformance P4C_TESTDATA=DIR`): p4nic measured against p4c's
own test corpus, on a p4c checkout the user has.

Two suites over p4c's `testdata/p4_16_samples`, the v1model programs p4c runs on BMv2 (their
source includes v1model.p4; the names end in -bmv2):

- p4info: `p4nic compile` each program and compare its P4Info with p4c's reference
  (`p4_16_samples_outputs/NAME.p4.p4info.txtpb`), objects in id order, everything else exact;
- stf: run each `NAME.stf` through `p4nic stf` (our compiler, our NIC).

Programs p4c itself does not run on BMv2 are left out, read from the checkout's own list
(`XFAIL_TESTS` in backends/bmv2/CMakeLists.txt), as are tests that need a BMv2 extern module
(`--load-modules` there). Every program runs in its own `p4nic` process, so one that crashes
or hangs costs only itself. Exit status 0 only when every counted program passed.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

P4NIC = [sys.executable, "-m", "p4nic.cli"]
TIMEOUT = 300  # seconds per program; only a hung one takes this long
SAMPLE = re.compile(r"testdata/p4_16_samples/([\w.+-]+)\.p4\b")


@dataclass
class Result:
    name: str
    passed: bool
    detail: str = ""


class Corpus:
    """p4c's testdata directory and what p4c's own build leaves out of the BMv2 tests."""

    def __init__(self, path: Path):
        testdata = path if (path / "p4_16_samples").is_dir() else path / "testdata"
        if not (testdata / "p4_16_samples").is_dir():
            raise SystemExit(f"p4nic conformance: {path} is neither p4c's testdata directory "
                             "nor a p4c checkout (no p4_16_samples/ in it)")
        self.samples = testdata / "p4_16_samples"
        self.outputs = testdata / "p4_16_samples_outputs"
        self.excluded, self.note = self.p4c_exclusions(testdata.parent)

    @staticmethod
    def p4c_exclusions(checkout: Path) -> tuple[set, str]:
        cmake = checkout / "backends" / "bmv2" / "CMakeLists.txt"
        if not cmake.is_file():
            return set(), (f"no {cmake}: p4c's BMv2 exclusions (XFAIL_TESTS) unknown, "
                           "every v1model sample counts")
        text = cmake.read_text(errors="replace")
        excluded = set()
        block = re.search(r"set\s*\(\s*XFAIL_TESTS(.*?)\n\)", text, re.S)
        if block:
            excluded |= set(SAMPLE.findall(re.sub(r"#[^\n]*", "", block.group(1))))
        lines = text.splitlines()
        for i, line in enumerate(lines):   # a test run with an extern module of its own
            if "--load-modules" in line:
                excluded |= set(SAMPLE.findall("\n".join(lines[max(0, i - 2):i + 1])))
        return excluded, f"{len(excluded)} samples left out as p4c's {cmake} leaves them out"

    def programs(self) -> list[Path]:
        """The v1model -bmv2 samples p4c runs on BMv2, by name."""
        found = []
        for source in sorted(self.samples.glob("*-bmv2.p4")):
            if source.stem in self.excluded:
                continue
            if "v1model.p4" in source.read_text(errors="replace"):
                found.append(source)
        return found


def canonical_p4info(path: Path):
    """A P4Info with its top-level objects in id order (p4c's order is not part of the format)."""
    from google.protobuf import text_format
    from p4nic.proto import p4info_pb2
    message = p4info_pb2.P4Info()
    text_format.Parse(path.read_text(), message, allow_unknown_field=True)
    for field, value in message.ListFields():
        if field.type == field.TYPE_MESSAGE and field.label == field.LABEL_REPEATED:
            ordered = sorted(value, key=lambda m: (
                m.preamble.id if hasattr(m, "preamble") else 0,
                m.SerializeToString(deterministic=True)))
            copies = [type(m)() for m in ordered]
            for copy, original in zip(copies, ordered):
                copy.CopyFrom(original)
            del value[:]
            value.extend(copies)
    return message


def first_difference(mine, reference) -> str:
    """Which kind of P4Info object differs first, and its name."""
    for field in reference.DESCRIPTOR.fields:
        ours, theirs = getattr(mine, field.name), getattr(reference, field.name)
        if ours != theirs:
            if field.label == field.LABEL_REPEATED:
                for a, b in zip(ours, theirs):
                    if a != b:
                        if not hasattr(b, "preamble"):
                            return field.name
                        name, reference_name = a.preamble.name, b.preamble.name
                        return f"{field.name} {name}" + (
                            f" (p4c's: {reference_name})" if reference_name != name else "")
                return f"{field.name}: {len(ours)} here, {len(theirs)} in p4c's"
            return field.name
    return "?"


def run(command: list, cwd: Path) -> subprocess.CompletedProcess | str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd)
    except subprocess.TimeoutExpired:
        return f"timed out after {TIMEOUT} s"


def last_line(r: subprocess.CompletedProcess) -> str:
    lines = (r.stderr or r.stdout).strip().splitlines()
    return lines[-1][:200] if lines else f"exit status {r.returncode}"


def check_p4info(corpus: Corpus, source: Path) -> Result | None:
    reference = corpus.outputs / f"{source.name}.p4info.txtpb"
    if not reference.is_file():
        return None
    with tempfile.TemporaryDirectory(prefix="p4nic-conformance-") as tmp:
        ours = Path(tmp) / "p4info.txtpb"
        r = run(P4NIC + ["compile", str(source), "-o", str(Path(tmp) / "out.json"),
                         "--p4runtime-files", str(ours), "-I", str(corpus.samples)],
                corpus.samples)
        if isinstance(r, str):
            return Result(source.stem, False, r)
        if r.returncode != 0 or not ours.is_file():
            return Result(source.stem, False, f"compile failed: {last_line(r)}")
        try:
            mine, theirs = canonical_p4info(ours), canonical_p4info(reference)
        except Exception as exc:  # a P4Info that does not parse is a difference too
            return Result(source.stem, False, f"unreadable P4Info: {exc}"[:200])
        if mine == theirs:
            return Result(source.stem, True)
        return Result(source.stem, False, f"differs in {first_difference(mine, theirs)}")


def check_stf(corpus: Corpus, source: Path) -> Result | None:
    test = source.with_suffix(".stf")
    if not test.is_file():
        return None
    r = run(P4NIC + ["stf", str(source), str(test)], corpus.samples)
    if isinstance(r, str):
        return Result(source.stem, False, r)
    return Result(source.stem, r.returncode == 0, "" if r.returncode == 0 else last_line(r))


SUITES = {"p4info": (check_p4info, "identical to p4c's reference P4Info"),
          "stf": (check_stf, "STF tests passed")}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="p4nic conformance", description=__doc__.split("\n")[0])
    parser.add_argument("p4c", type=Path, metavar="DIR",
                        help="p4c's testdata directory, or a p4c checkout")
    parser.add_argument("--suite", choices=[*SUITES, "all"], default="all")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="programs run at once (default: one per CPU)")
    parser.add_argument("--limit", type=int, default=0, metavar="N",
                        help="only the first N programs (a quick look)")
    parser.add_argument("--show-failures", type=int, default=20, metavar="N",
                        help="list at most N failures per suite (default 20)")
    args = parser.parse_args(argv)
    corpus = Corpus(args.p4c)
    programs = corpus.programs()
    if args.limit:
        programs = programs[:args.limit]
    print(f"p4c corpus: {corpus.samples} ({len(programs)} v1model -bmv2 samples; {corpus.note})",
          flush=True)
    all_passed = True
    for suite in (SUITES if args.suite == "all" else [args.suite]):
        check, what = SUITES[suite]
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            results = [r for r in pool.map(lambda s: check(corpus, s), programs) if r is not None]
        failed = [r for r in results if not r.passed]
        for r in failed[:args.show_failures]:
            print(f"  FAIL {suite} {r.name}: {r.detail}")
        if len(failed) > args.show_failures:
            print(f"  ... and {len(failed) - args.show_failures} more")
        print(f"{suite}: {len(results) - len(failed)} of {len(results)} {what}", flush=True)
        all_passed = all_passed and not failed
    return 0 if all_passed else 1
