"""Bearer tokens: made with ``secrets.token_urlsafe``, stored only as SHA-256 hex, valid for a number
of days (``Settings.token_days``), replaced by rotation, refused once expired or disabled.

A presented token's row is found by the first ``SELECTOR`` hex characters of its hash (so the database
compares only a prefix of a hash, never the token nor a whole hash) and the whole hash is then
compared with every candidate's in constant time (``hmac.compare_digest``).

The header must be exactly ``Authorization: Bearer <token>``: the scheme (case-insensitive, as
RFC 7235 says), one space, the token; any other scheme or shape is no credential at all (401).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from serving.db.models import User, utcnow

ROLES = ("investigator", "env_bureau", "admin", "auditor")
SCOPED_ROLES = ("investigator", "env_bureau")  # roles that may be limited to one county
TOKEN_BYTES = 32
TOKEN_DAYS = 90
SELECTOR = 16  # hex characters of a token's hash used to find its row
_BEARER = re.compile(r"^[Bb][Ee][Aa][Rr][Ee][Rr] ([A-Za-z0-9_\-]{20,128})$")
NAME_RE = re.compile(r"^[\w.\-\u4e00-\u9fff]{1,64}$")


@dataclass(frozen=True)
class Principal:
    """Who is asking: the user row's facts the access rules need (never the token)."""

    id: int
    name: str
    role: str
    county: str | None

    @property
    def city_wide(self) -> bool:
        return self.county is None


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None if absent or of any other shape."""
    if not header:
        return None
    m = _BEARER.match(header)
    return m.group(1) if m else None


# built once, read as plain rows: every request runs it, and building the statement and ORM objects
# cost more than the query
_BY_SELECTOR = select(User.id, User.name, User.role, User.county, User.token_hash, User.disabled,
                      User.token_expires_at).where(func.substr(User.token_hash, 1, SELECTOR) == bindparam("selector"))


def check_token(session: Session | Connection, token: str | None, now: dt.datetime | None = None) -> tuple[Principal | None, str]:
    """(the active user holding ``token`` or None, why not: ``missing``, ``invalid``, ``disabled``, ``expired``).
    ``session``: a session or a connection (``Database.read_connection``)."""
    if token is None:
        return None, "missing"
    digest = hash_token(token)
    conn = session.connection() if isinstance(session, Session) else session
    candidates = conn.execute(_BY_SELECTOR, {"selector": digest[:SELECTOR]}).all()
    user = None
    for u in candidates:  # each compared in full, in constant time; no early exit on the first
        if hmac.compare_digest(u.token_hash.encode("ascii"), digest.encode("ascii")):
            user = u
    if user is None:
        return None, "invalid"
    if user.disabled:
        return None, "disabled"
    if user.token_expires_at is not None and (now or utcnow()) >= user.token_expires_at:
        return None, "expired"
    return Principal(user.id, user.name, user.role, user.county), ""


def authenticate(session: Session, token: str | None, now: dt.datetime | None = None) -> Principal | None:
    """The active user holding ``token``, or None."""
    return check_token(session, token, now)[0]


class UserError(ValueError):
    """A user that cannot be created or changed as asked (bad role, blank county, taken name, unknown user)."""


def clean_county(role: str, county: str | None) -> str | None:
    """The county a user of ``role`` is limited to, trimmed; None for city-wide. A county that is
    empty or blank is refused (it would otherwise make a city-wide user of one meant for a county)."""
    if county is None:
        return None
    text = county.strip()
    if not text:
        raise UserError("county: empty or blank; leave it out for a city-wide user, or name the county")
    if role not in SCOPED_ROLES:
        raise UserError(f"a county applies only to {' and '.join(SCOPED_ROLES)}; {role} is city-wide")
    if len(text) > 64:
        raise UserError("county: at most 64 characters")
    return text


def _issue(user: User, days: int) -> str:
    token = new_token()
    now = utcnow()
    user.token_hash = hash_token(token)
    user.token_issued_at = now
    user.token_expires_at = now + dt.timedelta(days=days)
    return token


def create_user(session: Session, name: str, role: str, county: str | None = None,
                days: int = TOKEN_DAYS) -> tuple[User, str]:
    """Create a user; returns (row, token). The token is shown once and never stored."""
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not NAME_RE.match(name or ""):
        raise UserError("name: 1-64 letters, digits, '.', '_' or '-'")
    county = clean_county(role, county)
    if session.scalars(select(User).where(User.name == name)).first() is not None:
        raise UserError(f"a user named {name!r} already exists")
    user = User(name=name, role=role, county=county, disabled=False)
    token = _issue(user, days)
    session.add(user)
    session.flush()
    return user, token


def find_user(session: Session, name_or_id: str | int) -> User:
    q = select(User).where(User.id == name_or_id) if isinstance(name_or_id, int) else select(User).where(User.name == name_or_id)
    user = session.scalars(q.with_for_update()).first()
    if user is None:
        raise UserError(f"no user {name_or_id!r}")
    return user


def rotate_token(session: Session, user: User, days: int = TOKEN_DAYS) -> str:
    """A new token for ``user`` (the old one stops working at once); refused for a disabled user."""
    if user.disabled:
        raise UserError(f"user {user.name!r} is disabled; create a new user instead")
    return _issue(user, days)
