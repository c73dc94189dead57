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
  and model reasons drawn from informant tips (``INFORMANT_FEATURES``) are dropped from what they read.

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
# evidence fields that point at a tip (the representative of a group of similar tips)
TIP_POINTERS = frozenset({"group"})
_TOKEN = re.compile(r"[\w\-]+")


@functools.cache
def _informant_reasons() -> tuple[re.Pattern, ...]:
    """Patterns matching any reason rendered from ``INFORMANT_FEATURES`` (the catalogue's templates
    with every ``{field}`` as a wildcard, and the fallback ``description: value``)."""
    import features.network  # noqa: F401 - registers the features below in the catalogue
    import features.tips  # noqa: F401
    from features.catalogue import CATALOGUE

    out = []
    for name in INFORMANT_FEATURES:
        spec = CATALOGUE[name]
        for template in (spec.reason_zh, spec.reason_en):
            parts = re.split(r"\{[^{}]*\}", template)
            out.append(re.compile("^" + ".+?".join(re.escape(p) for p in parts) + "$", re.S))
        for desc in (spec.description_zh, spec.description_en):
            out.append(re.compile("^" + re.escape(desc) + ": "))
    return tuple(out)


def informant_reason(text: str) -> bool:
    return any(p.match(text) for p in _informant_reasons())


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
        out = []
        for r in reasons:
            if not self.informants and informant_reason(r):
                continue
            out.append(self.text(r, lang))
        return out

    def evidence(self, evidence: dict, lang: str = "zh") -> dict:
        """Evidence pointers with hidden ids masked and informant-derived features dropped."""
        if self.sees_all:
            return evidence
        out = {}
        for feat, fields in evidence.items():
            if not self.informants and feat in INFORMANT_FEATURES:
                continue
            kept = {}
            for k, v in fields.items():
                if isinstance(v, str):
                    v = (v if self.tip_ok(v) else MASK[lang]) if k in TIP_POINTERS else self.text(v, lang)
                kept[k] = v
            out[feat] = kept
        return out
