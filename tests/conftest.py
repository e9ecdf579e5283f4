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
