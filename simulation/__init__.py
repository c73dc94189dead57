"""A synthetic Guilin-like prefecture: snapshots to the data contract with the five illegal
behaviours of the action plan, honest look-alikes, tips, past cases and ground truth.

``simulate(out, seed=0, scale="small", start="2021-01", months=None, progress=None, world=None) -> Path``
(see ``simulation.world.simulate``; imported lazily so the command line starts fast).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def simulate(out: str | Path, seed: int = 0, scale: str = "small", start: str = "2021-01", months: int | None = None,
             progress: Any = None, world: Any = None, workers: int | None = None) -> Path:
    """Write a synthetic snapshot to ``out`` and its truth to ``out/truth``; returns the folder.
    ``world`` is a ``simulation.worlds.World`` (default: the standard city); ``workers``: processes
    generating the GPS months (``simulation.gps_workers``), the same files whatever their number."""
    from simulation.world import simulate as _simulate

    return _simulate(out, seed=seed, scale=scale, start=start, months=months, progress=progress, world=world,
                     workers=workers)


__all__ = ["simulate"]
