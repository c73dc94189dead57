"""Per-user limits on what costs the service work or floods the investigators' lists: tips received
(``Settings.tip_intake_per_hour``) and training or scoring jobs started (``Settings.jobs_per_hour``)
in any hour. Counted from the rows themselves (the tips a user created, the jobs a user requested),
so the limit holds across restarts and across service processes on one database; checked inside the
write transaction that would add the row, with the user's row locked (PostgreSQL) or the single
writer held (SQLite), so that two requests at once cannot both pass. Over the limit: 429 with
``Retry-After``, the seconds until the oldest counted row leaves the hour.
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from serving.auth import Principal
from serving.db.models import Job, Tip, User, utcnow

WINDOW = dt.timedelta(hours=1)


class Limited(RuntimeError):
    """Over a per-user limit; ``retry_after`` seconds until one more is allowed."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _check(session: Session, user: Principal, limit: int, column_user, column_at, what: str,
           now: dt.datetime | None, lock: bool) -> None:
    now = now or utcnow()
    if lock:
        session.scalars(select(User.id).where(User.id == user.id).with_for_update()).first()
    since = now - WINDOW
    n, oldest = session.execute(select(func.count(), func.min(column_at))
                                .where(column_user == user.id, column_at > since)).one()
    if n >= limit:
        wait = max(1, math.ceil((oldest + WINDOW - now).total_seconds())) if oldest else int(WINDOW.total_seconds())
        raise Limited(f"{user.name} has {what} {n} times in the last hour (at most {limit}); "
                      f"try again in {wait} s", wait)


def tips(session: Session, user: Principal, limit: int, now: dt.datetime | None = None, lock: bool = True) -> None:
    """Raise ``Limited`` if ``user`` may not submit one more tip now (``lock``: in the write that adds it)."""
    _check(session, user, limit, Tip.created_by, Tip.created_at, "submitted a tip", now, lock)


def jobs(session: Session, user: Principal, limit: int, now: dt.datetime | None = None, lock: bool = True) -> None:
    """Raise ``Limited`` if ``user`` may not start one more training or scoring job now."""
    _check(session, user, limit, Job.requested_by, Job.started_at, "started a job", now, lock)
