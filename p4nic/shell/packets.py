"""`p4nic send` and `p4nic sniff`: packets on a running switch's packet socket, from the shell.

    p4nic send ipc:///tmp/vnic.ipc 0 "Ether()/IP(dst='10.0.0.5')/TCP(dport=80)" --wait 1
    p4nic sniff ipc:///tmp/vnic.ipc --port 3 --count 1

Frames are scapy expressions (scapy's layers are in scope, as in its shell) or hex bytes. Both
commands are a peer of the switch's PAIR socket (p4nic.runtime.wire), so they cannot run
while PTF, the demo or each other hold it: `send --wait` shows what comes back.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time


class FrameError(ValueError):
    """A frame argument that is neither a scapy expression nor hex bytes."""


def parse_frame(text: str) -> bytes:
    """`text` as hex bytes ("0x..." or plain hex digits) or a scapy expression."""
    compact = text.replace(" ", "").replace(":", "")
    digits = compact[2:] if compact.lower().startswith("0x") else compact
    if digits and len(digits) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in digits):
        return bytes.fromhex(digits)
    # scapy's guesses about this host's routes ("MAC address to reach destination not found")
    # say nothing about a frame for a switch port
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    import scapy.all as scapy_all
    scope = {name: getattr(scapy_all, name) for name in dir(scapy_all) if not name.startswith("_")}
    try:
        frame = eval(compile(text, "<frame>", "eval"), {"__builtins__": {}}, scope)  # noqa: S307
    except Exception as exc:
        raise FrameError(f"cannot build a frame from {text!r}: {type(exc).__name__}: {exc}") \
            from None
    if isinstance(frame, (bytes, bytearray)):
        return bytes(frame)
    if not isinstance(frame, scapy_all.Packet):
        raise FrameError(f"{text!r} is a {type(frame).__name__}, not a scapy packet or bytes")
    return bytes(frame)


def describe(port: int, frame: bytes, show_hex: bool) -> str:
    """One line per frame: port, length and scapy's summary (and the bytes with --hex)."""
    from scapy.all import Ether  # every layer, so the summary goes past Ethernet
    line = f"port {port}: {len(frame)} bytes: {Ether(frame).summary()}"
    return line + f"\n  {frame.hex()}" if show_hex else line


def port_number(text: str) -> int:
    from p4nic.runtime.wire import PORT_LIMIT
    if not text.isdigit() or int(text) >= PORT_LIMIT:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number 0..{PORT_LIMIT - 1}")
    return int(text)


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds")
    return value


def send_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="p4nic send", description="Put a frame on a port of a running switch (its "
        "--packet-in nanomsg socket, BMv2's protocol) and optionally show what comes out.")
    parser.add_argument("socket", help="the switch's packet socket, e.g. ipc:///tmp/vnic.ipc")
    parser.add_argument("port", type=port_number, help="ingress port")
    parser.add_argument("frame", help="a scapy expression, e.g. \"Ether()/IP(dst='10.0.0.5')\", "
                                      "or hex bytes")
    parser.add_argument("--count", type=int, default=1, metavar="N", help="send it N times")
    parser.add_argument("--wait", type=positive, default=0.0, metavar="SECONDS",
                        help="then print every frame the switch sends out for this long")
    parser.add_argument("--hex", action="store_true", help="print frames' bytes too")
    args = parser.parse_args(argv)
    try:
        frame = parse_frame(args.frame)
    except FrameError as exc:
        print(f"p4nic send: error: {exc}", file=sys.stderr)
        return 2
    from p4nic.runtime.wire import PacketWire
    try:
        with PacketWire(args.socket) as wire:
            for _ in range(args.count):
                wire.send(args.port, frame)
            print(f"sent {args.count} frame{'s' if args.count != 1 else ''} of {len(frame)} "
                  f"bytes to port {args.port}")
            for port, out in wire.receive(timeout=args.wait):
                print(describe(port, out, args.hex))
    except OSError as exc:
        print(f"p4nic send: error: {exc}", file=sys.stderr)
        return 1
    return 0


def sniff_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="p4nic sniff", description="Print the frames a running switch sends out of its "
        "ports (its --packet-in nanomsg socket, BMv2's protocol).")
    parser.add_argument("socket", help="the switch's packet socket, e.g. ipc:///tmp/vnic.ipc")
    parser.add_argument("--port", type=port_number, help="only frames leaving this port")
    parser.add_argument("--count", type=int, metavar="N", help="stop after N frames")
    parser.add_argument("--timeout", type=positive, metavar="SECONDS",
                        help="stop after this long (exit 1 if fewer than --count frames came)")
    parser.add_argument("--hex", action="store_true", help="print frames' bytes too")
    args = parser.parse_args(argv)
    from p4nic.runtime.wire import PacketWire
    try:
        wire = PacketWire(args.socket)
    except OSError as exc:
        print(f"p4nic sniff: error: {exc}", file=sys.stderr)
        return 1
    seen = 0
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    with wire:
        print(f"listening on {args.socket}" + (f" port {args.port}" if args.port is not None
                                                else ""), file=sys.stderr, flush=True)
        while args.count is None or seen < args.count:
            left = 1.0 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                break
            for port, frame in wire.receive(timeout=min(left, 1.0), port=args.port, count=1):
                if args.count is None or seen < args.count:
                    print(describe(port, frame, args.hex), flush=True)
                    seen += 1
    return 0 if args.count is None or seen >= args.count else 1
