"""Development measurement: every v1model sample of p4c's corpus (read from /work/ref when the
machine has it; CI does not) must preprocess and parse."""
from pathlib import Path

import pytest

from p4nic.compiler.parser import parse
from p4nic.compiler.preprocess import preprocess

SAMPLES = Path("/work/ref/testdata/p4_16_samples")
V1MODEL_SAMPLES = sorted(
    p for p in SAMPLES.glob("*-bmv2.p4") if "v1model.p4" in p.read_text(errors="replace")
) if SAMPLES.is_dir() else []


@pytest.mark.skipif(not V1MODEL_SAMPLES, reason="p4c's sample corpus is not on this machine")
def test_every_v1model_sample_parses():
    failures = []
    for path in V1MODEL_SAMPLES:
        try:
            parse(preprocess(str(path)))
        except Exception as e:    # collect them all: one report of what fails and why
            failures.append(f"{path.name}: {str(e).splitlines()[0]}")
    assert not failures, f"{len(failures)}/{len(V1MODEL_SAMPLES)} samples fail:\n" + \
        "\n".join(failures)
