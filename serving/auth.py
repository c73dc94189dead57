"""Bearer tokens: made with ``secrets.token_urlsafe``, stored only as SHA-256 hex, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from serving.db.models import User

ROLES = ("investigator", "env_bureau", "admin", "auditor")
SCOPED_ROLES = ("investigator", "env_bureau")  # roles that may be limited to one county
TOKEN_BYTES = 32
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]{20,128}$")
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
    """The token of an ``Authorization: Bearer <token>`` header, or None if absent or malformed."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _TOKEN_RE.match(token):
        return None
    return token


def authenticate(session: Session, token: str | None) -> Principal | None:
    """The active user holding ``token``, or None. The stored hash is compared in constant time."""
    if token is None:
        return None
    digest = hash_token(token)
    user = session.scalars(select(User).where(User.token_hash == digest)).first()
    if user is None or user.disabled or not hmac.compare_digest(user.token_hash, digest):
        return None
    return Principal(user.id, user.name, user.role, user.county)


class UserError(ValueError):
    """A user that cannot be created as asked (bad role, county where none is allowed, taken name)."""


def create_user(session: Session, name: str, role: str, county: str | None = None) -> tuple[User, str]:
    """Create a user; returns (row, token). The token is shown once and never stored."""
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not NAME_RE.match(name or ""):
        raise UserError("name: 1-64 letters, digits, '.', '_' or '-'")
    county = (county or "").strip() or None
    if county is not None and role not in SCOPED_ROLES:
        raise UserError(f"a county applies only to {' and '.join(SCOPED_ROLES)}; {role} is city-wide")
    if county is not None and len(county) > 64:
        raise UserError("county: at most 64 characters")
    if session.scalars(select(User).where(User.name == name)).first() is not None:
        raise UserError(f"a user named {name!r} already exists")
    token = new_token()
    user = User(name=name, role=role, county=county, token_hash=hash_token(token), disabled=False)
    session.add(user)
    session.flush()
    return user, token
