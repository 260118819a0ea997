"""The pipelines and examples p4nic ships, found and compiled wherever p4nic is installed.

Every command that runs the VNIC or PNIC (`demo`, `up`, `check`, `bench`) asks here instead of
guessing paths, so a clone and a plain `pip install` behave alike:

    pipelines.p4src_dir()            # directory holding vnic.p4, pnic.p4 and include/
    pipelines.examples_dir()         # directory holding the example programs and .nic files
    pipelines.compiled("vnic")       # CompileResult (BMv2 JSON + P4Info), compiled once per process
"""
from __future__ import annotations

import functools
from pathlib import Path

PIPELINES = ("vnic", "pnic")
_PACKAGE = Path(__file__).resolve().parent


class PipelineNotFound(FileNotFoundError):
    """The shipped p4src/ or examples/ directory is missing (a broken install)."""


def _data_dir(name: str) -> Path:
    """`name` as package data (an installed wheel), else at the top of a clone."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise PipelineNotFound(f"p4nic's {name}/ directory is not installed (looked in "
                           f"{_PACKAGE / name} and {_PACKAGE.parent / name})")


def p4src_dir() -> Path:
    return _data_dir("p4src")


def examples_dir() -> Path:
    return _data_dir("examples")


def source(name: str) -> Path:
    """The P4 source of a shipped pipeline ("vnic" or "pnic")."""
    if name not in PIPELINES:
        raise ValueError(f"no pipeline named '{name}' (there are: {', '.join(PIPELINES)})")
    return p4src_dir() / f"{name}.p4"


@functools.lru_cache(maxsize=None)
def compiled(name: str):
    """The shipped pipeline `name` compiled by p4nic's compiler (cached for the process)."""
    from p4nic.compiler.driver import compile_file
    return compile_file(str(source(name)), include_dirs=[str(p4src_dir())])
