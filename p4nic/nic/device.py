"""`Device`: the running software NIC — one loaded program, its runtime state, batched packets.

See docs/internals.md, "Contract: Device". `load` turns BMv2 JSON into a validated Program, a
RuntimeState and generated Python (codegen.py) once; `process` runs a batch of packets through
the v1model flow (pipeline.py) and returns what leaves the device. A failed `load` leaves the
previous program running, as simple_switch keeps its config when a new one is rejected.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

from .codegen import compile_program
from .pipeline import V1Model
from .program import Program, ProgramError
from .state import RuntimeState
from .tables import TableError
from .trace import Tracer

_log = logging.getLogger("p4nic.nic")


class Device:
    """A BMv2 simple_switch-compatible target.

    `priority_queues` is simple_switch's `--priority-queues` (queues per port; a packet whose
    `priority` is not below it is dropped, as BMv2 does). `logger` (logging.Logger or callable)
    turns on the BMv2-style trace; without it the generated code has no trace calls.
    """

    def __init__(self, device_id: int = 0, cpu_port: Optional[int] = None, drop_port: int = 511,
                 logger=None, priority_queues: int = 1):
        if priority_queues < 1:
            raise ValueError("priority_queues must be at least 1")
        self.device_id = device_id
        self.cpu_port = cpu_port
        self.drop_port = drop_port
        self.logger = logger
        self.priority_queues = priority_queues
        self.program: Optional[Program] = None
        self.state: Optional[RuntimeState] = None
        self.compiled = None
        self.on_digest: Optional[Callable] = None
        self.tracer: Optional[Tracer] = None   # the loaded program's, when there is a logger
        self._flow: Optional[V1Model] = None

    def load(self, bmv2_json) -> None:
        """Load a BMv2 JSON program (dict or JSON text); raises ProgramError."""
        program = Program.load(bmv2_json)
        try:
            state = RuntimeState(program.json)
        except TableError as e:
            raise ProgramError(str(e)) from None
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            raise ProgramError(f"malformed BMv2 JSON: {type(e).__name__}: {e}") from None
        tracer = Tracer(self.logger) if self.logger is not None else None
        compiled = compile_program(program, state, self.drop_port, tracer)
        flow = V1Model(compiled, state, drop_port=self.drop_port,
                       priority_queues=self.priority_queues, tracer=tracer)
        self.program, self.state, self.compiled, self._flow = program, state, compiled, flow
        self.tracer = tracer

    def process(self, batch) -> list:
        """Run [(ingress_port, bytes)] through the pipeline; returns [(egress_port, bytes)].

        The batch is one burst: all of it through ingress, then the egress queues drained,
        highest priority first (pipeline.py, docs/internals.md "Contract: Device").

        Without a loaded program every packet is dropped (simple_switch --no-p4)."""
        flow = self._flow
        out = []
        if flow is None:
            return out
        flow.process(batch, out)
        if flow.digests:
            digests, flow.digests = flow.digests, {}
            if self.on_digest is not None:
                for lid, samples in digests.items():
                    try:
                        self.on_digest(lid, flow.c.learn_lists[lid][0], samples)
                    except Exception:  # the listener's bug must not stop the packets
                        _log.exception("digest listener failed for learn list %s", lid)
        return out
