"""The reader's view, decided in one place: every route builds one ``Scope`` per request
(``serving.api.deps.ReaderScope``) and reads and presents through it.

- Jurisdiction. A county-scoped user (an investigator or env_bureau user with a county) reads rows
  whose county is exactly theirs. Rows without a county (a tip naming no known enterprise, with no
  county and no place; a site no enterprise is near; an outcome about either) are for city-wide users
  only. SQL filters come from ``where_county`` (``column = county`` never matches NULL); checks in
  Python from ``county_ok``.
- Ids of other counties. An enterprise is visible if the snapshot knows it and its registered county
  is visible; a tip if its jurisdiction is. Ids a reader may not see are left out of id lists and
  replaced in free text (reasons, evidence pointers) by a neutral mark (``MASK``), so that a county
  user never learns which enterprise of another county a manifest, a partner or a tip points to.
- Informants. An informant tip's text, place, named enterprise, reasons, evidence and links, and the
  note and enterprise of an outcome recorded against it, are withheld from readers not entitled
  (``access.sees_informants``). Filters derived from its named enterprise (industry, category) never
  match it for them (``repo.leads``), outcomes about it never show on an enterprise's page for them,
  and features drawn from informant tips (``INFORMANT_FEATURES``) or whose evidence points at an
  informant's tip (similar tips) are withheld from what they read, with the reasons rendered from them.

What remains visible of an informant tip to them: that it exists, its channel, time, county, score
and status, as the tip list has always shown.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from serving.access import INFORMANT, jurisdiction, must_redact, sees_informants
from serving.auth import Principal

MASK = {"zh": "（辖区外）", "en": "(outside your county)"}
# features whose value comes from informant tips: their reasons would say who an informant named
INFORMANT_FEATURES = ("informant_tips_365d", "tip_channel_informant")
_TOKEN = re.compile(r"[\w\-]+")


@functools.cache
def _reason_patterns(feature: str) -> tuple[re.Pattern, ...]:
    """Patterns matching any reason rendered from ``feature`` (the catalogue's templates with every
    ``{field}`` as a wildcard, and the fallback ``description: value``); none if it is not catalogued."""
    import features.network  # noqa: F401 - registers the features in the catalogue
    import features.tips  # noqa: F401
    from features.catalogue import CATALOGUE

    spec = CATALOGUE.get(feature)
    if spec is None:
        return ()
    out = []
    for template in (spec.reason_zh, spec.reason_en):
        parts = re.split(r"\{[^{}]*\}", template)
        out.append(re.compile("^" + ".+?".join(re.escape(p) for p in parts) + "$", re.S))
    for desc in (spec.description_zh, spec.description_en):
        out.append(re.compile("^" + re.escape(desc) + ": "))
    return tuple(out)


def reason_of(text: str, features: Iterable[str]) -> bool:
    """``text`` is a reason rendered from one of ``features``."""
    return any(p.match(text) for f in features for p in _reason_patterns(f))


def informant_reason(text: str) -> bool:
    return reason_of(text, INFORMANT_FEATURES)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text) if isinstance(text, str) else []


@dataclass
class Scope:
    """What ``user`` may read of the snapshot ``ctx`` (a ``serving.context.SnapshotContext`` or None)."""

    user: Principal
    ctx: object | None = None
    _tips: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # tip_id -> (jurisdiction, channel)

    # ---- who ----------------------------------------------------------------------------------

    @property
    def county(self) -> str | None:
        """The county the reader is limited to, or None for city-wide."""
        return jurisdiction(self.user)

    @property
    def city_wide(self) -> bool:
        return self.county is None

    @property
    def informants(self) -> bool:
        """Entitled to informant tips' text and identity."""
        return sees_informants(self.user)

    @property
    def sees_all(self) -> bool:
        return self.city_wide and self.informants

    # ---- rows ---------------------------------------------------------------------------------

    def county_ok(self, county: str | None) -> bool:
        """A row filed under ``county`` (None: no county) is the reader's."""
        return self.county is None or (county is not None and county == self.county)

    def where_county(self, column) -> list:
        """SQL conditions limiting ``column`` (a county) to the reader's jurisdiction."""
        return [] if self.county is None else [column == self.county]

    def enterprise_county(self, enterprise_id: str | None) -> str | None:
        return None if self.ctx is None or enterprise_id is None else self.ctx.county_of.get(enterprise_id)

    def enterprise_known(self, enterprise_id: str | None) -> bool:
        """The snapshot knows the enterprise and it is within the reader's jurisdiction (its page exists)."""
        return (self.ctx is not None and enterprise_id in self.ctx.county_of
                and self.county_ok(self.ctx.county_of[enterprise_id]))

    def enterprise_ok(self, enterprise_id: str | None) -> bool:
        """The id may be shown: city-wide readers see every id; county readers only their county's."""
        if enterprise_id is None:
            return False
        return self.city_wide or self.enterprise_known(enterprise_id)

    def enterprises(self, ids: Iterable[str]) -> list[str]:
        return [i for i in ids if self.enterprise_ok(i)]

    def enterprise_id(self, enterprise_id: str | None) -> str | None:
        return enterprise_id if self.enterprise_ok(enterprise_id) else None

    def redacts(self, channel: str | None) -> bool:
        """An informant tip (or one whose channel is unknown here) the reader may not read in full."""
        return not self.informants and (channel is None or must_redact(self.user, channel))

    # ---- tips referred to by other rows --------------------------------------------------------

    def load_tips(self, session: Session, ids: Iterable[str]) -> None:
        """Learn the jurisdiction and channel of the tips ``ids`` (one query), for ``tip_ok``."""
        from serving.db.models import Tip

        want = sorted({str(i) for i in ids if i} - self._tips.keys())
        for k in range(0, len(want), 500):
            for tid, jur, ch in session.execute(select(Tip.tip_id, Tip.jurisdiction, Tip.channel)
                                                .where(Tip.tip_id.in_(want[k:k + 500]))):
                self._tips[tid] = (jur, ch)

    def tip_ok(self, tip_id: str | None) -> bool:
        """A pointer to this tip may be shown: it is within the jurisdiction, and not an informant's
        unless the reader is entitled (a similar-tips group would place the informant). Unknown
        tips (not loaded, not in the service) are shown to city-wide entitled readers only."""
        if tip_id is None:
            return False
        if self.sees_all:
            return True
        jur, channel = self._tips.get(tip_id, (None, INFORMANT))
        return self.county_ok(jur) and not (channel == INFORMANT and not self.informants)

    # ---- text ---------------------------------------------------------------------------------

    def _hidden(self, token: str) -> bool:
        if self.ctx is not None and token in self.ctx.county_of:
            return not self.enterprise_ok(token)
        if token in self._tips:
            return not self.tip_ok(token)
        return False

    def text(self, text: str, lang: str = "zh") -> str:
        """``text`` with ids of enterprises and tips the reader may not see replaced by ``MASK``."""
        if self.sees_all or not text:
            return text
        return _TOKEN.sub(lambda m: MASK[lang] if self._hidden(m.group(0)) else m.group(0), text)

    def reasons(self, reasons: Iterable[str], lang: str = "zh") -> list[str]:
        return self.explain(list(reasons), {}, lang)[0]

    def evidence(self, evidence: dict, lang: str = "zh") -> dict:
        return self.explain([], evidence, lang)[1]

    def _informant_pointer(self, value) -> bool:
        """``value`` names a tip the reader may not read in full (an informant's)."""
        if self.informants or not any(channel == INFORMANT for _, channel in self._tips.values()):
            return False  # no informant's tip is known to be named: nothing to look for in ``value``
        return any(self._tips.get(t, (None, None))[1] == INFORMANT for t in tokens(value))

    def explain(self, reasons: list[str], evidence: dict, lang: str = "zh") -> tuple[list[str], dict]:
        """Reasons and evidence pointers as the reader may see them. A feature drawn from informant
        tips, or whose evidence points at an informant's tip (a group of similar tips would place
        the informant, and its count would say the informant is there), is withheld with the reasons
        rendered from it; ids of other counties are masked in what remains. Tips the evidence names
        must have been loaded (``load_tips``)."""
        if self.sees_all:
            return list(reasons), evidence
        withheld = set() if self.informants else set(INFORMANT_FEATURES)
        out = {}
        for feat, fields in evidence.items():
            if feat in withheld or any(self._informant_pointer(v) for v in fields.values()):
                withheld.add(feat)
                continue
            out[feat] = {k: self.text(v, lang) if isinstance(v, str) else v for k, v in fields.items()}
        kept = [self.text(r, lang) for r in reasons if not reason_of(r, withheld) and not self._informant_pointer(r)]
        return kept, out
