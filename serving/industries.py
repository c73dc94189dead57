"""Names of the GB/T 4754-2017 industry divisions (门类 letter + two-digit 大类), so that a list can be
filtered by an industry's Chinese name ("化学", "汽车修理") as well as by its code."""

from __future__ import annotations

from features.codes import INDUSTRIES

# the divisions (门类 letter + two-digit 大类) of the one table of industry names, features/codes.py
DIVISIONS: dict[str, str] = {code: names[0] for code, names in INDUSTRIES.items() if len(code) == 3}


def code_prefixes(name: str) -> tuple[str, ...]:
    """Division codes whose name contains ``name`` (Chinese, partial), or the code itself if ``name``
    is one; none if nothing matches (the filter then matches no lead)."""
    text = name.strip()
    if text.upper() in DIVISIONS:
        return (text.upper(),)
    return tuple(code for code, label in DIVISIONS.items() if text and text in label)


def division_name(industry_code: str | None) -> str | None:
    """The division's name of a code such as ``C2662``."""
    return DIVISIONS.get(str(industry_code or "")[:3])
