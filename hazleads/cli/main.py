"""``hazleads``: validate, simulate, train, score, serve, users, models, audit, demo, precompile."""

from __future__ import annotations

import typer

from hazleads.cli import data, models, service
from simulation.cli import simulate

app = typer.Typer(
    name="hazleads",
    help="危险废物违法线索 / Leads for hazardous-waste crime investigators.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("validate")(data.validate)
app.command("simulate")(simulate)
app.command("train")(models.train)
app.command("score")(models.score)
app.add_typer(models.models_app, name="models")
app.command("serve")(service.serve)
app.command("demo")(service.demo)
app.add_typer(service.users_app, name="users")
app.add_typer(service.audit_app, name="audit")


@app.command("precompile")
def precompile() -> None:
    """预编译计算内核 / Compile the Numba kernels now (``make install`` does), not in the first run."""
    from hazleads.cli.console import console
    from hazleads.precompile import warm

    warm(lambda m: console.print(m, markup=False))


@app.callback()
def _root() -> None:
    """危险废物违法线索 / Leads for hazardous-waste crime investigators."""


if __name__ == "__main__":
    app()
