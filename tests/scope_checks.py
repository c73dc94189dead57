"""What no answer may carry, worked out from the world of ``tests/scope_world.py`` by hand, and the
requests that probe for it (every route of the OpenAPI document, parameters drawn by Hypothesis).

A reader not entitled to informants must never receive an informant tip's words, place, named
enterprise or the notes recorded against it, nor a pointer from another row to such a tip; a
county reader must never receive the id of an enterprise, tip, site or outcome filed under another
county or under none."""

from __future__ import annotations

import csv
import io
import json
import re

from hypothesis import strategies as st

from tests.scope_world import (
    COUNTY,
    ENTITLED,
    INFORMANT_REASON,
    INFORMANT_REASON_EN,
    NAMED,
    NOTE,
    SECRET,
    USERS,
)
from tests.service_support import AS_OF, EARLIER, drop_keys

TIP_COUNTY = {"T1": "阳朔县", "T2": "临桂区", "T3": "七星区", "T4": None, "T5": "七星区", "T6": "阳朔县", "T7": "雁山区"}
INFORMANT_TIPS = {"T2", "T6"}
INFORMANT_PLACE = {"T6": (24.781, 110.489)}
SITE_COUNTIES = {"S1": {"临桂区"}, "S2": {"阳朔县"}, "S3": set(), "S9": {"临桂区", "阳朔县"}}  # over both lists
# outcomes in the order tests/scope_world.OUTCOMES records them: id -> county it is filed under
OUTCOME_COUNTY = {1: "临桂区", 2: "阳朔县", 3: "七星区", 4: None, 5: "阳朔县", 6: None, 7: "阳朔县", 8: "临桂区"}
OUTCOME_TIP = {1: "T2", 2: "T6", 3: "T5", 4: "T4"}
COUNTIES = sorted(set(COUNTY.values()))
_TOKEN = re.compile(r"[\w\-]+")
TIP_KEYS = frozenset({"tip_id", "entity_id"})  # where a redacted tip's own id may appear


def case_id(i: int) -> str:
    return f"SVC-{i:06d}"


INTAKE_SECRET = "线人丙说"  # the words of informant tips received during the tests


class Made:
    """Rows the requests of a test created (tips received, outcomes recorded), filed where the request
    says they belong (worked out from the request, not read back from the service)."""

    def __init__(self) -> None:
        self.tips: dict[str, tuple[str | None, str, str | None]] = {}  # tip_id -> (county, channel, named enterprise)
        self.outcomes: dict[int, str | None] = dict(OUTCOME_COUNTY)
        self.outcome_tips: dict[int, str] = dict(OUTCOME_TIP)

    def tip_county(self, tip_id: str) -> str | None:
        return TIP_COUNTY[tip_id] if tip_id in TIP_COUNTY else self.tips[tip_id][0]

    def note(self, who: str, method: str, url: str, body: dict | None, status: int, answer: dict) -> None:
        if method != "POST" or status != 201:
            return
        county = USERS[who][1]
        if url == "/v1/tips":
            named = body.get("enterprise_id")
            filed = county or body.get("county") or COUNTY.get(named)
            self.tips[answer["tip_id"]] = (filed, body["channel"], named)
        elif url == "/v1/outcomes":
            kind, entity = body["entity_kind"], body["entity_id"]
            filed = {"enterprise": lambda: COUNTY[entity], "tip": lambda: self.tip_county(entity),
                     "site": lambda: SITE_NOW[entity]}[kind]()
            self.outcomes[answer["id"]] = filed
            if kind == "tip":
                self.outcome_tips[answer["id"]] = entity


SITE_NOW = {"S1": "临桂区", "S2": "阳朔县", "S3": None, "S9": "阳朔县"}  # in the latest list


class Expectations:
    """What one reader may receive in one variant of the world (with the rows ``made`` since it started)."""

    def __init__(self, who: str, variant: str, made: Made | None = None) -> None:
        made = made or Made()
        role, self.county = USERS[who]
        self.who, self.variant = who, variant
        self.entitled = who in ENTITLED
        c = self.county
        tips = {**TIP_COUNTY, **{t: v[0] for t, v in made.tips.items()}}
        if c is None:
            self.forbidden: set[str] = set()
        else:
            self.forbidden = ({e for e, k in COUNTY.items() if k != c} | {t for t, k in tips.items() if k != c}
                              | {s for s, ks in SITE_COUNTIES.items() if c not in ks}
                              | {case_id(i) for i, k in made.outcomes.items() if k != c})
        self.outcome_county = made.outcomes
        informants = {"T2": NAMED[variant], "T6": "E4",
                      **{t: v[2] for t, v in made.tips.items() if v[1] == "informant"}}
        self.redacted = set() if self.entitled else set(informants)
        self.named = informants
        self.canaries = [] if self.entitled else [SECRET[variant], NOTE[variant], INFORMANT_REASON, INFORMANT_REASON_EN,
                                                   INTAKE_SECRET]

    # ---- one answer ---------------------------------------------------------------------------

    def problems(self, status: int, content_type: str, text: str, echo: set[str]) -> list[str]:
        """Every way this answer breaks the rules (``echo``: words of the request, which a 4xx may repeat)."""
        out = [f"{c!r} in the answer" for c in self.canaries if c in text]
        self._echo = echo if status >= 400 else set()
        out += [f"{t} (another county's or no county's id) in the answer" for t in
                sorted({t for t in _TOKEN.findall(text) if t in self.forbidden} - self._echo)]
        if content_type.startswith("application/json"):
            out += self._json(json.loads(text), None)
        elif content_type.startswith("text/csv"):
            for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff"))):
                out += self._json(row, None)
        return out

    _echo: set[str] = set()

    def _json(self, node, key) -> list[str]:
        out: list[str] = []
        if isinstance(node, dict):
            for tip in self.redacted:
                if tip in (node.get("tip_id"), node.get("entity_id")):
                    out += self._about_redacted(tip, node)
            if "case_id" in node and isinstance(node.get("id"), int):
                out += self._outcome_ids([node["id"]])
            if isinstance(node.get("outcomes"), list) and all(isinstance(i, int) for i in node["outcomes"]):
                out += self._outcome_ids(node["outcomes"])
            for k, v in node.items():
                out += self._json(v, k)
        elif isinstance(node, list):
            for v in node:
                out += self._json(v, "entity_ids" if key == "entity_ids" else key)
        elif isinstance(node, str):
            for tok in (set(_TOKEN.findall(node)) & self.redacted) - self._echo:
                if not ((key in TIP_KEYS and node == tok) or key == "entity_ids"):
                    out.append(f"a pointer to informant tip {tok} under {key!r}: {node[:80]!r}")
        return out

    def _about_redacted(self, tip: str, node: dict) -> list[str]:
        text = json.dumps(node, ensure_ascii=False, default=str)
        out = []
        if self.named[tip] and self.named[tip] in _TOKEN.findall(text):
            out.append(f"informant tip {tip}'s named enterprise beside it: {text[:200]}")
        if tip in INFORMANT_PLACE and any(str(x) in text for x in INFORMANT_PLACE[tip]):
            out.append(f"informant tip {tip}'s place beside it: {text[:200]}")
        if node.get("note") or node.get("text") or node.get("reasons") or node.get("evidence"):
            out.append(f"informant tip {tip}'s words beside it: {text[:200]}")
        return out

    def _outcome_ids(self, ids: list[int]) -> list[str]:
        if self.county is None:
            return []
        return [f"outcome {i} of another county" for i in ids
                if i not in self.outcome_county or self.outcome_county[i] != self.county]


# ---- requests ----------------------------------------------------------------------------------

ENTERPRISES = sorted(COUNTY)
TIPS = sorted(TIP_COUNTY)
SITES = sorted(SITE_COUNTIES)
IDS = ENTERPRISES + TIPS + SITES + [case_id(i) for i in OUTCOME_COUNTY] + ["NOPE"]
DOMAINS: dict[str, list] = {  # by parameter name: the values worth trying here
    "as_of": [AS_OF, EARLIER, "2020-01-31"], "county": [*COUNTIES, "不存在县"],
    "industry": ["C", "C2", "C26", "C266", "C2662", "C3", "C33", "C3360", "G", "N77", "O81"],
    "category": ["HW08", "HW17", "HW49"], "enterprise_id": ENTERPRISES + ["NOPE"], "tip_id": TIPS + ["NOPE"],
    "site_id": SITES + ["NOPE"], "vehicle_id": ["桂C12345", "桂C54321", "NOPE"], "entity_id": IDS, "month_from": ["2021-01", "2021-02", "2021-03"],
    "month_to": ["2021-01", "2021-02", "2021-03"], "min_score": [0.0, 0.3, 0.5, 0.6, 0.9], "min_gap_t": [0, 1, 3, 100],
    "limit": [1, 2, 3, 50, 200], "offset": [0, 1, 2, 5], "after_id": [0, 3, 10], "user_name": sorted(USERS),
    "action": ["tip.", "outcome.", "enterprise.", "leads.", "site."], "job_id": [1, 2], "user_id": [1, 2, 3],
    "q": ["E", "E1", "E5", "某", "桂林", "化工", "有限公司", "NOPE"], "corroborated": [True, False],
    "handover_id": [1, 2, 3, 99], "assignee_id": [1, 2, 3, 4], "name": ["桂林", "某", "化工", "E1"],
    "industry_name": ["化学", "修理", "电镀"], "max_score": [0.3, 0.8, 1.0],
}
SKIP_FOR_ADMIN = {("POST", "/v1/training"), ("POST", "/v1/models/{kind}/promote"), ("POST", "/v1/models/{kind}/rollback"),
                  ("POST", "/v1/models/reload"), ("DELETE", "/v1/users/{user_id}"), ("POST", "/v1/users/{user_id}/token")}
# admin sees everything, so nothing can leak to it: it is spared the routes that start a training run,
# call the model registry, or disable users or replace their tokens (which would leave the other
# readers' requests answered 401, proving nothing); other roles still get their 403 there


def _enum(schema: dict) -> list | None:
    for s in [schema, *schema.get("anyOf", [])]:
        if "enum" in s:
            return list(s["enum"])
        if s.get("type") == "boolean":
            return [True, False]
        if s.get("type") == "array":
            return [[v] for v in s["items"].get("enum", [])] or None
    return None


def param_strategy(p: dict) -> st.SearchStrategy:
    values = _enum(p["schema"]) or DOMAINS.get(p["name"])
    if values is None:
        values = ["x"]
    s = st.sampled_from(values)
    return s if p.get("required") else st.one_of(st.none(), s)


def operations(spec: dict) -> list[tuple[str, str, list[dict]]]:
    out = [("GET", "/", [])]
    for path, ops in sorted(spec["paths"].items()):
        for method, op in sorted(ops.items()):
            out.append((method.upper(), path, op.get("parameters", [])))
    return out


BODIES = {
    "/v1/tips": st.fixed_dictionaries({
        "channel": st.sampled_from(["12369", "informant", "online"]), "text": st.sampled_from(["夜里有车倒东西", "E1 的车又来了"]),
        "received_at": st.just("2021-03-30T20:00:00")},
        optional={"enterprise_id": st.sampled_from(ENTERPRISES), "county": st.sampled_from(COUNTIES)}).map(
        lambda b: {**b, "text": INTAKE_SECRET + b["text"]} if b["channel"] == "informant" else b),
    "/v1/outcomes": st.fixed_dictionaries({
        "entity_kind": st.sampled_from(["enterprise", "tip", "site"]), "entity_id": st.sampled_from(IDS),
        "outcome": st.just("open")}, optional={"note": st.just("复查")}),
    "/v1/users": st.builds(lambda n: {"name": f"u{n}", "role": "auditor"}, st.integers(0, 10**9)),
    "/v1/models/{kind}/promote": st.just({"version": "1"}),
    "/v1/cases/enterprise/{enterprise_id}": st.sampled_from([{"take": True}, {"status": "核查中", "note": "复查"}]),
    "/v1/cases/tip/{tip_id}": st.sampled_from([{"take": True}, {"status": "核查中", "note": "复查"}]),
    "/v1/cases/site/{site_id}": st.sampled_from([{"take": True}, {"status": "已立案"}]),
    "/v1/handovers": st.fixed_dictionaries({"enterprise_id": st.sampled_from(ENTERPRISES),
                                            "findings": st.sampled_from([["整改"], ["移送公安"]])}),
    "/v1/handovers/{handover_id}/return": st.just({"reason": "证据不足"}),
}


@st.composite
def request_for(draw, op: tuple[str, str, list[dict]]) -> tuple[str, str, dict, dict | None]:
    method, path, params = op
    values = {p["name"]: draw(param_strategy(p)) for p in params}
    url = path
    query = {}
    for p in params:
        v = values[p["name"]]
        if p["in"] == "path":
            url = url.replace("{" + p["name"] + "}", str(v))
        elif v is not None:
            query[p["name"]] = v
    body = draw(BODIES.get(path, st.just({}))) if method == "POST" else None
    return method, url, query, body


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def answer_text(r) -> str:
    """What an answer says: its text, or for an Excel workbook every cell's text (sheet by sheet, a
    row a line, cells tab-separated), which is what a reader of the file sees."""
    if not r.headers.get("content-type", "").startswith(XLSX):
        return r.text
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(r.content))
    return "\n".join(f"[{ws.title}]\n" + "\n".join("\t".join("" if v is None else str(v) for v in row)
                                                   for row in ws.iter_rows(values_only=True)) for ws in wb.worksheets)


def echo_of(url: str, query: dict, body: dict | None) -> set[str]:
    words = set(_TOKEN.findall(url)) | {t for v in query.values() for t in _TOKEN.findall(str(v))}
    return words | {t for v in (body or {}).values() for t in _TOKEN.findall(str(v))}


_CLOCK = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d(\.\d+)?)?")
VOLATILE = frozenset({"request_id", "created_at", "recorded_at", "started_at", "finished_at", "at", "hash", "prev_hash",
                      "snapshot_digest", "scored_in_ms", "duration_s", "updated_at", "decided_at",
                      "days_since_handover"})


def normalised(text: str, content_type: str, digest: str):
    """An answer without what differs between two services whatever they hold (times, request ids,
    hashes, the snapshot's digest)."""
    text = text.replace(digest, "<digest>")
    if content_type.startswith(XLSX):  # a workbook's times of writing (updated, recorded) are the clock's
        return _CLOCK.sub("<time>", text)
    if not content_type.startswith("application/json"):
        return text
    return drop_keys(json.loads(text), VOLATILE)
