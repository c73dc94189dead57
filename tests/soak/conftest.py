"""The long forms of the reliability tests run on demand only:

    HAZLEADS_SOAK=1 .venv/bin/pytest tests/soak            # 10-minute soak, 20 random-time kills
    HAZLEADS_SOAK=1 HAZLEADS_SOAK_MINUTES=60 HAZLEADS_SOAK_KILLS=100 .venv/bin/pytest tests/soak

``make test`` collects them and skips them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    if os.environ.get("HAZLEADS_SOAK"):
        return
    skip = pytest.mark.skip(reason="on demand: HAZLEADS_SOAK=1 .venv/bin/pytest tests/soak")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)
