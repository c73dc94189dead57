"""``--cluster``: where ``validate``, ``train`` and ``score`` do their heavy work.

Unset (and ``HAZLEADS_DASK_SCHEDULER`` unset): pandas on this machine, as always. ``tcp://host:port``:
the Dask scheduler of a running cluster (its workers need hazleads installed and the snapshot
folder at the same path). ``local`` or ``local:N``: a ``LocalCluster`` of N worker processes
(default: one per core) with one thread each, started for the command and stopped after it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import typer

from hazleads.settings import Settings

CLUSTER_HELP = ("Dask cluster: tcp://host:port, or local[:N] for a LocalCluster of N workers on this machine; "
                "default HAZLEADS_DASK_SCHEDULER; unset = pandas on one machine / Dask 集群")


CLUSTER = typer.Option(None, "--cluster", help=CLUSTER_HELP)


def cluster_address(option: str | None, settings: Settings) -> str | None:
    """The cluster to use: the option, else the setting; ``none``/``off`` (or nothing) means none."""
    address = option if option is not None else settings.dask_scheduler
    if address is None or address.strip().lower() in ("", "none", "off"):
        return None
    return address.strip()


@contextlib.contextmanager
def dask_client(address: str | None) -> Iterator:
    """A connected ``distributed.Client`` (the default client while open), or None for pandas."""
    if address is None:
        yield None
        return
    from distributed import Client, LocalCluster

    if address == "local" or address.startswith("local:"):
        n = int(address.split(":", 1)[1]) if ":" in address else (os.cpu_count() or 1)
        if n < 1:
            raise typer.BadParameter(f"local:N needs N >= 1, got {address!r}", param_hint="--cluster")
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    if not address.startswith(("tcp://", "tls://", "ucx://", "inproc://")):
        raise typer.BadParameter(f"expected tcp://host:port or local[:N], got {address!r}", param_hint="--cluster")
    with Client(address) as client:
        yield client
