"""The zoo's `slow` marker: slow models are skipped unless asked for, by a `-m` expression
(`pytest tests/zoo -m slow`) or CIRC_ZOO_SLOW=1, so `make test` runs the quick ones only."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a zoo model too slow for `make test` "
                                       "(run with -m slow or CIRC_ZOO_SLOW=1)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("markexpr") or os.environ.get("CIRC_ZOO_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow zoo model: run with -m slow or CIRC_ZOO_SLOW=1")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
