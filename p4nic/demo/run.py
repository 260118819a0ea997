"""`p4nic demo`: the main job (journey.py): a whole host from examples/host.nic, real
conversations through it, and each flow's journey guest -> VNIC -> PNIC.

`p4nic demo --features` is the self-check of every NIC feature: compile the VNIC and PNIC
pipelines with p4nic's compiler, run them as `p4nic switch` processes, program them over
P4Runtime, and show every feature with real packets: what was sent, what was expected, what
came out, PASS or FAIL.

Exit status 0 only if every expectation held, 1 otherwise (130 on Ctrl-C). The switch
processes are always stopped, on errors and interrupts too.
"""
from __future__ import annotations

import argparse
import contextlib
import signal
import tempfile
import time
from pathlib import Path

from rich.markup import escape

from p4nic import pipelines
from p4nic.compiler.errors import CompileError
from p4nic.demo.features import FEATURES, run_feature
from p4nic.demo.host import DemoHost
from p4nic.demo.report import Report
from p4nic.runtime.connection import P4RuntimeClientError
from p4nic.runtime.local_switch import LocalSwitchError

# The VNIC/PNIC PTF suites, offered for --keep-running when running from a clone.
PTF_SUITES = Path(__file__).resolve().parents[2] / "tests" / "ptf" / "suites"


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="p4nic demo",
        description="Bring a host up from examples/host.nic and show flows moving guest -> "
                    "VNIC -> PNIC by themselves; with --features, show every NIC feature "
                    "with real packets.")
    parser.add_argument("--features", action="store_true",
                        help="the self-check of every NIC feature instead of the host's flows")
    parser.add_argument("--quiet", action="store_true",
                        help="print only the summary and what failed")
    parser.add_argument("--keep-running", action="store_true",
                        help="afterwards leave both NICs running (tables emptied) and print "
                             "their P4Runtime addresses and packet sockets, until Ctrl-C")
    parser.add_argument("--build-dir", type=Path, metavar="DIR",
                        help="keep the compiled programs (BMv2 JSON, P4Info) and the switch logs "
                             "here (default: a temporary directory, removed at exit)")
    parser.add_argument("--p4src", type=Path, metavar="DIR",
                        help="directory holding vnic.p4 and pnic.p4 (default: the pipelines "
                             "p4nic ships, p4src/ of the source tree)")
    return parser


def _interrupt_on_sigterm(*_):
    raise KeyboardInterrupt


def main(argv: list | None = None) -> int:
    args = build_arg_parser().parse_args(argv)
    report = Report(quiet=args.quiet)
    if not args.features:
        return _journey(args, report)
    if args.p4src is None:
        try:
            pipelines.p4src_dir()
        except pipelines.PipelineNotFound as exc:
            report.error(escape(f"{exc}; reinstall p4nic or give --p4src DIR"))
            return 1
    else:
        missing = [f"{name}.p4" for name in pipelines.PIPELINES
                   if not (args.p4src / f"{name}.p4").is_file()]
        if missing:
            report.error(f"{escape(str(args.p4src))} has no {' or '.join(missing)}")
            return 1
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    # Ctrl-C stops the demo cleanly even when it was started with SIGINT ignored (a background
    # job of a non-interactive shell inherits that), where Python would not raise KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    with contextlib.ExitStack() as scratch:
        if args.build_dir is None:
            workdir = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="p4nic-demo-")))
        else:
            workdir = args.build_dir.resolve()
            try:
                workdir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                report.error(escape(f"cannot create {workdir}: {exc.strerror}"))
                return 1
            scratch.callback(report.kept, workdir)
        host = DemoHost(args.p4src, workdir)
        try:
            return _run(host, report, args, started)
        except KeyboardInterrupt:
            report.error("interrupted; stopping the NICs")
            return 130
        except CompileError as exc:
            report.compile_error(exc)
            return 1
        except (LocalSwitchError, P4RuntimeClientError, OSError, ValueError) as exc:
            report.error(escape(str(exc)))
            return 1
        finally:
            # a second Ctrl-C must not leave switch processes behind
            for signum in handlers:
                signal.signal(signum, signal.SIG_IGN)
            host.stop()
            for signum, handler in handlers.items():
                signal.signal(signum, handler)


def _journey(args, report: Report) -> int:
    from p4nic.demo import journey
    from p4nic.dsl import DslError
    from p4nic.runtime.host import HostError
    signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return journey.run(report.console, args.build_dir.resolve() if args.build_dir else None,
                           quiet=args.quiet)
    except KeyboardInterrupt:
        report.error("interrupted; the host is stopped")
        return 130
    except (DslError, HostError, LocalSwitchError, P4RuntimeClientError, OSError,
            ValueError) as exc:
        report.error(escape(str(exc)))
        return 1


def _run(host: DemoHost, report: Report, args, started: float) -> int:
    report.say("[bold]p4nic demo[/]: a host whose VNIC and PNIC are P4 pipelines, "
               "programmed over P4Runtime and driven with real packets\n")
    report.compiled(host.compile())
    up = time.monotonic()
    host.start()
    report.started(host.addresses(), time.monotonic() - up)
    features = []
    for number, show in enumerate(FEATURES, 1):
        feature = run_feature(host, show)
        report.feature(number, feature)
        features.append(feature)
    report.summary(features, time.monotonic() - started)
    if args.keep_running:
        host.release()
        report.keep_running(host.addresses(), PTF_SUITES if PTF_SUITES.is_dir() else None)
        while True:
            time.sleep(3600)
    return 0 if all(f.passed for f in features) else 1
