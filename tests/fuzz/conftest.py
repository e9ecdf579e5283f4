"""Hypothesis profiles for the fuzz harnesses.

``ci`` (default): derandomised, ``CIRC_FUZZ_EXAMPLES`` cases per harness (default 200) — a
few thousand in all, bounded so ``make test`` stays quick and repeatable.
``fuzz`` (``make fuzz``): random seeds, ``CIRC_FUZZ_EXAMPLES`` cases per harness (default
20000); a failure prints the reproducing input and Hypothesis keeps it in ``.hypothesis/``.
"""

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

_slow = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
         HealthCheck.large_base_example, HealthCheck.function_scoped_fixture]
settings.register_profile("ci", max_examples=int(os.environ.get("CIRC_FUZZ_EXAMPLES", "200")),
                          derandomize=True, deadline=None, suppress_health_check=_slow,
                          print_blob=True, database=None)
settings.register_profile("fuzz", max_examples=int(os.environ.get("CIRC_FUZZ_EXAMPLES", "20000")),
                          deadline=None, suppress_health_check=_slow, print_blob=True)
settings.load_profile(os.environ.get("CIRC_FUZZ_PROFILE", "ci"))
