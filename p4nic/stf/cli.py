"""`p4nic stf PROG TEST.stf`: compile PROG.p4 (or take a BMv2 PROG.json), run the STF test on
an in-process Device, exit 0 when every expectation holds and 1 otherwise."""
import argparse
import json
import sys

from p4nic.stf.parser import STFError, parse_stf
from p4nic.stf.runner import STFRunner


class StfUsageError(Exception):
    pass


class UsageParser(argparse.ArgumentParser):
    def error(self, message):
        raise StfUsageError(message)


def build_parser() -> UsageParser:
    parser = UsageParser(prog="p4nic stf", allow_abbrev=False,
                         description="Run a p4c STF packet test against the software NIC.")
    parser.add_argument("program", metavar="PROG", help="P4-16 v1model program (.p4) or BMv2 JSON (.json)")
    parser.add_argument("test", metavar="TEST.stf", help="the STF test")
    parser.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR",
                        help="add DIR to the #include search path")
    parser.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]",
                        help="define a preprocessor macro")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also print what the test read back (registers, counters, notes)")
    parser.add_argument("--trace", action="store_true",
                        help="print the NIC's BMv2-style trace of every packet, as simple_switch "
                             "--log-console does")
    return parser


def load_program(args) -> dict:
    """BMv2 JSON for the program: read it, or compile the P4 source. Errors as StfUsageError."""
    if args.program.endswith(".json"):
        try:
            with open(args.program) as f:
                return json.load(f)
        except OSError as e:
            raise StfUsageError(f"cannot read '{args.program}': {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise StfUsageError(f"'{args.program}' is not valid JSON: line {e.lineno}: {e.msg}") from None
    from p4nic.compiler.driver import compile_file
    from p4nic.compiler.errors import CompileError

    defines = dict(d.split("=", 1) if "=" in d else (d, "1") for d in args.defines)
    try:
        return compile_file(args.program, include_dirs=args.include_dirs, defines=defines).bmv2_json
    except CompileError as e:
        raise StfUsageError(str(e)) from None
    except OSError as e:
        raise StfUsageError(f"cannot read '{args.program}': {e.strerror}") from None
    except Exception as e:  # a compiler bug: say so in one line, not a traceback
        raise StfUsageError(f"{args.program}: internal compiler error: {type(e).__name__}: {e}") from None


def main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(list(argv))
    except StfUsageError as e:
        print(f"p4nic stf: error: {e}\n{build_parser().format_usage().rstrip()}", file=sys.stderr)
        return 2
    try:
        with open(args.test) as f:
            commands = parse_stf(f.read(), args.test)
        program = load_program(args)
    except OSError as e:
        print(f"p4nic stf: cannot read '{args.test}': {e.strerror}", file=sys.stderr)
        return 1
    except (STFError, StfUsageError) as e:
        print(e, file=sys.stderr)
        return 1

    from p4nic.nic.device import Device
    from p4nic.nic.program import ProgramError

    device = Device(device_id=0, logger=print if args.trace else None)
    try:
        device.load(program)
    except ProgramError as e:
        print(f"{args.program}: cannot load program: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # a NIC bug: one line, not a traceback
        print(f"{args.program}: cannot load program: internal error: {type(e).__name__}: {e}",
              file=sys.stderr)
        return 1
    outcome = STFRunner(device).run(commands, args.test)
    if args.verbose:
        for line in outcome.log:
            print(line)
    if outcome.passed:
        packets = sum(c.name == "packet" for c in commands)
        expects = sum(c.name == "expect" for c in commands)
        print(f"PASS {args.test}: {packets} packet(s) sent, {expects} expectation(s) met")
        return 0
    for failure in outcome.failures:
        print(failure)
    print(f"FAIL {args.test}: {len(outcome.failures)} problem(s)")
    return 1
