"""What the demo prints, with rich: the compile and start-up facts, one table per feature
(sent / expected / observed / PASS or FAIL), and the summary the exit code follows."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

PASS = "[bold green]PASS[/]"
FAIL = "[bold red]FAIL[/]"
PIPE_WIDTH = 120     # columns used when the output is not a terminal (a log, a CI job)
PTF_PORTS = {"VNIC": "0-4", "PNIC": "0-5"}   # the ports tests/ptf/suites uses on each NIC


class Report:
    def __init__(self, quiet: bool = False):
        self.console = Console(highlight=False)
        if not self.console.is_terminal:
            self.console.width = PIPE_WIDTH
        self.quiet = quiet

    def say(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text)

    def error(self, text: str) -> None:
        """`text` is printed as rich markup: escape() what comes from outside."""
        self.console.print(f"[bold red]error:[/] {text}")

    def compile_error(self, exc) -> None:
        """A CompileError already reads `file:line:column: error: ...` with a caret."""
        self.console.print(Text(str(exc), style="red"))

    def compiled(self, programs: list) -> None:
        if self.quiet:
            return
        table = Table(title="Compiled with p4nic's compiler", title_justify="left")
        for column in ("program", "compile time", "P4Info tables", "P4Info actions", "BMv2 JSON"):
            table.add_column(column)
        for p in programs:
            table.add_row(f"p4src/{p.json_path.stem}.p4", f"{p.seconds:.2f} s", str(p.tables),
                          str(p.actions), str(p.json_path.name))
        self.console.print(table)

    def started(self, addresses: list, seconds: float) -> None:
        if self.quiet:
            return
        table = Table(title=f"Running as `p4nic switch` processes (up and programmed in "
                            f"{seconds:.1f} s)", title_justify="left")
        for column in ("NIC", "P4Runtime", "packet socket (BMv2 nanomsg)"):
            table.add_column(column)
        for nic, grpc_addr, socket, _, _ in addresses:
            table.add_row(nic, grpc_addr, socket)
        self.console.print(table)

    def feature(self, number: int, feature) -> None:
        """Heading and story, what the controllers wrote, then every step with its verdict."""
        if self.quiet:
            return
        verdict = PASS if feature.passed else FAIL
        self.console.print()
        self.console.rule(f"[bold]{number}. {escape(feature.title)}[/] ({feature.patent})  "
                          f"{verdict}", align="left")
        self.console.print(Text(feature.story, style="italic"))
        if feature.writes:
            self.console.print(self._writes(feature.writes))
        table = Table(show_lines=True)
        table.add_column("#", justify="right")
        table.add_column("step", ratio=3)
        table.add_column("sent (or read)", ratio=3)
        table.add_column("expected", ratio=4)
        table.add_column("observed", ratio=4)
        table.add_column("", width=4)
        for step, row in enumerate(feature.rows, 1):
            # frame summaries hold brackets: plain Text, never rich markup
            table.add_row(str(step), Text(row.step), Text(row.sent), Text(row.expected),
                          Text(row.observed), PASS if row.passed else FAIL)
        if feature.rows:
            self.console.print(table)
        if feature.error:
            self.error(escape(f"{feature.title} stopped: {feature.error}"))

    @staticmethod
    def _writes(writes: list) -> Table:
        """What the controllers wrote over P4Runtime, and before which step."""
        table = Table(title="written over P4Runtime", title_justify="left", box=None,
                      show_header=False, padding=(0, 1))
        table.add_column("before", justify="right", style="dim")
        table.add_column("by", style="cyan")
        table.add_column("write")
        shown = None
        for step, controller, text in writes:
            table.add_row("" if step == shown else f"before #{step}", controller, Text(text))
            shown = step
        return table

    def summary(self, features: list, seconds: float) -> None:
        self.say("")
        table = Table(title=f"p4nic demo: {sum(f.passed for f in features)} of "
                            f"{len(features)} features passed in {seconds:.1f} s",
                      title_justify="left")
        table.add_column("feature")
        table.add_column("patent")
        table.add_column("steps")
        table.add_column("result")
        for feature in features:
            passed = sum(row.passed for row in feature.rows)
            table.add_row(Text(feature.title), feature.patent, f"{passed}/{len(feature.rows)}",
                          PASS if feature.passed else FAIL)
        self.console.print(table)
        for feature in features:
            if feature.error:
                self.error(escape(f"{feature.title}: {feature.error}"))
            for row in feature.rows:
                if not row.passed:
                    self.console.print(f"[red]✗ {escape(feature.title)}: {escape(row.step)}[/]"
                                       f"\n    {escape(row.detail)}")

    def kept(self, directory) -> None:
        """Where the compiled programs and switch logs stay (--build-dir)."""
        self.console.print(Text(f"Compiled programs and switch logs are in {directory}/"))

    def keep_running(self, addresses: list, suites) -> None:
        """Addresses and ready-to-paste commands; the PTF line only when `suites` (a clone's
        tests/ptf/suites) is there."""
        self.console.print("\n[bold]The NICs keep running (tables emptied). Ctrl-C stops them.[/]")
        for nic, grpc_addr, socket, json_path, p4info_path in addresses:
            suite = nic.lower()
            self.console.print(Text(
                f"{nic}  P4Runtime {grpc_addr} (device 0), packets {socket}\n"
                f"  p4runtime-shell: python -m p4runtime_sh --grpc-addr {grpc_addr} "
                f"--device-id 0 --election-id 0,1 --config {p4info_path},{json_path}"
                + (f"\n  PTF: ptf --test-dir {suites} --platform nn --device-socket "
                   f"'0-{{{PTF_PORTS[nic]}}}@{socket}' --test-params \"grpc_addr='{grpc_addr}';"
                   f"p4info='{p4info_path}'\" {suite}" if suites else "")))
