"""Tests marked `shell` drive p4runtime-shell, which lives in .venv-shell (it pins protobuf 3.20):
where it is not installed they are skipped, saying where `make test` runs them.

The native gRPC front end is built before any test, so that every switch the tests start
serves P4Runtime through it (unless P4NIC_GRPC_FRONT=grpcio says otherwise, as `make test`'s
second run does); test_grpc_front.py fails where it cannot be built."""
import importlib.util

import pytest

from p4nic.native import NativeBuildError
from p4nic.nic.p4runtime.fronts import FRONT


@pytest.fixture(scope="session", autouse=True)
def native_front():
    try:
        FRONT.require()
    except NativeBuildError:
        pass          # grpcio serves: test_grpc_front.py says why


def pytest_collection_modifyitems(config, items):
    if importlib.util.find_spec("p4runtime_sh") is not None:
        return
    skip = pytest.mark.skip(reason="needs p4runtime-shell: `make test` runs it in .venv-shell")
    for item in items:
        if item.get_closest_marker("shell") is not None:
            item.add_marker(skip)
