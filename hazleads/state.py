"""Small facts kept in the home folder between commands (which snapshot was last trained on)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hazleads.settings import Settings


def _path(settings: Settings) -> Path:
    return settings.home_dir / "state.json"


def read_state(settings: Settings) -> dict:
    p = _path(settings)
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return {}


def write_state(settings: Settings, **values) -> None:
    """Merge ``values`` into the state file atomically."""
    state = read_state(settings) | values
    p = _path(settings)
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, p)
