"""The `p4nic` command: one front for every tool, each subcommand living in its own module.

Each entry maps a subcommand to "module:function"; the function takes the remaining argv and
returns an exit code. Modules are imported only when their subcommand runs, so a slow or heavy
import (grpc, scapy) never delays the others.
"""
import importlib
import signal
import sys

from p4nic import __version__

SUBCOMMANDS = {
    "compile": ("p4nic.compiler.cli:main", "compile P4-16 (v1model) to BMv2 JSON and P4Info, like p4c-bm2-ss"),
    "switch": ("p4nic.nic.cli:main", "run the software NIC, with simple_switch_grpc's flags"),
    "stf": ("p4nic.stf.cli:main", "run a p4c STF test against the software NIC"),
    "plan": ("p4nic.dsl.apply_cli:plan_main", "show what `apply` would change on the NICs a .nic file names"),
    "apply": ("p4nic.dsl.apply_cli:apply_main", "make the NICs a .nic file names hold what it declares"),
    "up": ("p4nic.runtime.up:main", "bring a whole host up from a .nic file: VNIC, PNIC, guest, offload"),
    "status": ("p4nic.runtime.status:main", "flows per tier, queues, filters and moves of a running host"),
    "traffic": ("p4nic.runtime.traffic:main", "open TCP and UDP conversations through a running host"),
    "demo": ("p4nic.demo:main", "the main job: compile p4src/ and run it on the embedded NIC"),
    "bench": ("p4nic.bench:main", "benchmarks: compile time, packets/s, P4Runtime inserts/s"),
    "check": ("p4nic.dsl.cli:check_main", "check .nic pipeline files (errors with file:line:column)"),
    "entries": ("p4nic.dsl.cli:entries_main", "the P4Runtime entries a .nic file asks for, as text or JSON"),
    "send": ("p4nic.shell.packets:send_main", "put a frame on a port of a running switch"),
    "sniff": ("p4nic.shell.packets:sniff_main", "print the frames a running switch sends out"),
    "tables": ("p4nic.shell.inspect:tables_main", "list a running switch's tables (P4Runtime)"),
    "table-dump": ("p4nic.shell.inspect:table_dump_main",
                   "print a table's entries on a running switch (P4Runtime)"),
    "counters": ("p4nic.shell.inspect:counters_main",
                 "print a running switch's counters (P4Runtime)"),
    "conformance": ("p4nic.conformance:main",
                    "measure p4nic on p4c's test corpus (P4Info, STF) from a p4c checkout"),
}

# Commands that only write to their output end quietly when the reader goes away
# (`p4nic stf ... | head`), as Unix filters do; servers keep Python's default, where a closed
# socket is an error to handle, not a reason to die.
OUTPUT_ONLY = {"compile", "stf", "check", "entries"}


def usage() -> str:
    width = max(len(name) for name in SUBCOMMANDS)
    lines = ["usage: p4nic COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    lines += ["", "Run `p4nic COMMAND --help` for a command's options."]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if argv[0] == "--version":
        print(f"p4nic {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"p4nic: unknown command '{name}'\n\n{usage()}", file=sys.stderr)
        return 2
    if name in OUTPUT_ONLY and hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    module_name, func_name = SUBCOMMANDS[name][0].split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(func(rest) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
