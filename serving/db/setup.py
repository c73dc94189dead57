"""Opening the service's database as the service and the command line do: the audit key loaded (made
0600 in the home folder on first use), the schema migrated to head, and a chain written before the
key existed sealed by a first keyed row."""

from __future__ import annotations

import logging

from serving.db.engine import Database
from serving.db.migrate import current, upgrade

log = logging.getLogger("hazleads.serving")


def open_database(settings, create_key: bool = True) -> Database:
    """The database of ``settings``, migrated, with its audit keys."""
    from serving import audit
    from serving.auditkeys import load_keys

    db = Database(settings.db_url, audit_keys=load_keys(settings, create=create_key))
    try:
        before = current(db.engine)
        upgrade(db.url, engine=db.write_engine)
        if before == "0001" and audit.seal_legacy(db):
            log.warning("audit chain sealed with the new audit key", extra={"from_revision": before})
    except BaseException:
        db.dispose()
        raise
    return db
