"""Benchmark: what every authenticated request pays before its own work — the token lookup, the data
version, and the audit row — CPU per operation on a fresh SQLite home (or ``--db-url``).

    .venv/bin/python benchmarks/bench_request_parts.py [--n 2000] [--rounds 3] [--db-url URL] [--out FILE]

``--db-url``: a scratch database (its tables are made and left there), e.g. a PostgreSQL database
made for the run with ``createdb``.

To compare two checkouts in one run, alternate them: ``PYTHONPATH=OLD python benchmarks/bench_request_parts.py``
then this checkout's, twice. Best of ``--rounds`` rounds of ``--n`` operations; CPU time of this process.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def per_op_ms(f, n: int, rounds: int) -> float:
    for _ in range(min(100, n)):
        f()
    best = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        for _ in range(n):
            f()
        best = min(best, (time.process_time() - t) / n * 1000)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--db-url", help="a database URL (default: SQLite in a fresh home)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hazleads-parts-") as home:
        os.environ["HAZLEADS_HOME"] = home
        if args.db_url:
            os.environ["HAZLEADS_DATABASE_URL"] = args.db_url
        from hazleads.settings import get_settings
        from serving import audit, auth
        from serving.db.setup import open_database
        from serving.listcache import data_version

        db = open_database(get_settings())
        with db.write() as s:
            user, token = auth.create_user(s, f"bench{os.getpid()}", "investigator")
        who = auth.Principal(user.id, user.name, user.role, None)
        ids = [f"E{i:04d}" for i in range(50)]

        def token_lookup() -> None:
            with db.read() as s:
                assert auth.check_token(s, token)[0] is not None

        def token_and_version() -> None:
            with db.read() as s:
                auth.check_token(s, token)
                data_version(s)

        def audit_row() -> None:
            with db.write() as s:
                audit.append(s, who, "leads.enterprise.list", ids, request_id="bench")

        rows = [("token lookup (one read)", per_op_ms(token_lookup, args.n, args.rounds)),
                ("token and data version (one read)", per_op_ms(token_and_version, args.n, args.rounds)),
                ("audit row, 50 ids (one committed write)", per_op_ms(audit_row, args.n // 2, args.rounds))]
        db.dispose()
    import serving

    lines = [f"# Per-request parts ({db.engine.dialect.name}; code {Path(serving.__file__).parent.parent})", "",
             f"Command: `{' '.join([Path(sys.executable).name, *sys.argv])}`; load {os.getloadavg()[0]:.1f}", "",
             "| operation | CPU ms per op |", "| --- | ---: |", *(f"| {k} | {v:.3f} |" for k, v in rows)]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
