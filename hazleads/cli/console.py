"""Shared console helpers: bilingual messages, progress spinners, exit codes."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

EXIT_USAGE = 2


@contextlib.contextmanager
def progress_status(title: str) -> Iterator:
    """A spinner whose text the work updates; plain lines when not on a terminal."""
    if console.is_terminal:
        with console.status(title) as status:
            yield lambda msg: status.update(f"{title} — {msg}")
    else:
        console.print(title)
        yield lambda msg: print(f"  {msg}", file=sys.stderr, flush=True)
