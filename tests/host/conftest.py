"""Hosts brought up by these tests register in a directory of their own, so a test run never
meets a host someone else has up on this machine (nor another test run's)."""
import os

import pytest

from p4nic.runtime.up import RUN_ROOT_VARIABLE


@pytest.fixture(scope="session", autouse=True)
def own_run_root(tmp_path_factory):
    previous = os.environ.get(RUN_ROOT_VARIABLE)
    os.environ[RUN_ROOT_VARIABLE] = str(tmp_path_factory.mktemp("p4nic-run"))
    yield
    if previous is None:
        del os.environ[RUN_ROOT_VARIABLE]
    else:
        os.environ[RUN_ROOT_VARIABLE] = previous
