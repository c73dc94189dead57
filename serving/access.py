"""Who may see what: roles per resource, county jurisdiction, informant redaction.

- ``investigator``: leads, enterprises, sites, vehicles, tips, outcomes, ledger mismatch; county-scoped or city-wide.
- ``env_bureau``: ledger mismatch and enterprise detail (never tips or sites); may be county-scoped.
- ``admin``: everything above city-wide, plus users, retraining, promotion, scoring, metrics.
- ``auditor``: the audit log, and the campaign's statistics city-wide.
- The case desk: investigators (the police) take, move and conclude leads and accept or return the
  cases the bureau hands over; ``env_bureau`` records its findings and hands cases over.

A county-scoped user's queries are filtered by county in the database, so rows of other counties
never reach lists, details or counts; a detail outside the county answers 404 like a missing one.
Informant tips (``channel = informant``) show their text and identifying fields only to admins
and city-wide investigators. How every route applies these rules is ``serving.scope``.
"""

from __future__ import annotations

from serving.auth import Principal

INFORMANT = "informant"

# resource -> roles allowed
RULES: dict[str, frozenset[str]] = {
    "leads": frozenset({"investigator", "admin"}),
    "enterprise": frozenset({"investigator", "env_bureau", "admin"}),
    "site": frozenset({"investigator", "admin"}),
    "vehicle": frozenset({"investigator", "admin"}),
    "tip": frozenset({"investigator", "admin"}),
    "tip_write": frozenset({"investigator", "admin"}),
    "outcome": frozenset({"investigator", "admin"}),
    "cases": frozenset({"investigator", "admin"}),  # the case desk: status, assignee, history of leads
    "handover_read": frozenset({"investigator", "env_bureau", "admin"}),
    "handover_write": frozenset({"env_bureau", "admin"}),  # the bureau records findings and hands cases over
    "handover_decide": frozenset({"investigator", "admin"}),  # the police accept or return them
    "stats": frozenset({"investigator", "env_bureau", "admin", "auditor"}),
    "mismatch": frozenset({"investigator", "env_bureau", "admin"}),
    "runs": frozenset({"investigator", "env_bureau", "admin"}),
    "catalogue": frozenset({"investigator", "env_bureau", "admin", "auditor"}),
    "places": frozenset({"investigator", "env_bureau", "admin", "auditor"}),
    "me": frozenset({"investigator", "env_bureau", "admin", "auditor"}),
    "ready": frozenset({"investigator", "env_bureau", "admin", "auditor"}),
    "docs": frozenset({"investigator", "env_bureau", "admin", "auditor"}),
    "admin": frozenset({"admin"}),
    "metrics": frozenset({"admin"}),
    "audit": frozenset({"auditor"}),
}


def allowed(user: Principal, resource: str) -> bool:
    return user.role in RULES[resource]


def jurisdiction(user: Principal) -> str | None:
    """The county a user is limited to, or None for city-wide (admins and auditors always are)."""
    return user.county if user.role in ("investigator", "env_bureau") else None


def in_jurisdiction(user: Principal, county: str | None) -> bool:
    j = jurisdiction(user)
    return j is None or (county is not None and county == j)


def sees_informants(user: Principal) -> bool:
    """Entitled to informant tips' text and identity: admins and city-wide investigators."""
    return user.role == "admin" or (user.role == "investigator" and jurisdiction(user) is None)


def must_redact(user: Principal, channel: str | None) -> bool:
    return channel == INFORMANT and not sees_informants(user)
