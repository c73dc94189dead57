"""``hazleads``: validate, simulate, train, score, serve, users, models, audit, demo."""

from __future__ import annotations

import typer

from hazleads.cli import data, models

app = typer.Typer(
    name="hazleads",
    help="危险废物违法线索 / Leads for hazardous-waste crime investigators.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("validate")(data.validate)
app.command("train")(models.train)
app.command("score")(models.score)
app.add_typer(models.models_app, name="models")


@app.callback()
def _root() -> None:
    """危险废物违法线索 / Leads for hazardous-waste crime investigators."""


if __name__ == "__main__":
    app()
