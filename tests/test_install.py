"""A plain install, used as a user uses it: the wheel built from this tree, installed on its own
into a fresh directory (the project venv supplies only the dependencies), its `p4nic` command
run from an unrelated directory. The shipped pipelines and examples must come with it."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run(cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)


@pytest.fixture(scope="module")
def wheel_build(tmp_path_factory):
    """(wheel path, build output) of `pip wheel` on this tree, without build isolation."""
    outdir = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build-tree")
    r = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
             "--wheel-dir", str(outdir), str(REPO)], cwd=build)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    wheels = list(outdir.glob("p4nic-*.whl"))
    assert len(wheels) == 1
    return wheels[0], r.stdout + r.stderr


def install(wheel, target: Path) -> dict:
    """Installs `wheel` alone into `target`; the environment that runs it from there."""
    r = run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "--target",
             str(target), str(wheel)])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return {**os.environ, "PYTHONPATH": str(target)}


@pytest.fixture(scope="module")
def installed(wheel_build, tmp_path_factory):
    """(p4nic command, environment, an unrelated working directory)."""
    target = tmp_path_factory.mktemp("site")
    env = install(wheel_build[0], target)
    return target / "bin" / "p4nic", env, tmp_path_factory.mktemp("elsewhere")


def test_the_build_gives_no_deprecation_warnings(wheel_build):
    _, output = wheel_build
    assert "deprecat" not in output.lower(), output[-3000:]


def test_the_install_is_the_one_that_runs(installed):
    p4nic, env, cwd = installed
    r = run([sys.executable, "-c", "import p4nic, p4nic.pipelines as p; "
             "print(p4nic.__file__); print(p.p4src_dir()); print(p.examples_dir())"],
            env=env, cwd=cwd)
    assert r.returncode == 0, r.stderr
    package, p4src, examples = r.stdout.split()
    site = Path(env["PYTHONPATH"])
    for path in (package, p4src, examples):
        assert Path(path).is_relative_to(site), path
    assert (Path(p4src) / "vnic.p4").is_file() and (Path(p4src) / "include" / "headers.p4").is_file()
    assert (Path(examples) / "l3_router.p4").is_file()
    assert (site / "p4nic-0.1.0.dist-info" / "licenses" / "LICENSE").is_file()


def test_the_install_builds_its_native_write_path(installed, tmp_path):
    """The C source ships in the package and compiles, from the install, into the user's
    cache (here an empty one)."""
    p4nic, env, cwd = installed
    env = {**env, "XDG_CACHE_HOME": str(tmp_path)}
    r = run([sys.executable, "-c", "from p4nic.nic.p4runtime.native_writes import NATIVE; "
             "print(NATIVE.source); print(NATIVE.require().__file__)"], env=env, cwd=cwd)
    assert r.returncode == 0, r.stderr
    source, module = r.stdout.split()
    assert Path(source).is_relative_to(env["PYTHONPATH"]) and Path(source).is_file()
    assert Path(module).is_relative_to(tmp_path / "p4nic")


def test_demo_runs_from_any_directory(installed):
    p4nic, env, cwd = installed
    r = run([str(p4nic), "demo", "--quiet"], env=env, cwd=cwd)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "host.nic" in r.stdout and "Summary" in r.stdout and "FAIL" not in r.stdout
    r = run([str(p4nic), "demo", "--features", "--quiet"], env=env, cwd=cwd)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "6 of 6 features passed" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def without_bmv2(path: str) -> str:
    """PATH less the directories holding BMv2's switches, whose side-by-side figures take
    `p4nic bench` minutes and are not what a test of the install checks."""
    return os.pathsep.join(d for d in path.split(os.pathsep)
                           if not any((Path(d) / name).exists()
                                      for name in ("simple_switch", "simple_switch_grpc")))


def test_bench_runs_from_any_directory(installed):
    p4nic, env, cwd = installed
    env = {**env, "PATH": without_bmv2(env.get("PATH", ""))}
    r = run([str(p4nic), "bench", "--packets", "300", "--dsl-rules", "300", "--flows", "20",
             "--frames", "3000", "--socket-frames", "1000", "--rounds", "1", "--latency-write",
             "2000", "--latency-read", "5000"], env=env, cwd=cwd)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "skipped" not in r.stdout
    assert "vnic.p4:" in r.stdout and "INSERT, Writes of" in r.stdout
    assert "300 rules, 301 entries" in r.stdout and "check + entities" in r.stdout
    assert re.search(r"apply to a p4nic switch process: [\d,]+ entries/s", r.stdout)


def test_a_broken_install_fails_clearly(wheel_build, tmp_path):
    """Pipelines removed from an install: bench exits non-zero naming what it could not run,
    demo says what is missing; neither prints a traceback."""
    target = tmp_path / "site"
    env = install(wheel_build[0], target)
    shutil.rmtree(target / "p4nic" / "p4src")
    shutil.rmtree(target / "p4nic" / "examples")
    bench = run([str(target / "bin" / "p4nic"), "bench", "--packets", "300", "--dsl-rules", "300"],
                env=env, cwd=tmp_path)
    assert bench.returncode == 1, bench.stdout
    assert "skipped: p4nic's p4src/ directory is not installed" in bench.stdout
    assert "could not run" in bench.stderr
    demo = run([str(target / "bin" / "p4nic"), "demo", "--quiet"], env=env, cwd=tmp_path)
    assert demo.returncode == 1
    assert "directory is not installed" in demo.stdout
    assert "Traceback" not in bench.stdout + bench.stderr + demo.stdout + demo.stderr
