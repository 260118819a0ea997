"""`p4nic switch`: the software NIC as a process, with simple_switch_grpc's command line.

    p4nic switch [PROG.json] [BMv2 options] [-- target options]

BMv2's general options come first (behavioral-model src/bm_sim/options_parse.cpp), the
target's after `--` (targets/simple_switch_grpc/main.cpp); target options are also accepted
before `--`. Options that only make sense for BMv2's own services (Thrift, nanomsg logs and
notifications) are accepted and ignored with a note, so existing launch scripts keep working.
"""
import argparse
import faulthandler
import json
import logging
import logging.handlers
import os
import signal
import sys
import threading

from p4nic import __version__
from p4nic.nic.p4runtime.fronts import GRPCIO_EXPERIMENTS

DEFAULT_GRPC_ADDR = "0.0.0.0:9559"  # simple_switch_grpc's default
DEFAULT_DROP_PORT = 511  # SimpleSwitchGrpcRunner::default_drop_port
TRACE = 5  # BMv2's 'trace' level, below logging.DEBUG
LOG_LEVELS = {"trace": TRACE, "debug": logging.DEBUG, "info": logging.INFO,
              "warn": logging.WARNING, "error": logging.ERROR, "off": logging.CRITICAL + 10}
LOG_LETTERS = {TRACE: "T", logging.DEBUG: "D", logging.INFO: "I", logging.WARNING: "W",
               logging.ERROR: "E", logging.CRITICAL: "C"}


class SwitchUsageError(Exception):
    """A command line that cannot start a switch."""


class UsageParser(argparse.ArgumentParser):
    """argparse, but errors raise instead of exiting, so `main` decides what is printed."""

    def error(self, message):
        raise SwitchUsageError(message)


def interface(text: str) -> tuple[int, str]:
    """`PORT@IFACE`, as BMv2's validate(interface) parses it."""
    port, sep, name = text.partition("@")
    if not sep or not name or not port.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not PORT@INTERFACE (e.g. 1@veth1)")
    return int(port), name


def grpc_address(text: str) -> str:
    """`HOST:PORT` for the gRPC server (HOST may be `[IPv6]`). gRPC itself takes a bare host
    and listens on port 443, which no one means, so the port must be there and valid."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") != host.endswith("]") or (not host.startswith("[") and ":" in host):
        sep = ""      # a bare IPv6 address: its colons are not a port separator
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"'{text}' has no port: give HOST:PORT, e.g. "
                                         f"{DEFAULT_GRPC_ADDR}")
    if not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"'{text}': '{port}' is not a port number (0-65535)")
    return text


def unsigned(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not a non-negative integer")
    return int(text)


def add_target_options(parser, default) -> None:
    """simple_switch_grpc's own options. `default` is the value an absent option gets."""
    parser.add_argument("--grpc-server-addr", metavar="HOST:PORT", type=grpc_address,
                        default=default,
                        help=f"bind the P4Runtime gRPC server here (default {DEFAULT_GRPC_ADDR}, "
                             "every interface: anyone who reaches the host can program the switch; "
                             "127.0.0.1:9559 keeps it local); port 0 picks a free port")
    parser.add_argument("--grpc-server-ssl", action="store_true", default=default,
                        help="serve P4Runtime over TLS (needs --grpc-server-cert and "
                             "--grpc-server-key)")
    parser.add_argument("--grpc-server-cert", metavar="PEM", default=default,
                        help="with --grpc-server-ssl: the server's certificate (chain), PEM")
    parser.add_argument("--grpc-server-key", metavar="PEM", default=default,
                        help="with --grpc-server-ssl: the server's private key, PEM")
    parser.add_argument("--grpc-server-cacert", metavar="PEM", default=default,
                        help="with --grpc-server-ssl: CA certificate(s) to verify clients against")
    parser.add_argument("--grpc-server-with-client-auth", action="store_true", default=default,
                        help="with --grpc-server-ssl: mutual TLS, every client must present a "
                             "certificate that --grpc-server-cacert verifies")
    parser.add_argument("--cpu-port", type=unsigned, metavar="P", default=default,
                        help="port number for P4Runtime packet-in/out; 0 is not valid; "
                             "without it there is no packet I/O over P4Runtime")
    parser.add_argument("--drop-port", type=unsigned, metavar="P", default=default,
                        help=f"egress port that drops the packet (default {DEFAULT_DROP_PORT})")
    parser.add_argument("--priority-queues", type=unsigned, metavar="K", default=default,
                        help="priority queues per egress port (default 1); a packet whose priority "
                             "is not below K is dropped, as in BMv2")
    parser.add_argument("--disable-swap", action="store_true", default=default,
                        help="accepted for compatibility: pipeline configs are always swapped atomically")
    for name in ("--max-mc-groups", "--max-l1-entries", "--max-l2-entries"):
        parser.add_argument(name, type=unsigned, metavar="N", default=default,
                            help="accepted for compatibility; multicast tables grow as needed")


def build_parser() -> UsageParser:
    parser = UsageParser(
        prog="p4nic switch", allow_abbrev=False,
        usage="p4nic switch [options] [PROG.json] [-- target options]",
        description="Run the software NIC: load a BMv2 JSON program, serve P4Runtime, move packets "
                    "between ports. Flags as simple_switch_grpc.")
    parser.add_argument("config", nargs="?", metavar="PROG.json", help="BMv2 JSON program")
    parser.add_argument("-i", "--interface", type=interface, action="append", default=[],
                        metavar="PORT@IFACE",
                        help="attach Linux interface IFACE as port PORT (raw socket, needs root); repeatable")
    parser.add_argument("--pcap", nargs="?", const=".", metavar="DIR",
                        help="write <iface>_in.pcap / <iface>_out.pcap for every interface "
                             "(port<N>_in.pcap / port<N>_out.pcap for --packet-in ports) into DIR "
                             "(default: current directory)")
    parser.add_argument("--use-files", type=int, metavar="WAIT",
                        help="port X@NAME reads NAME_in.pcap and writes NAME_out.pcap; start after WAIT s")
    parser.add_argument("--packet-in", metavar="ADDR",
                        help="carry every port over this nanomsg PAIR socket (ipc://PATH or "
                             "tcp://HOST:PORT), BMv2's protocol, what PTF's nn platform speaks; "
                             "--interface options are then ignored")
    parser.add_argument("--device-id", type=unsigned, default=0, metavar="N",
                        help="device id, as in P4Runtime messages (default 0)")
    parser.add_argument("--log-console", action="store_true", help="log to stdout")
    parser.add_argument("--log-file", metavar="FILE", help="log to FILE")
    parser.add_argument("-L", "--log-level", choices=list(LOG_LEVELS), default="trace",
                        help="trace, debug, info, warn, error or off (default trace)")
    parser.add_argument("--log-flush", action="store_true",
                        help="with --log-file: flush after every message (always done)")
    parser.add_argument("--log-file-max-size", type=unsigned, default=5 * 1024 * 1024, metavar="BYTES",
                        help="rotate the log file at this size (default 5242880)")
    parser.add_argument("--log-file-max-files", type=unsigned, default=3, metavar="N",
                        help="rotated log files to keep (default 3)")
    parser.add_argument("--dump-packet-data", type=unsigned, default=0, metavar="N",
                        help="log the first N bytes of every packet received and sent, at level info")
    parser.add_argument("--no-p4", action="store_true",
                        help="start without a program; load one later over P4Runtime")
    parser.add_argument("--max-port-count", type=unsigned, default=512, metavar="N",
                        help="accepted for compatibility; ports are not limited")
    parser.add_argument("-v", "--version", action="store_true", help="print the version and exit")
    for name in ("--thrift-port", "--nanolog", "--notifications-addr"):
        parser.add_argument(name, metavar="X", help="accepted and ignored: p4nic has no such service")
    add_target_options(parser.add_argument_group(
        "target options", "simple_switch_grpc's own options, given after `--` (also taken before it)"),
        argparse.SUPPRESS)
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Both halves of the command line into one namespace, defaults filled in, checked."""
    if "--" in argv:
        cut = argv.index("--")
        general, target = argv[:cut], argv[cut + 1:]
    else:
        general, target = argv, []
    opts = build_parser().parse_args(general)
    target_parser = UsageParser(prog="p4nic switch ... --", allow_abbrev=False, add_help=False)
    add_target_options(target_parser, None)
    target_opts = target_parser.parse_args(target)
    for name, value in vars(target_opts).items():
        if value is not None or not hasattr(opts, name):
            setattr(opts, name, value)
    defaults = {"grpc_server_addr": DEFAULT_GRPC_ADDR, "drop_port": DEFAULT_DROP_PORT,
                "priority_queues": 1, "disable_swap": False, "grpc_server_ssl": False,
                "grpc_server_with_client_auth": False}
    for name, value in defaults.items():
        if getattr(opts, name) is None:
            setattr(opts, name, value)
    check(opts)
    return opts


def check(opts: argparse.Namespace) -> None:
    """The cross-option rules of options_parse.cpp and simple_switch_grpc's main.cpp."""
    if opts.version:
        return
    if not opts.no_p4 and not opts.config:
        raise SwitchUsageError("please specify an input JSON configuration file (or --no-p4)")
    if opts.log_console and opts.log_file:
        raise SwitchUsageError("--log-console and --log-file are exclusive")
    if opts.use_files is not None and opts.packet_in:
        raise SwitchUsageError("--use-files and --packet-in are exclusive")
    if opts.pcap is not None and not os.path.isdir(opts.pcap):
        raise SwitchUsageError(f"directory '{opts.pcap}' specified with '--pcap' does not exist")
    if opts.grpc_server_ssl:    # simple_switch_grpc's main.cpp
        for flag in ("cert", "key"):
            if not getattr(opts, f"grpc_server_{flag}"):
                raise SwitchUsageError(f"--grpc-server-ssl needs --grpc-server-{flag}")
        if opts.grpc_server_with_client_auth and not opts.grpc_server_cacert:
            raise SwitchUsageError("--grpc-server-with-client-auth needs --grpc-server-cacert "
                                   "to verify client certificates against")
    if opts.cpu_port == 0:
        raise SwitchUsageError("--cpu-port 0 is not valid")
    if opts.priority_queues == 0:
        raise SwitchUsageError("--priority-queues must be at least 1")
    if opts.log_file_max_size == 0:
        raise SwitchUsageError("--log-file-max-size must be greater than 0")
    ports = [port for port, _ in opts.interface]
    duplicates = sorted({port for port in ports if ports.count(port) > 1})
    if duplicates:
        raise SwitchUsageError(f"port {duplicates[0]} is given more than one interface")
    if opts.cpu_port is not None and opts.cpu_port in ports:
        raise SwitchUsageError(f"CPU port {opts.cpu_port} is used as a data port")


class BMv2Formatter(logging.Formatter):
    """BMv2's log line: `[12:00:00.123] [bmv2] [D] [thread 42] message` (src/bm_sim/logger.cpp)."""

    def format(self, record):
        clock = self.formatTime(record, "%H:%M:%S") + f".{int(record.msecs):03d}"
        letter = LOG_LETTERS.get(record.levelno, record.levelname[:1])
        line = f"[{clock}] [p4nic] [{letter}] [thread {record.thread % 100000}] {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def make_logger(opts: argparse.Namespace) -> logging.Logger:
    """The switch's logger: everything at -L and above to --log-console or --log-file, like
    BMv2; without either, warnings and errors still go to stderr (BMv2 would say nothing)."""
    logging.addLevelName(TRACE, "TRACE")
    logger = logging.getLogger(f"p4nic.switch.{opts.device_id}")
    logger.propagate = False
    logger.handlers.clear()
    if opts.log_console:
        handler = logging.StreamHandler(sys.stdout)
    elif opts.log_file:
        try:
            handler = logging.handlers.RotatingFileHandler(
                opts.log_file, maxBytes=opts.log_file_max_size, backupCount=opts.log_file_max_files)
        except OSError as e:
            raise SwitchUsageError(f"cannot open log file '{opts.log_file}': {e.strerror}") from None
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
    handler.setFormatter(BMv2Formatter())
    logger.addHandler(handler)
    logger.setLevel(LOG_LEVELS[opts.log_level])
    return logger


def notes(opts: argparse.Namespace) -> list[str]:
    """What the switch accepted but will not do, said once at start."""
    said = []
    for flag in ("thrift_port", "nanolog", "notifications_addr"):
        if getattr(opts, flag) is not None:
            said.append(f"note: --{flag.replace('_', '-')} ignored: p4nic has no Thrift or nanomsg "
                        "control service; use P4Runtime (p4nic tables, table-dump, counters "
                        "instead of simple_switch_CLI)")
    if not opts.grpc_server_ssl:    # simple_switch_grpc's wording
        if opts.grpc_server_cert or opts.grpc_server_key or opts.grpc_server_cacert:
            said.append("note: SSL/TLS is disabled for gRPC server (no --grpc-server-ssl), so "
                        "the provided .pem files are ignored")
        if opts.grpc_server_with_client_auth:
            said.append("note: SSL/TLS is disabled for gRPC server (no --grpc-server-ssl), so "
                        "it cannot request client auth")
    if opts.packet_in and opts.interface:
        said.append("note: --interface options ignored because --packet-in is used")
    if opts.pcap is not None and opts.use_files is not None:
        said.append("note: --pcap adds nothing to --use-files: each port's NAME_in.pcap and "
                    "NAME_out.pcap already hold what it received and sent")
    elif opts.pcap is not None and not opts.packet_in and not opts.interface:
        said.append("note: --pcap: no ports to capture (give -i PORT@IFACE or --packet-in)")
    if opts.no_p4 and opts.config:
        said.append("warning: ignoring input config as '--no-p4' was used")
    return said


def load_program(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise SwitchUsageError(f"cannot read '{path}': {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise SwitchUsageError(f"'{path}' is not valid JSON: line {e.lineno} column {e.colno}: {e.msg}") from None


def server_tls(opts: argparse.Namespace):
    """The server's TLS credentials (fronts.ServerTls) from the --grpc-server-* PEM files; None
    without --grpc-server-ssl.
    The files are checked here (the ssl module loads them), so a wrong file is a clear start-up
    error rather than a failed handshake later."""
    if not opts.grpc_server_ssl:
        return None
    import ssl

    from p4nic.nic.p4runtime.fronts import ServerTls
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(opts.grpc_server_cert, opts.grpc_server_key)
        if opts.grpc_server_cacert:
            context.load_verify_locations(opts.grpc_server_cacert)
    except ssl.SSLError as e:
        raise SwitchUsageError(f"TLS: the certificate, key or CA certificate is not usable "
                               f"PEM: {e.reason or e}") from None
    except OSError as e:
        raise SwitchUsageError(f"cannot read '{e.filename}': {e.strerror}") from None

    def read(path):
        with open(path, "rb") as f:
            return f.read()
    return ServerTls(read(opts.grpc_server_key), read(opts.grpc_server_cert),
                     read(opts.grpc_server_cacert) if opts.grpc_server_cacert else None,
                     opts.grpc_server_with_client_auth)


def open_sources(opts: argparse.Namespace, logger: logging.Logger) -> list:
    """The port backends the options ask for: nanomsg, files, or raw interfaces."""
    if opts.packet_in:
        from p4nic.nic.ports.nanomsg import NanomsgPorts
        return [NanomsgPorts(opts.packet_in, logger)]
    interfaces = dict(opts.interface)
    if opts.use_files is not None:
        from p4nic.nic.ports.files import FilePorts
        return [FilePorts(interfaces, opts.use_files)] if interfaces else []
    from p4nic.nic.ports.rawsock import RawSocketPort
    sources = []
    try:
        for port, name in interfaces.items():
            sources.append(RawSocketPort(port, name))
    except Exception:
        for source in sources:
            source.close()
        raise
    return sources


def main(argv: list[str]) -> int:
    try:
        opts = parse_args(list(argv))
    except SwitchUsageError as e:
        print(f"p4nic switch: error: {e}\n{build_parser().format_usage().rstrip()}\n"
              "Run `p4nic switch --help` for every option.", file=sys.stderr)
        return 2
    if opts.version:
        print(f"p4nic {__version__}")
        return 0
    for line in notes(opts):
        print(line, file=sys.stderr)
    try:
        return run(opts)
    except SwitchUsageError as e:
        print(f"p4nic switch: error: {e}", file=sys.stderr)
        return 1


def announce(stream, host: str, port: int, packet_in: str | None) -> None:
    """Say that the switch serves, as simple_switch_grpc does (scripts wait for these lines), in
    one write: print() writes a line's text and its newline apart, and unbuffered (python -u,
    PYTHONUNBUFFERED) a warning from another thread landed between them, after the port."""
    ready = f"Server listening on {host}:{port}\n"
    if packet_in:
        ready += f"Packet ports on nanomsg socket {packet_in}\n"
    stream.write(ready)
    stream.flush()


def run(opts: argparse.Namespace) -> int:
    os.environ.setdefault("GRPC_EXPERIMENTS", GRPCIO_EXPERIMENTS)   # before grpc is imported
    program = None if opts.no_p4 else load_program(opts.config)
    from p4nic.nic.device import Device
    from p4nic.nic.device_lock import SWITCH_INTERVAL
    from p4nic.nic.p4runtime.server import start_server
    from p4nic.nic.ports import PortError
    from p4nic.nic.ports.dataplane import Dataplane
    from p4nic.nic.ports.pcap import PcapCapture
    from p4nic.nic.program import ProgramError

    tls = server_tls(opts)
    logger = make_logger(opts)
    sys.setswitchinterval(SWITCH_INTERVAL)    # packets wait less on P4Runtime's threads
    # The Device builds trace calls into its generated code only when given a logger, so it gets
    # one only when its lines (trace/debug, and log_msg at info) can be seen.
    tracing = (opts.log_console or opts.log_file) and LOG_LEVELS[opts.log_level] <= logging.INFO
    device = Device(device_id=opts.device_id, cpu_port=opts.cpu_port, drop_port=opts.drop_port,
                    logger=logger if tracing else None, priority_queues=opts.priority_queues)
    if program is not None:
        try:
            device.load(program)
        except ProgramError as e:
            raise SwitchUsageError(f"cannot load '{opts.config}': {e}") from None
        except Exception as e:  # a NIC bug: one line, not a traceback
            raise SwitchUsageError(f"cannot load '{opts.config}': internal error: "
                                   f"{type(e).__name__}: {e}") from None
    try:
        sources = open_sources(opts, logger)
    except PortError as e:
        raise SwitchUsageError(str(e)) from None
    except OSError as e:  # an output pcap file that cannot be created
        raise SwitchUsageError(f"cannot create '{e.filename}': {e.strerror}") from None
    if not opts.packet_in:
        for port, name in opts.interface:
            print(f"Adding interface {name} as port {port}" + (" (files)" if opts.use_files is not None else ""))
    capture = None
    if opts.pcap is not None and opts.use_files is None:
        # nanomsg ports have no interface names: port<N>_in/_out.pcap, opened on first use
        try:
            capture = PcapCapture(opts.pcap, None if opts.packet_in else dict(opts.interface))
        except OSError as e:
            raise SwitchUsageError(f"cannot create '{e.filename}': {e.strerror}") from None
    dataplane = Dataplane(device, sources, cpu_port=opts.cpu_port, capture=capture, logger=logger,
                          dump_packet_data=opts.dump_packet_data)
    try:
        server = start_server(device, address=opts.grpc_server_addr, device_id=opts.device_id,
                              cpu_port=opts.cpu_port, lock=dataplane.lock, inject=dataplane.inject,
                              logger=logger, tls=tls)
    except OSError as e:
        dataplane.stop()
        raise SwitchUsageError(str(e)) from None
    dataplane.on_cpu_packets = server.packet_in
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    dataplane.start()
    announce(sys.stdout, opts.grpc_server_addr.rpartition(":")[0], server.port, opts.packet_in)
    try:
        stop.wait()
    finally:
        _exit_if_stuck(SHUTDOWN_SECONDS)
        server.stop()
        dataplane.stop()
    return 0


SHUTDOWN_SECONDS = 10.0


def _exit_if_stuck(seconds: float) -> None:
    """A switch told to stop must stop: if the teardown (gRPC's shutdown, a worker thread
    the interpreter would wait for at exit) is not over in `seconds`, print every thread's
    stack to stderr, for the bug report, and exit at once."""
    def force():
        print(f"p4nic switch: shutdown not done after {seconds:.0f} s; exiting now. "
              "Threads still running:", file=sys.stderr, flush=True)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        sys.stdout.flush()
        os._exit(0)
    timer = threading.Timer(seconds, force)
    timer.daemon = True
    timer.start()
