"""Tests marked `shell` drive p4runtime-shell, which lives in .venv-shell (it pins protobuf 3.20):
where it is not installed they are skipped, saying where `make test` runs them."""
import importlib.util

import pytest


def pytest_collection_modifyitems(config, items):
    if importlib.util.find_spec("p4runtime_sh") is not None:
        return
    skip = pytest.mark.skip(reason="needs p4runtime-shell: `make test` runs it in .venv-shell")
    for item in items:
        if item.get_closest_marker("shell") is not None:
            item.add_marker(skip)
