"""Tests import the bundled example models (``examples/``) from the repository root; torchvision
is made importable beside the CPU torch first (tests/torchvision_compat.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.torchvision_compat import import_torchvision

import_torchvision()  # before any test imports transformers / diffusers (they import torchvision)
