"""`p4nic conformance` / `make conformance`, on a small corpus laid out as p4c's checkout:
samples with STF tests and reference P4Infos, and p4c's BMv2 exclusion list."""
import subprocess
import sys
from pathlib import Path

import pytest

from p4nic.runtime.local_switch import compile_p4

REPO = Path(__file__).resolve().parents[1]
STF_PROGRAMS = REPO / "tests" / "stf" / "programs"
CMAKE = """
set (XFAIL_TESTS
  # p4c cannot run this one on BMv2
  testdata/p4_16_samples/broken-bmv2.p4
)
p4c_add_test_with_args("bmv2" ${BMV2_DRIVER} FALSE "module-bmv2"
  "testdata/p4_16_samples/module-bmv2.p4"
  "-a=--emit-externs --target-specific-switch-arg=\\"--load-modules lib.so\\"")
"""


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """basic-bmv2 passes both suites; differs-bmv2 has a changed reference P4Info and an STF
    test that fails; broken-bmv2 and module-bmv2 are left out as p4c leaves them out;
    psa-bmv2 is not a v1model program."""
    root = tmp_path_factory.mktemp("p4c")
    samples = root / "testdata" / "p4_16_samples"
    outputs = root / "testdata" / "p4_16_samples_outputs"
    samples.mkdir(parents=True)
    outputs.mkdir()
    (root / "backends" / "bmv2").mkdir(parents=True)
    (root / "backends" / "bmv2" / "CMakeLists.txt").write_text(CMAKE)
    source = (STF_PROGRAMS / "match_kinds.p4").read_text()
    for name in ("basic-bmv2", "differs-bmv2", "broken-bmv2", "module-bmv2"):
        (samples / f"{name}.p4").write_text(source)
        (samples / f"{name}.stf").write_text((STF_PROGRAMS / "match_kinds.stf").read_text())
    (samples / "psa-bmv2.p4").write_text("#include <psa.p4>\n")
    (samples / "differs-bmv2.stf").write_text("packet 0 00\nexpect 9 00\n")
    _, p4info = compile_p4(samples / "basic-bmv2.p4", root)
    (outputs / "basic-bmv2.p4.p4info.txtpb").write_text(p4info.read_text())
    changed = p4info.read_text().replace('name: "MatchIngress.t_exact"', 'name: "MatchIngress.other"')
    assert changed != p4info.read_text()
    (outputs / "differs-bmv2.p4.p4info.txtpb").write_text(changed)
    return root


def conformance(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "p4nic.cli", "conformance", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def test_counts_each_suite_and_names_the_failures(checkout):
    r = conformance(checkout / "testdata", "--jobs", "2")
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert "(2 v1model -bmv2 samples; 2 samples left out as p4c's" in out
    assert ("FAIL p4info differs-bmv2: differs in tables MatchIngress.t_exact "
            "(p4c's: MatchIngress.other)") in out
    assert "p4info: 1 of 2 identical to p4c's reference P4Info" in out
    assert "FAIL stf differs-bmv2:" in out
    assert "stf: 1 of 2 STF tests passed" in out
    for skipped in ("broken-bmv2", "module-bmv2", "psa-bmv2"):
        assert skipped not in out


def test_a_passing_suite_exits_0_and_a_checkout_root_works_too(checkout):
    r = conformance(checkout, "--suite", "stf", "--limit", "1")   # basic-bmv2 only
    assert r.returncode == 0, r.stdout + r.stderr
    assert "stf: 1 of 1 STF tests passed" in r.stdout


def test_make_conformance_needs_the_directory_and_runs_the_command(checkout):
    usage = subprocess.run(["make", "-s", "conformance"], cwd=REPO, capture_output=True,
                           text=True, timeout=120)
    assert usage.returncode != 0
    assert "usage: make conformance P4C_TESTDATA=DIR" in usage.stdout + usage.stderr
    dry = subprocess.run(["make", "-n", "conformance", f"P4C_TESTDATA={checkout}/testdata"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert f"p4nic conformance {checkout}/testdata" in dry.stdout


def test_a_directory_without_the_corpus_is_a_clear_error(tmp_path):
    r = conformance(tmp_path)
    assert r.returncode != 0
    assert "is neither p4c's testdata directory nor a p4c checkout" in r.stderr
    assert "Traceback" not in r.stderr
