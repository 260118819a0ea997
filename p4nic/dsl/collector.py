"""Python's cycle collector held off while the DSL handles a big file.

Loading a file of 10,000 rules, building its P4Runtime messages and planning them make
millions of objects that all live on (tokens, nodes, entries, messages); each collection the
allocations trigger would scan them all again and free nothing — a third of the time, or
more. Whatever cycles there are get collected once the collector runs again.
"""
from __future__ import annotations

import functools
import gc
from contextlib import contextmanager


@contextmanager
def paused():
    """No cycle collection inside the block (nested blocks and a collector already off are
    left as they are)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def pausing(function):
    """`function` run with the collector paused."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with paused():
            return function(*args, **kwargs)
    return wrapper
