"""BMv2-style packet trace log (what `simple_switch --log-console` prints).

The code generator emits calls into a `Tracer` only when the device has a logger; without one
the generated pipeline contains no trace calls at all, so tracing costs nothing when off.
Lines follow BMv2's wording ("Parser 'parser': start", "Extracting header 'ethernet'",
"Table 'MyIngress.ipv4_lpm': hit with handle 0", "Dropping packet at the end of ingress", ...)
prefixed with the packet and copy id as BMv2 does ("[0.1] [cxt 0]").
"""

from __future__ import annotations

import logging


class Tracer:
    """Formats trace events for one loaded program and sends them to a logger.

    `logger` is a logging.Logger (trace lines at DEBUG, log_msg output at INFO, as BMv2's
    logger levels) or any callable taking one string.
    """

    def __init__(self, logger):
        if isinstance(logger, logging.Logger):
            self._debug, self._info = logger.debug, logger.info
        elif callable(logger):
            self._debug = self._info = logger
        else:
            raise TypeError("logger must be a logging.Logger or a callable taking a string")
        self.pkt_slot = None
        self.error_names = {}
        self.action_names = {}

    def bind(self, program, layout):
        """Learn the PHV layout and names of a freshly compiled program."""
        self.pkt_slot = layout.reg["PKT_ID"]
        self.error_names = {v: k for k, v in program.errors.items()}
        self.action_names = {a.id: a.name for a in program.actions.values()}

    def _say(self, h, text: str):
        pid = h[self.pkt_slot] if h is not None else None
        prefix = f"[{pid[0]}.{pid[1]}] " if pid else ""
        self._debug(f"{prefix}[cxt 0] {text}")

    # ---- device-level events (called by the pipeline) ------------------------------------------

    def packet_in(self, h, port: int, size: int):
        self._say(h, f"Processing packet received on port {port}")
        self._say(h, f"Packet of size {size}")

    def note(self, h, text: str):
        """Free-form traffic-manager events (cloning, multicast, resubmit, drops...)."""
        self._say(h, text)

    def transmit(self, h, port: int, size: int):
        self._say(h, f"Transmitting packet of size {size} out of port {port}")

    # ---- events from generated code ---------------------------------------------------------

    def parser_start(self, h, name):
        self._say(h, f"Parser '{name}': start")

    def parser_state(self, h, state):
        self._say(h, f"Parser entering state '{state}'")

    def extract(self, h, header):
        self._say(h, f"Extracting header '{header}'")

    def parser_error(self, h, code):
        self._say(h, f"Exception while parsing: {self.error_names.get(code, code)}")

    def parser_done(self, h, name):
        self._say(h, f"Parser '{name}': end")

    def pipeline(self, h, name):
        self._say(h, f"Pipeline '{name}': start")

    def condition(self, h, name, value):
        self._say(h, f"Condition \"{name}\" is {'true' if value else 'false'}")

    def lookup(self, h, name, key_names, key):
        self._say(h, f"Applying table '{name}'")
        shown = "".join(f"\n* {n:<20}: {v:x}" for n, v in zip(key_names, key))
        self._say(h, f"Looking up key:{shown}")

    def table(self, h, name, entry):
        if entry is None:
            self._say(h, f"Table '{name}': miss")
        else:
            self._say(h, f"Table '{name}': hit with handle {entry.handle}")

    def action(self, h, name, args):
        shown = ", ".join(hex(a) for a in args)
        self._say(h, f"Action {name}" + (f" ({shown})" if args else ""))

    def deparser(self, h, name):
        self._say(h, f"Deparser '{name}': start")

    def emit(self, h, header):
        self._say(h, f"Deparsing header '{header}'")

    def log_msg(self, h, fmt: str, args):
        """The log_msg primitive: '{}' placeholders replaced in order (core/primitives.cpp)."""
        parts = fmt.split("{}")
        text = parts[0]
        for i, part in enumerate(parts[1:]):
            text += (str(args[i]) if i < len(args) else "{}") + part
        self._info(text)
