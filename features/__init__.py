"""Loading a snapshot (DATA_CONTRACT.md §1) and building point-in-time features from it."""

from features.problems import Problem, SnapshotError
from features.snapshot import Snapshot, load_snapshot

__all__ = ["Problem", "Snapshot", "SnapshotError", "load_snapshot"]
