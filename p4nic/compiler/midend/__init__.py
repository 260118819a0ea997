"""The midend: the typed program lowered, in small named passes, into BMv2's terms.

`run_midend(typed) -> LoweredProgram` (ir.py). The passes, each in its own module:

- `v1model.py`   which V1Switch block is which; headers/metadata/standard_metadata storage,
                 checksum controls, deparser order, @field_list lists
- `inline.py`    scopes for inlined sub-control/sub-parser instances, action and function calls
- `localvars.py` storage: header instances, stacks, unions, and `scalars` fields for locals,
                 metadata and temporaries
- `constfold.py` compile-time values (sizes, keysets, entries, enum/error numbers)
- `flatten.py`   expressions and assignments into BMv2 expressions and primitives
- `actions.py`   straight-line code into primitive lists (with `_jump`/`_jump_if_zero`)
- `controls.py`  control bodies into tables and conditionals
- `parsers.py`   parsers into parse states, ops and select transitions
- `externs.py`   v1model extern instances and calls
- `stackindex.py` runtime header-stack indexes into choices between constant indexes
"""
from __future__ import annotations

from p4nic.compiler.midend.context import MidendContext
from p4nic.compiler.midend.ir import LoweredProgram
from p4nic.compiler.midend.stackindex import expand_runtime_stack_indexes
from p4nic.compiler.midend.v1model import lower_v1model


def run_midend(typed) -> LoweredProgram:
    """Lower a TypedProgram (typecheck.py) for BMv2; CompileError on what BMv2 cannot run."""
    ctx = MidendContext(typed)
    lower_v1model(ctx)
    ctx.externs.finish()
    ctx.storage.finish()
    expand_runtime_stack_indexes(ctx.out)
    return ctx.out


__all__ = ["run_midend", "LoweredProgram"]
