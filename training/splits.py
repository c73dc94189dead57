"""Rolling temporal splits. Rows are (entity, as_of); a split says which as-of dates train, which
calibrate and which test, and refuses dates that would let training labels see the test period.

Training rows at as_of t carry labels from cases opened in (t, t + label_days]; so the last
training as-of date is at most ``test_start - label_days`` and every training label is dated
before the first test date. Calibration uses the latest training as-of dates (a later fold than
the rows the model is fitted on).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from training.labels import LABEL_DAYS


@dataclass(frozen=True)
class TemporalSplit:
    train_start: pd.Timestamp
    fit_end: pd.Timestamp  # last as-of date the model is fitted on
    train_end: pd.Timestamp  # last as-of date of the training side (calibration ends here)
    test_start: pd.Timestamp
    test_end: pd.Timestamp
    label_days: int = LABEL_DAYS
    name: str = ""

    def __post_init__(self):
        for f in ("train_start", "fit_end", "train_end", "test_start", "test_end"):
            object.__setattr__(self, f, pd.Timestamp(getattr(self, f)).normalize())
        if self.train_start > self.fit_end:
            raise ValueError(f"split {self.name}: training starts ({self.train_start.date()}) after the fit ends ({self.fit_end.date()})")
        if self.fit_end > self.train_end:
            raise ValueError(f"split {self.name}: the fit ends ({self.fit_end.date()}) after the training side ({self.train_end.date()})")
        if self.test_start > self.test_end:
            raise ValueError(f"split {self.name}: test starts ({self.test_start.date()}) after it ends ({self.test_end.date()})")
        if self.train_end + pd.Timedelta(days=self.label_days) > self.test_start:
            raise ValueError(
                f"split {self.name}: training labels of {self.train_end.date()} reach "
                f"{(self.train_end + pd.Timedelta(days=self.label_days)).date()}, inside the test period "
                f"starting {self.test_start.date()}"
            )

    @property
    def label_horizon(self) -> pd.Timestamp:
        """Training labels may use cases opened up to and including this day (the test's first day)."""
        return self.test_start

    def fit_dates(self, dates, every: int = 1) -> list[pd.Timestamp]:
        """As-of dates the model is fitted on; with ``every`` > 1 only every n-th, counted back from the latest."""
        fit = [d for d in dates if self.train_start <= d <= self.fit_end]
        return fit[::-1][::every][::-1]

    def calibration_dates(self, dates) -> list[pd.Timestamp]:
        return [d for d in dates if self.fit_end < d <= self.train_end]

    def test_dates(self, dates) -> list[pd.Timestamp]:
        return [d for d in dates if self.test_start <= d <= self.test_end]


def monthly_as_of_dates(first_day, last_day, min_history_days: int = 90) -> list[pd.Timestamp]:
    """Month ends from ``first_day + min_history_days`` to ``last_day`` (inclusive)."""
    start = pd.Timestamp(first_day).normalize() + pd.Timedelta(days=min_history_days)
    dates = list(pd.date_range(start, pd.Timestamp(last_day).normalize(), freq="ME"))
    return [d.normalize() for d in dates]


@dataclass
class RollingSplitter:
    """Folds ending at the last as-of date with labels, stepping back ``step_days`` each."""

    n_folds: int = 3
    test_days: int = 90
    step_days: int = 90
    calib_days: int = 90
    label_days: int = LABEL_DAYS
    min_label_days: int = 60  # the latest test date keeps at least this much label window
    min_fit_dates: int = 2

    def splits(self, dates: list[pd.Timestamp], last_day) -> list[TemporalSplit]:
        """Folds, latest first; a fold without ``min_fit_dates`` fitting dates is dropped."""
        if not dates:
            return []
        dates = sorted(dates)
        last_test = pd.Timestamp(last_day).normalize() - pd.Timedelta(days=self.min_label_days)
        out = []
        for i in range(self.n_folds):
            test_end = last_test - pd.Timedelta(days=i * self.step_days)
            test_start = test_end - pd.Timedelta(days=self.test_days)
            train_end = test_start - pd.Timedelta(days=self.label_days)
            fit_end = train_end - pd.Timedelta(days=self.calib_days)
            if fit_end < dates[0]:
                break
            split = TemporalSplit(dates[0], fit_end, train_end, test_start, test_end, self.label_days, name=f"fold{i}")
            if len(split.fit_dates(dates)) >= self.min_fit_dates and split.test_dates(dates):
                out.append(split)
        return out

    def final(self, dates: list[pd.Timestamp], last_day) -> TemporalSplit | None:
        """The latest fold: its model is the one registered (it is exactly the model evaluated)."""
        folds = self.splits(dates, last_day)
        return folds[0] if folds else None


@dataclass(frozen=True)
class HoldoutSplit:
    """Fit on as-of dates up to ``fit_end`` with labels known by ``cut`` (cases opened on or before
    it, windows truncated there); test on as-of dates in (``cut``, ``test_end``] labelled by cases
    opened after them. No case is both a training and a test label: training labels stop at the
    cut and every test label is a case opened after its as-of date, which is after the cut.

    Unlike ``TemporalSplit`` the training side keeps its latest dates (with shortened label windows)
    instead of leaving a full label window empty before the test: on an 18-month snapshot that is
    the difference between learning from the first six months and learning from the first year.
    Calibration of the final model uses the test predictions (``calibration_dates`` is empty)."""

    train_start: pd.Timestamp
    fit_end: pd.Timestamp
    cut: pd.Timestamp
    test_end: pd.Timestamp
    label_days: int = LABEL_DAYS
    name: str = ""

    def __post_init__(self):
        for f in ("train_start", "fit_end", "cut", "test_end"):
            object.__setattr__(self, f, pd.Timestamp(getattr(self, f)).normalize())
        if self.train_start > self.fit_end:
            raise ValueError(f"split {self.name}: training starts ({self.train_start.date()}) after the fit ends ({self.fit_end.date()})")
        if self.fit_end > self.cut:
            raise ValueError(f"split {self.name}: the fit ends ({self.fit_end.date()}) after the cut ({self.cut.date()})")
        if self.cut >= self.test_end:
            raise ValueError(f"split {self.name}: the test ends ({self.test_end.date()}) before it starts (after {self.cut.date()})")

    @property
    def train_end(self) -> pd.Timestamp:
        return self.fit_end

    @property
    def test_start(self) -> pd.Timestamp:
        return self.cut + pd.Timedelta(days=1)

    @property
    def label_horizon(self) -> pd.Timestamp:
        """Training labels may use cases opened up to and including this day."""
        return self.cut

    def fit_dates(self, dates, every: int = 1) -> list[pd.Timestamp]:
        fit = [d for d in dates if self.train_start <= d <= self.fit_end]
        return fit[::-1][::every][::-1]

    def calibration_dates(self, dates) -> list[pd.Timestamp]:
        return []

    def test_dates(self, dates) -> list[pd.Timestamp]:
        return [d for d in dates if self.cut < d <= self.test_end]


@dataclass
class HoldoutSplitter:
    """Folds whose test periods end ``min_label_days`` before the last day and step back
    ``step_days`` each; each trains on everything up to ``min_label_days`` before its cut."""

    n_folds: int = 2
    test_days: int = 150
    step_days: int = 60
    label_days: int = LABEL_DAYS
    min_label_days: int = 30
    min_fit_dates: int = 2

    def splits(self, dates: list[pd.Timestamp], last_day) -> list[HoldoutSplit]:
        if not dates:
            return []
        dates = sorted(dates)
        last_test = pd.Timestamp(last_day).normalize() - pd.Timedelta(days=self.min_label_days)
        out = []
        for i in range(self.n_folds):
            test_end = last_test - pd.Timedelta(days=i * self.step_days)
            cut = test_end - pd.Timedelta(days=self.test_days)
            fit_end = cut - pd.Timedelta(days=self.min_label_days)
            if fit_end < dates[0]:
                break
            split = HoldoutSplit(dates[0], fit_end, cut, test_end, self.label_days, name=f"fold{i}")
            if len(split.fit_dates(dates)) >= self.min_fit_dates and split.test_dates(dates):
                out.append(split)
        return out
