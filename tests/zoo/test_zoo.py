"""The model zoo (`models.py`): each real architecture compiled with cir.compile (default SoC,
fp32), run on the CPU runtime and compared with its framework's output on the same inputs
(max|circ - ref| <= 1e-4 * max|ref| per output).

A model with an entry in `BLOCKERS` is expected to fail the way the entry says
(xfail(strict=True)): when someone fixes the blocker, its test XPASSes and fails, and the entry
is to be removed from `BLOCKERS`. Slow models are marked `slow`: `-m "not slow"` leaves them out.
`benchmarks/bench_zoo.py` prints the same corpus as a table with latencies.
"""

from __future__ import annotations

import pytest

from cir.errors import CircError
from tests.zoo.models import BLOCKERS, MODELS, TOLERANCE, ZooModel, compile_and_compare


def _marks(m: ZooModel) -> list[pytest.MarkDecorator]:
    marks = [pytest.mark.slow] if m.slow else []
    blocker = BLOCKERS.get(m.name)
    if blocker is not None:
        raises = AssertionError if blocker.stage == "match" else CircError
        marks.append(pytest.mark.xfail(strict=True, raises=raises,
                                       reason=f"{blocker.stage}: {blocker.reason}"))
    return marks


@pytest.mark.parametrize("entry", [pytest.param(m, id=m.name, marks=_marks(m)) for m in MODELS])
def test_zoo_model_matches_its_framework(entry: ZooModel, tmp_path) -> None:
    res = compile_and_compare(entry, tmp_path)
    assert res.max_rel_error is not None and res.max_rel_error <= TOLERANCE


def test_blockers_name_zoo_models() -> None:
    names = {m.name for m in MODELS}
    assert set(BLOCKERS) <= names, sorted(set(BLOCKERS) - names)
    assert all(b.stage in ("compile", "run", "match") and b.reason for b in BLOCKERS.values())
