"""Session fixtures of the reliability tests: one small trained home shared by the crash tests (which
start it cold, in order) and the short soak (which only needs a champion, and trains one if alone)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.reliability_support import FAST_TOML, service_env, thin_copy

CRASH_HOME = "crash-home"  # the crash tests' own home, beside the shared one in ``reliability_home.work``


@pytest.fixture(scope="session")
def reliability_home(tmp_path_factory, small_snapshot):
    """A thin copy of the small city, the fast experiment, and an (initially empty) home."""
    work = tmp_path_factory.mktemp("reliability")
    exp = work / "fast.toml"
    exp.write_text(FAST_TOML, encoding="utf-8")
    home = work / "home"
    return SimpleNamespace(work=work, data=thin_copy(small_snapshot, work / "thin"), exp=exp, home=home,
                           env=service_env(home))
