"""Tests import the bundled example models (``examples/``) from the repository root; torchvision
is made importable beside the CPU torch first (tests/torchvision_compat.py). Every kernel runs
in the CPU layer's debug mode: fresh UB filled with NaN, so a read of unwritten memory shows."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.torchvision_compat import import_torchvision

import_torchvision()  # before any test imports transformers / diffusers (they import torchvision)
os.environ.setdefault("CIRC_ASCENDC_POISON", "1")  # the sessions' release mode off (and in subprocesses)

# The longest tests start first: collected last (test_torch_opinfo sits near the end), one of
# them would keep an xdist worker busy for minutes after the other has finished everything else.
SLOW_FIRST = ("tests/test_torch_opinfo.py::", "tests/test_end_to_end.py::test_tiny_unet_fp32_and_fp16",
              "tests/test_drivers.py::test_demo")


def pytest_collection_modifyitems(config, items):
    def rank(item):
        return next((i for i, p in enumerate(SLOW_FIRST) if item.nodeid.startswith(p)), len(SLOW_FIRST))

    items.sort(key=rank)  # stable: the rest keep their order
