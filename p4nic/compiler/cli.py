"""`p4nic compile`: the compiler's command line, flag-compatible with p4c-bm2-ss where it matters.

Scripts written for p4c-bm2-ss (`-o FILE`, `--p4runtime-files`, `-I`, `-D`, `--std`,
`--p4v 16`, `--arch`, `--target`) or for the p4c driver (`-b bmv2`, `-a v1model`, `-o DIR`,
which writes DIR/NAME.json) work unchanged; p4c flags that only tune p4c's own passes or
diagnostics are accepted and ignored. Failures go to stderr with exit status 1, never a
traceback (set P4NIC_TRACEBACK=1 to see one for an internal error): every independent type
error of the program, up to --maxErrorCount (20 by default, as p4c).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from p4nic import __version__
from p4nic.compiler.errors import DEFAULT_MAX_ERRORS, CompileError

# P4Info formats by file name suffix, as p4c's control-plane/p4RuntimeSerializer.cpp
# (parseFileNames) picks them for --p4runtime-files.
P4INFO_FORMAT_BY_SUFFIX = {".json": "json", ".bin": "binary", ".txtpb": "text", ".txt": "text"}

# p4c options that change nothing about what p4nic produces: (flag, takes a value).
IGNORED_P4C_FLAGS = [
    ("--emit-externs", False), ("--ndebug", False), ("--parser-inline-opt", False),
    ("--loopsUnroll", False), ("--doNotEmitIncludes", False), ("--listFrontendPasses", False),
    ("--listMidendPasses", False), ("--testJson", False), ("--metrics", False),
    ("-v", False), ("--dump", True), ("--pp", True), ("--toJSON", True),
    ("--top4", True), ("--excludeFrontendPasses", True), ("--excludeMidendPasses", True),
    ("--disable-annotations", True), ("-T", True), ("-O", True),
]

# P4-16 as p4c's --std and --p4v spell it (frontends/common/parser_options.cpp, the driver).
P4_16_NAMES = ("p4-16", "p4_16", "16", "1.2", "p4", "p416")


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        """Bad flags: argparse's usage message, exit status 1 like p4c (argparse uses 2)."""
        self.print_usage(sys.stderr)
        print(f"p4nic compile: error: {message}", file=sys.stderr)
        sys.exit(1)


def build_arg_parser() -> argparse.ArgumentParser:
    ap = _ArgumentParser(
        prog="p4nic compile", allow_abbrev=False,
        description="Compile a P4-16 v1model program to BMv2 JSON and P4Info (like p4c-bm2-ss).",
        epilog="Accepted and ignored, for p4c compatibility: --Wdisable/--Wwarn/--Winfo/--Werror"
               "[=DIAG], " + ", ".join(flag + (" X" if takes_value else "")
                                       for flag, takes_value in IGNORED_P4C_FLAGS) + ".")
    ap.add_argument("source", nargs="?", help="the P4 program")
    ap.add_argument("-o", "--output", dest="output", metavar="FILE|DIR",
                    help="BMv2 JSON output file; a directory (one that exists, ends in '/' or "
                         "has no suffix) gets NAME.json, as the p4c driver writes it (default: "
                         "SOURCE's name with .json, in the current dir)")
    ap.add_argument("--version", "-V", action="store_true",
                    help="print the compiler's version and exit")
    ap.add_argument("--p4runtime-files", metavar="FILES",
                    help="comma-separated P4Info outputs; format by suffix: .txtpb/.txt text, "
                         ".json JSON, .bin binary")
    ap.add_argument("--p4runtime-file", metavar="FILE",
                    help="one P4Info output in --p4runtime-format (deprecated in p4c)")
    ap.add_argument("--p4runtime-format", choices=["text", "json", "binary"], default=None,
                    help="format for --p4runtime-file (default binary, as p4c); overrides the "
                         "suffix for --p4runtime-files")
    ap.add_argument("--p4runtime-entries-files", metavar="FILES",
                    help="accepted for compatibility; p4nic does not write entries files")
    ap.add_argument("--p4runtime-entries-file", metavar="FILE", help=argparse.SUPPRESS)
    ap.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR",
                    help="add DIR to the #include search path")
    ap.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]",
                    help="define a preprocessor macro")
    ap.add_argument("-U", dest="undefines", action="append", default=[], metavar="NAME",
                    help="undefine a macro given with -D")
    ap.add_argument("-E", dest="preprocess_only", action="store_true",
                    help="print the preprocessed program and stop")
    ap.add_argument("--std", "-x", default="p4-16", metavar="LANG",
                    help="source language; only p4-16 is supported")
    ap.add_argument("--p4v", metavar="VERSION", help="language version; only 16 is supported")
    ap.add_argument("--arch", "-a", default="v1model",
                    help="architecture; only v1model is supported")
    ap.add_argument("--target", "-b", default="bmv2", help="target; only bmv2 is supported")
    ap.add_argument("--maxErrorCount", type=int, default=DEFAULT_MAX_ERRORS, metavar="N",
                    help="report at most N errors (default %(default)s)")
    for flag in ("--Wdisable", "--Wwarn", "--Winfo", "--Werror"):
        ap.add_argument(flag, nargs="?", const="", action="append", help=argparse.SUPPRESS)
    for flag, takes_value in IGNORED_P4C_FLAGS:
        if takes_value:
            ap.add_argument(flag, action="append", help=argparse.SUPPRESS)
        else:
            ap.add_argument(flag, action="count", help=argparse.SUPPRESS)
    return ap


def parse_defines(items, undefines) -> dict:
    """-D NAME means NAME=1, as with cpp."""
    defines = {}
    for item in items:
        name, _, value = item.partition("=")
        defines[name] = value if "=" in item else "1"
    for name in undefines:
        defines.pop(name, None)
    return defines


def p4info_outputs(args) -> list:
    """[(path, format)] for every P4Info file asked for."""
    outputs = []
    if args.p4runtime_file:
        outputs.append((args.p4runtime_file, args.p4runtime_format or "binary"))
    for name in filter(None, (args.p4runtime_files or "").split(",")):
        fmt = args.p4runtime_format or P4INFO_FORMAT_BY_SUFFIX.get(Path(name).suffix)
        if fmt is None:
            raise CompileError(f"{name}: unknown file kind; known suffixes are .bin, .txt, "
                               ".json, and .txtpb")
        outputs.append((name, fmt))
    return outputs


def serialize_p4info(p4info, fmt: str) -> bytes:
    from google.protobuf import json_format, text_format
    if fmt == "text":
        return text_format.MessageToString(p4info).encode()
    if fmt == "json":
        return json_format.MessageToJson(p4info).encode()
    return p4info.SerializeToString()


def check_supported(args):
    if args.std.lower() not in P4_16_NAMES:
        raise CompileError(f"--std {args.std}: only P4-16 is supported")
    if args.p4v is not None and args.p4v.lower() not in P4_16_NAMES:
        raise CompileError(f"--p4v {args.p4v}: only P4-16 is supported")
    if args.arch != "v1model":
        raise CompileError(f"--arch {args.arch}: only v1model is supported")
    if args.target != "bmv2":
        raise CompileError(f"--target {args.target}: only bmv2 is supported")


def write_file(path: str, data: bytes):
    try:
        Path(path).write_bytes(data)
    except OSError as e:
        raise CompileError(f"cannot write '{path}': {e.strerror}") from None


def run(args) -> int:
    from p4nic.compiler.driver import compile_file
    from p4nic.compiler.preprocess import preprocess

    check_supported(args)
    defines = parse_defines(args.defines, args.undefines)
    if args.preprocess_only:
        sys.stdout.write(preprocess(args.source, args.include_dirs, defines).text)
        return 0
    outputs = p4info_outputs(args)
    if args.p4runtime_entries_files or args.p4runtime_entries_file:
        print("p4nic compile: warning: P4Runtime entries files are not supported; not written",
              file=sys.stderr)
    result = compile_file(args.source, include_dirs=args.include_dirs, defines=defines,
                          max_errors=args.maxErrorCount)
    output = json_output_path(args.output, args.source)
    write_file(output, (json.dumps(result.bmv2_json, indent=2) + "\n").encode())
    for path, fmt in outputs:
        write_file(path, serialize_p4info(result.p4info, fmt))
    return 0


def json_output_path(output, source: str) -> str:
    """Where the BMv2 JSON goes: `-o FILE` (p4c-bm2-ss), or DIR/NAME.json for `-o DIR` (the
    p4c driver; the directory is made if missing); without -o, NAME.json here."""
    name = Path(source).stem + ".json"
    if output is None:
        return name
    out = Path(output)
    if out.is_dir() or output.endswith(("/", os.sep)) or (not out.exists() and not out.suffix):
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CompileError(f"cannot create directory '{output}': {e.strerror}") from None
        return str(out / name)
    return output


def main(argv=None) -> int:
    ap = build_arg_parser()
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    if args.version:
        print(f"p4nic compile (p4c-bm2-ss compatible)\nVersion {__version__}")
        return 0
    if args.source is None:
        ap.error("the following arguments are required: source")
    try:
        return run(args)
    except CompileError as e:
        print(str(e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # an internal error must still read as one clear message
        if os.environ.get("P4NIC_TRACEBACK"):
            traceback.print_exc()
        where = _innermost_location(e)
        print(f"{where + ': ' if where else ''}internal compiler error: "
              f"{type(e).__name__}: {e} (while compiling {args.source})", file=sys.stderr)
        return 1


def _innermost_location(exc: BaseException) -> str:
    """file:line:col of the AST node a failing compiler pass was looking at, when one is found
    among the local variables of the innermost frames (a `loc` attribute or variable)."""
    tb = exc.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        for value in frame.f_locals.values():
            loc = getattr(value, "loc", None)
            if loc is not None and hasattr(loc, "line") and hasattr(loc, "file"):
                return str(loc)
    return ""


if __name__ == "__main__":
    sys.exit(main())
