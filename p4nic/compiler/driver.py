"""The compiler's one entry point for the rest of p4nic: P4 file in, BMv2 JSON and P4Info out.

Stages, each in its own module: preprocess -> parse (AST) -> typecheck (typed IR) ->
P4Info back end, and midend -> BMv2 JSON back end.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from p4nic.compiler.errors import DEFAULT_MAX_ERRORS


@dataclass
class CompileResult:
    bmv2_json: dict
    p4info: object  # p4.config.v1.p4info_pb2.P4Info


def compile_file(path: str, include_dirs: Sequence[str] = (),
                 defines: Optional[Mapping[str, str]] = None,
                 max_errors: int = DEFAULT_MAX_ERRORS) -> CompileResult:
    """Compile a P4-16 v1model program; raises CompileError (file:line:column + caret) on bad
    input, or errors.CompileErrors listing up to `max_errors` independent type errors."""
    from p4nic.compiler.preprocess import preprocess
    from p4nic.compiler.parser import parse
    from p4nic.compiler.typecheck import typecheck
    from p4nic.compiler.p4info import build_p4info
    from p4nic.compiler.midend import run_midend
    from p4nic.compiler.bmv2 import build_bmv2_json

    source = preprocess(path, include_dirs=include_dirs, defines=dict(defines or {}))
    program = parse(source)
    typed = typecheck(program, max_errors)
    p4info = build_p4info(typed)
    bmv2_json = build_bmv2_json(run_midend(typed))
    return CompileResult(bmv2_json=bmv2_json, p4info=p4info)
