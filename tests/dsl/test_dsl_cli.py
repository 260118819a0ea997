"""`p4nic check` and `p4nic entries` as a user runs them: exit status, what goes to stdout and
stderr, and never a traceback — including on files damaged at random."""
import random
import subprocess
import sys
from pathlib import Path

from p4nic.dsl.cli import check_main, entries_main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.nic"))


def run(*argv):
    return subprocess.run([sys.executable, "-m", "p4nic.cli", *argv], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)


def test_every_example_checks_clean():
    result = run("check", *[f"examples/{p.name}" for p in EXAMPLES])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for path in EXAMPLES:
        assert f"examples/{path.name}: ok" in result.stdout


def test_commands_are_listed():
    result = run("--help")
    assert "check" in result.stdout and "entries" in result.stdout


def test_warnings_do_not_fail_the_check(tmp_path, capsys):
    path = tmp_path / "w.nic"
    path.write_text("vnic v {\n filters {\n  tcp -> queue 1\n  tcp dport 80 -> drop\n }\n}\n")
    assert check_main([str(path)]) == 0
    out, err = capsys.readouterr()
    assert f"{path}:4:3: warning: this rule never matches" in err
    assert f"{path}: ok, 1 warning" in out


def test_entries_of_a_broken_file_fail_with_the_errors(tmp_path, capsys):
    path = tmp_path / "b.nic"
    path.write_text("vnic v {\n queues 2\n filters { tcp -> queue 3 }\n}\n")
    assert entries_main([str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and f"{path}:3:25: error: queue 3 does not exist" in err


def test_entries_of_an_unknown_nic(capsys):
    assert entries_main([str(ROOT / "examples/filters.nic"), "--nic", "vm2"]) == 1
    assert "has no NIC named 'vm2' (did you mean 'vm1'?)" in capsys.readouterr().err


def test_a_missing_file_is_an_error_not_a_traceback(capsys):
    assert check_main(["no/such.nic"]) == 1
    assert "error: cannot read no/such.nic: No such file or directory" in \
        capsys.readouterr().err


DEBRIS = ["{", "}", "->", ",", "|", "&&&", "$", "$web", '"', "#", "(", ")", "=", "default",
          "tcp", "dport", "queue", "vf", "0-", "-1", "10.0.0.0/33", "ff:ff", "::", "..",
          "stage", "for", "bypass", "node", "\n", "vnic x {", "priority 0", "999999999999",
          "include \"x.nic\"", "table t {", "table", "0x", "/", "@", "\t", "é"]


def test_check_never_tracebacks_on_damaged_files(tmp_path, capsys):
    """Seeded random damage (deletions, stray words, duplicated text) to every example:
    `p4nic check` reports errors (or passes), and never fails inside."""
    rng = random.Random(7)
    texts = [p.read_text() for p in EXAMPLES]
    for i in range(150):
        text = rng.choice(texts)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(text))
            roll = rng.random()
            if roll < 0.35:
                text = text[:pos] + text[pos + rng.randint(1, 25):]
            elif roll < 0.8:
                text = text[:pos] + " " + rng.choice(DEBRIS) + " " + text[pos:]
            else:
                start = rng.randrange(len(text))
                text = text[:pos] + text[start:start + 40] + text[pos:]
        path = tmp_path / f"damaged{i}.nic"
        path.write_text(text)
        (tmp_path / "l3_router.p4").write_text((ROOT / "examples/l3_router.p4").read_text())
        status = check_main([str(path)])
        out, err = capsys.readouterr()
        assert status in (0, 1)
        assert "internal error" not in err and "Traceback" not in err, f"{text}\n{err}"
        assert (status == 0) == (f"{path}: ok" in out)


def test_the_real_command_on_a_damaged_file(tmp_path):
    path = tmp_path / "d.nic"
    path.write_text((ROOT / "examples/pipeline.nic").read_text().replace("{", "", 2))
    result = run("check", str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and f"{path}:" in result.stderr
