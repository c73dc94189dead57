"""Problems found in a snapshot, and the one error that carries all of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Severity = Literal["error", "warning"]

# A rule broken by many rows is listed row by row up to this many times, then summarised.
ROWS_PER_RULE = 20


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    row: int | None  # as a spreadsheet shows it: CSV header is row 1; Parquet's first record is row 1
    column: str | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        row = "" if self.row is None else str(self.row)
        col = self.column or ""
        return f"{self.file}:{row}:{col}: {self.message}"


@dataclass
class ProblemLog:
    """Collects problems; a rule hit by many rows is listed ``ROWS_PER_RULE`` times then counted."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, file: str, row: int | None, column: str | None, message: str, severity: Severity = "error") -> None:
        self.problems.append(Problem(file, row, column, message, severity))

    def add_rows(
        self,
        file: str,
        rows: np.ndarray,
        column: str | None,
        message: str,
        severity: Severity = "error",
        values: np.ndarray | None = None,
    ) -> None:
        """Record one rule broken at ``rows`` (display row numbers), with the offending values if given."""
        rows = np.asarray(rows)
        if rows.size == 0:
            return
        for i, row in enumerate(rows[:ROWS_PER_RULE]):
            msg = message
            if values is not None:
                msg = f"{message} (got {_show(values[i])})"
            self.add(file, int(row), column, msg, severity)
        extra = rows.size - ROWS_PER_RULE
        if extra > 0:
            self.add(file, None, column, f"{message}: {extra} more rows like this ({rows.size} in all)", severity)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def _show(value: object, limit: int = 40) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= limit else text[: limit - 3] + "...'"


class SnapshotError(ValueError):
    """A snapshot that cannot be used. ``problems`` lists every error (and the warnings) found."""

    def __init__(self, path: str, problems: list[Problem]):
        self.path = path
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        head = "\n".join(str(p) for p in errors[:50])
        more = f"\n... and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(f"snapshot {path} has {len(errors)} problem(s):\n{head}{more}")

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]
