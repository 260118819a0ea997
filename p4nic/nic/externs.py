"""Stateful extern arrays of the software NIC: counters, meters, registers.

Each array has two faces. The packet path (`count`, `execute`, `load`, `store`) never raises: an
index past the end does nothing, as BMv2 simple_switch's primitives do (targets/simple_switch/
primitives.cpp logs "out-of-bounds index" and leaves state and destination untouched). The
control plane (`read`, `write`, `reset`, `set_config`, ...) checks its input and raises the
runtime-state errors of `tables.py`.
"""

from __future__ import annotations

import time
from typing import Optional, Sequence

from .tables import OutOfRange, TableError

# Meter colours as BMv2 returns them (include/bm/bm_sim/meters.h: colour i+1 marks a packet that
# exceeded rate i of a 2-rate meter sorted {CIR, PIR}).
GREEN, YELLOW, RED = 0, 1, 2


def _check_index(name: str, size: int, index) -> int:
    if not isinstance(index, int) or not 0 <= index < size:
        raise OutOfRange(f"{name}: index {index!r} out of range (size {size})")
    return index


class CounterArray:
    """Indexed packet+byte counters (BMv2 counters always count both)."""

    def __init__(self, name: str, id: int, size: int):
        self.name = name
        self.id = id
        self.size = size
        self.packets = [0] * size
        self.bytes = [0] * size

    def count(self, index: int, nbytes: int):
        """Packet path: one packet of `nbytes` bytes."""
        if 0 <= index < self.size:
            self.packets[index] += 1
            self.bytes[index] += nbytes

    def read(self, index: int) -> tuple:
        """(bytes, packets), BMv2's order (BmCounterValue)."""
        _check_index(self.name, self.size, index)
        return self.bytes[index], self.packets[index]

    def write(self, index: int, nbytes: int, packets: int):
        _check_index(self.name, self.size, index)
        for value in (nbytes, packets):
            if not isinstance(value, int) or value < 0:
                raise TableError(f"{self.name}: counter value {value!r} must be an int >= 0")
        self.packets[index] = packets
        self.bytes[index] = nbytes

    def reset(self):
        """Zero every counter."""
        self.packets[:] = [0] * self.size
        self.bytes[:] = [0] * self.size


class Meter:
    """One BMv2 N-rate, N+1-colour, colour-blind marker (src/bm_sim/meters.cpp).

    Configured with rates sorted from smallest to largest, e.g. [(CIR, CBS), (PIR, PBS)], rates in
    units (packets or bytes) per second, bursts in units. Unconfigured meters mark everything
    GREEN. Tokens are computed, as BMv2 does, against one time origin (the configuration time),
    at microsecond granularity.
    """

    __slots__ = ("by_bytes", "rates", "_time_origin", "_buckets")

    def __init__(self, by_bytes: bool):
        self.by_bytes = by_bytes
        self.rates: Optional[tuple] = None
        self._time_origin = 0.0
        self._buckets: list = []

    def configure(self, rates: Optional[Sequence[tuple]], now: Optional[float] = None):
        """Set [(rate_per_s, burst), ...] smallest rate first, or None to unconfigure."""
        if rates is None:
            self.rates = None
            self._buckets = []
            return
        self.rates = tuple((rate, burst) for rate, burst in rates)
        self._time_origin = time.monotonic() if now is None else now
        # BMv2 checks the highest rate first and marks with colour index+1 (set_rates reverses
        # the sorted list); bucket = [rate per microsecond, burst, tokens, tokens_last, colour].
        self._buckets = [
            [rate / 1e6, burst, burst, 0, colour + 1]
            for colour, (rate, burst) in reversed(list(enumerate(self.rates)))
        ]

    def execute(self, nbytes: int, now: Optional[float] = None) -> int:
        """Packet path: colour of one packet of `nbytes` bytes (GREEN when unconfigured)."""
        if self.rates is None:
            return GREEN
        if now is None:
            now = time.monotonic()
        micros = int((now - self._time_origin) * 1e6)
        size = nbytes if self.by_bytes else 1
        for bucket in self._buckets:
            since_origin = int(micros * bucket[0])
            tokens = bucket[2] + since_origin - bucket[3]
            bucket[3] = since_origin
            if tokens > bucket[1]:
                tokens = bucket[1]
            if tokens < size:
                bucket[2] = tokens
                return bucket[4]
            bucket[2] = tokens - size
        return GREEN


def check_meter_rates(name: str, rate_count: int, rates) -> Optional[tuple]:
    """Validate a meter configuration ([(rate, burst), ...] ascending) for `set_config`."""
    if rates is None:
        return None
    rates = tuple(tuple(r) for r in rates)
    if len(rates) != rate_count or any(len(r) != 2 for r in rates):
        raise TableError(f"{name}: expected {rate_count} (rate, burst) pairs, got {rates!r}")
    for rate, burst in rates:
        if not isinstance(rate, (int, float)) or rate < 0:
            raise TableError(f"{name}: bad meter rate {rate!r}")
        if not isinstance(burst, int) or burst < 0:
            raise TableError(f"{name}: bad meter burst {burst!r}")
    for (low, _), (high, _) in zip(rates, rates[1:]):
        if low > high:  # BMv2 Meter::set_rate: INVALID_INFO_RATE_VALUE
            raise TableError(f"{name}: meter rates must not decrease (CIR <= PIR), got {rates!r}")
    return rates


class MeterArray:
    """A BMv2 meter array (`meter_arrays`): packets or bytes, `rate_count` rates per meter.

    A direct meter array (`is_direct`) holds no indexed meters; its table creates one `Meter` per
    entry with `new_cell()`.
    """

    def __init__(self, name: str, id: int, size: int, unit: str = "packets", rate_count: int = 2,
                 is_direct: bool = False, binding: Optional[str] = None, result_target=None):
        if unit not in ("packets", "bytes"):
            raise TableError(f"meter {name}: type must be packets or bytes, got {unit!r}")
        self.name = name
        self.id = id
        self.unit = unit
        self.rate_count = rate_count
        self.is_direct = is_direct
        self.binding = binding
        self.result_target = result_target
        self.size = 0 if is_direct else size
        self.meters = [self.new_cell() for _ in range(self.size)]

    def new_cell(self) -> Meter:
        return Meter(self.unit == "bytes")

    def execute(self, index: int, nbytes: int, now: Optional[float] = None) -> Optional[int]:
        """Packet path: the colour, or None for an out-of-range index (BMv2 then leaves the
        destination field unchanged)."""
        if 0 <= index < self.size:
            return self.meters[index].execute(nbytes, now)
        return None

    def set_rates(self, index: int, rates, now: Optional[float] = None):
        """Configure meter `index` with [(CIR, CBS), (PIR, PBS)] (units/s, units); None resets."""
        _check_index(self.name, self.size, index)
        self.meters[index].configure(check_meter_rates(self.name, self.rate_count, rates), now)

    def configure_cell(self, meter: Meter, rates, now: Optional[float] = None):
        """Configure one direct-meter cell (a table entry's `meter`); None resets it."""
        meter.configure(check_meter_rates(self.name, self.rate_count, rates), now)

    def get_rates(self, index: int) -> Optional[tuple]:
        """The configuration as given to `set_rates`, or None when unconfigured."""
        _check_index(self.name, self.size, index)
        return self.meters[index].rates

    def reset(self, index: Optional[int] = None):
        """Unconfigure meter `index`, or every meter (BMv2 MeterArray::reset_state)."""
        if index is not None:
            _check_index(self.name, self.size, index)
            self.meters[index].configure(None)
            return
        for meter in self.meters:
            meter.configure(None)


class RegisterArray:
    """A BMv2 register array: `size` cells of `bitwidth` bits, initially 0."""

    def __init__(self, name: str, id: int, size: int, bitwidth: int):
        self.name = name
        self.id = id
        self.size = size
        self.bitwidth = bitwidth
        self.mask = (1 << bitwidth) - 1
        self.values = [0] * size

    def load(self, index: int) -> Optional[int]:
        """Packet path: the value, or None for an out-of-range index."""
        if 0 <= index < self.size:
            return self.values[index]
        return None

    def store(self, index: int, value: int):
        """Packet path: write `value` truncated to the register width."""
        if 0 <= index < self.size:
            self.values[index] = value & self.mask

    def read(self, index: int) -> int:
        _check_index(self.name, self.size, index)
        return self.values[index]

    def write(self, index: int, value: int):
        _check_index(self.name, self.size, index)
        if not isinstance(value, int) or value < 0 or value >> self.bitwidth:
            raise TableError(f"{self.name}: value {value!r} does not fit in {self.bitwidth} bits")
        self.values[index] = value

    def reset(self):
        self.values[:] = [0] * self.size
