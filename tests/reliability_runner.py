"""A process for the crash tests: ``hazleads`` itself, or the service on a port, that kills itself
with SIGKILL at a named moment (``HAZLEADS_CRASH_AT``), as a power cut or the OOM killer would.

    python -m tests.reliability_runner train --data DATA --experiment FAST.toml
    python -m tests.reliability_runner serve --port P [--data DATA] [--warm background] [--history-months 0]

Moments (the hook wraps the real function; nothing else changes):

- ``store-migration``: MLflow migrating a new tracking store, as it builds a table's new form
- ``features``: building the features of the second as-of date (cache cold)
- ``features-cache``: just after a date's enterprise table is written to the feature cache
- ``fitting``: entering the second LightGBM fit
- ``logging``: MLflow run open, metrics logged, plots not yet
- ``registration``: a model version registered, its checksum not yet recorded
- ``promotion-before``: the gate passed, the champion alias not yet moved
- ``promotion-after``: the champion alias moved, nothing after it done
- ``rescoring``: the service's re-scoring after a promotion, inside its write transaction

Before dying the process prints ``CRASH AT <moment>`` on stderr, so a test knows it died there.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

ENV = "HAZLEADS_CRASH_AT"


def die(moment: str) -> None:
    sys.stderr.write(f"CRASH AT {moment}\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _on_call(owner, name: str, moment: str, nth: int = 1, after: bool = False) -> None:
    """Replace ``owner.name`` by a wrapper that dies before (or after) its ``nth`` call."""
    original = getattr(owner, name)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == nth and not after:
            die(moment)
        result = original(*args, **kwargs)
        if calls["n"] == nth and after:
            die(moment)
        return result

    setattr(owner, name, wrapper)


def install(moment: str) -> None:
    if moment == "store-migration":
        import sqlalchemy

        def before(conn, cursor, statement, *args):
            if statement.lstrip().upper().startswith("CREATE TABLE _ALEMBIC_TMP_"):  # a batch migration's copy
                die(moment)

        sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", before)
    elif moment == "features":
        import training.dataset

        _on_call(training.dataset, "build", moment, nth=2)
    elif moment == "features-cache":
        import pandas as pd

        original = pd.DataFrame.to_parquet

        def to_parquet(self, path, *args, **kwargs):
            result = original(self, path, *args, **kwargs)
            if "-enterprise.parquet" in str(path):  # the cache's enterprise table (or its temporary file)
                die(moment)
            return result

        pd.DataFrame.to_parquet = to_parquet
    elif moment == "fitting":
        import lightgbm

        _on_call(lightgbm.LGBMClassifier, "fit", moment, nth=2)
    elif moment == "logging":
        import training.pipeline

        _on_call(training.pipeline, "log_plots", moment)
    elif moment == "registration":
        import mlflow.sklearn

        _on_call(mlflow.sklearn, "log_model", moment, after=True)
    elif moment in ("promotion-before", "promotion-after"):
        from mlflow import MlflowClient

        _on_call(MlflowClient, "set_registered_model_alias", moment, after=moment.endswith("after"))
    elif moment == "rescoring":
        import serving.jobs
        from serving.repo import runs

        original = runs.store

        def store(session, leads, ctx, trigger, *args, **kwargs):
            run = original(session, leads, ctx, trigger, *args, **kwargs)
            if trigger == "promotion":
                session.flush()  # the rows are written inside the open transaction, not committed
                die(moment)
            return run

        runs.store = store
        serving.jobs.runs.store = store
    else:
        raise SystemExit(f"unknown crash moment {moment!r}")


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from hazleads.settings import get_settings
    from serving import logs
    from serving.app import create_app
    from training.config import load_config

    settings = get_settings()
    logs.configure("WARNING")
    config = load_config(args.experiment) if args.experiment else None
    app = create_app(settings, data=args.data, warm=args.warm, train_config=config, history_months=args.history_months,
                     watch_interval_s=0)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False, server_header=False)


def main() -> None:
    moment = os.environ.get(ENV)
    if moment:
        install(moment)
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        p = argparse.ArgumentParser()
        p.add_argument("cmd")
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--data")
        p.add_argument("--warm", default="background")
        p.add_argument("--history-months", type=int, default=0)
        p.add_argument("--experiment")
        serve(p.parse_args())
        return
    from hazleads.cli.main import app

    app(prog_name="hazleads")


if __name__ == "__main__":
    main()
