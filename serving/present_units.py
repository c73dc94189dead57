"""Evidence an officer can read: a lead's evidence pointers (``{feature: {"value": v, field: text}}``)
as rows with the catalogue's Chinese (or English) label, the value with its unit and a sensible
rounding (吨 to 0.1, kWh whole, metres whole or km to 0.1, minutes, dates as ``2024-03-05 22:14``),
pointers spelt out (waste codes with their category, industries with their GB/T 4754 name,
enterprises by name and id), and the enterprise's profile facts kept apart from the evidence.

The internal feature name travels in ``feature`` (the page keys rows by it) and is never shown."""

from __future__ import annotations

import math
import re

from features.catalogue import CATALOGUE
from features.codes import industry_text, waste_text

PROFILE_SOURCE = "profile"
UNITS = {  # catalogue unit -> (zh, en, decimals)
    "t": ("吨", "t", 1), "kWh": ("千瓦时", "kWh", 0), "m": ("米", "m", 0), "days": ("天", "days", 0),
    "h": ("小时", "h", 1), "hours": ("小时", "h", 1), "years": ("年", "years", 0), "count": ("", "", 0),
    "ratio": ("倍", "×", 1), "min": ("分钟", "min", 0),
}
POINTER_LABELS = {  # evidence field -> (zh, en)
    "month": ("月份", "month"), "waste_code": ("废物代码", "waste code"), "manifest_id": ("联单", "manifest"),
    "vehicle_id": ("车辆", "vehicle"), "vehicle_ids": ("车辆", "vehicles"), "enterprise_id": ("企业", "enterprise"),
    "enterprise_ids": ("企业", "enterprises"), "partner_id": ("合作单位", "partner"), "receiver_id": ("接收单位", "receiver"),
    "transporter_id": ("运输单位", "carrier"), "when": ("时间", "time"), "date": ("日期", "date"), "opened": ("立案日期", "case opened"),
    "place": ("地点", "place"), "names": ("提到的地名", "places named"), "industry": ("行业", "industry"),
    "employees": ("职工", "employees"), "licence_id": ("许可证", "licence"), "first_seen": ("首次", "first seen"),
    "last_seen": ("最近", "last seen"), "group": ("同类举报", "similar tips"), "others": ("其他", "others"),
    "radius_m": ("范围", "radius"), "dist_m": ("距离", "distance"), "minutes": ("时长", "duration"),
    "where": ("位置", "where"),
}
INDUSTRY_GROUPS = {"chemical": ("化工", "chemical"), "pharmaceutical": ("医药", "pharmaceutical"),
                   "electroplating": ("电镀", "electroplating"), "vehicle_repair": ("汽修", "vehicle repair"),
                   "battery_collection": ("废铅酸蓄电池回收", "lead-acid battery collection"),
                   "tyre_pyrolysis": ("废轮胎炼油", "tyre pyrolysis"), "medical": ("医疗", "medical"),
                   "laboratory": ("实验室", "laboratory"), "other": ("其他", "other")}
VALUE_FROM_POINTER = {"employees_log": ("employees", "人", "people")}  # a transformed value read from its source
HIDDEN_POINTERS = {"lat", "lon"}  # coordinates: the place name says where
WASTE_CODE = re.compile(r"^\d{3}-\d{3}-\d{2}$|^HW\d{2}$")
DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2}(\.\d+)?)?$")


def number(value: float, decimals: int) -> str:
    """``1234.5`` -> ``1,234.5`` (``decimals`` places always: 9 t reads 9.0 吨)."""
    if decimals == 0:
        return f"{value:,.0f}"
    return f"{value:,.{decimals}f}"


def value_text(value, unit: str, lang: str = "zh") -> str:
    """A feature's value with its unit, rounded for reading."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    v = float(value)
    if unit == "share":
        return f"{v * 100:.0f}%" if abs(v) >= 0.1 else f"{v * 100:.1f}%"
    if unit == "":
        if v in (0.0, 1.0):
            return ("是" if v else "否") if lang == "zh" else ("yes" if v else "no")
        return number(round(v, 2), 2)
    if unit == "m" and abs(v) >= 1000:
        return f"{v / 1000:.1f} 公里" if lang == "zh" else f"{v / 1000:.1f} km"
    zh, en, dec = UNITS.get(unit, (unit, unit, 1))
    word = zh if lang == "zh" else en
    text = number(round(v, dec), dec)
    return f"{text} {word}".strip()


def pointer_text(field: str, value, lang: str = "zh", names: dict[str, str] | None = None) -> str:
    """One pointer spelt out: times to the minute, waste codes with their category, industries named,
    enterprises as "name（id）"."""
    text = str(value)
    names = names or {}
    if field == "industry":
        return INDUSTRY_GROUPS.get(text, (text, text))[0 if lang == "zh" else 1]
    if field in ("industry_code",):
        return industry_text(text, lang)
    m = DATETIME.match(text)
    if m:
        return f"{m.group(1)} {m.group(2)}"
    if field == "waste_code" or WASTE_CODE.match(text):
        return "、".join(waste_text(c, lang) for c in text.split(";") if c) if lang == "zh" else \
            "; ".join(waste_text(c, lang) for c in text.split(";") if c)
    if field in ("radius_m", "dist_m", "minutes"):
        try:
            return value_text(float(text), "m" if field != "minutes" else "min", lang)
        except ValueError:
            return text
    if field in ("enterprise_id", "enterprise_ids", "partner_id", "receiver_id", "transporter_id"):
        ids = [i for i in re.split(r"[;,]", text) if i]
        return "、".join(f"{names[i]}（{i}）" if i in names else i for i in ids)
    return text


def pointer_links(field: str, value) -> list[dict]:
    """The ids a pointer names that have a page: ``[{"kind": "enterprise"|"vehicle"|"tip", "id"}]``."""
    kind = {"enterprise_id": "enterprise", "enterprise_ids": "enterprise", "partner_id": "enterprise",
            "receiver_id": "enterprise", "transporter_id": "enterprise", "vehicle_id": "vehicle",
            "vehicle_ids": "vehicle", "group": "tip", "others": "tip"}.get(field)
    if kind is None or value is None:
        return []
    return [{"kind": kind, "id": i} for i in re.split(r"[;,]", str(value)) if i]


def evidence_rows(evidence: dict[str, dict], lang: str = "zh", names: dict[str, str] | None = None) -> dict[str, list[dict]]:
    """``{"evidence": [...], "profile": [...]}``: one row per feature, its label, value text and the
    pointers (``{"field", "label", "text", "links"}``), strongest signal first as the lead stored them;
    profile facts (industry, size, age) apart. ``names``: the enterprises the reader may see, by id;
    only those are linked (a masked id is text, never a link)."""
    out: dict[str, list[dict]] = {"evidence": [], "profile": []}
    for feat, fields in evidence.items():
        spec = CATALOGUE.get(feat)
        label = (spec.description_zh if lang == "zh" else spec.description_en) if spec else feat
        unit = spec.unit if spec else ""
        value = fields.get("value")
        pointers = []
        for k, v in fields.items():
            if k == "value" or k in HIDDEN_POINTERS or v in (None, ""):
                continue
            pl = POINTER_LABELS.get(k, (k, k))
            links = [x for x in pointer_links(k, v) if x["kind"] != "enterprise" or x["id"] in (names or {})]
            pointers.append({"field": k, "label": pl[0 if lang == "zh" else 1], "text": pointer_text(k, v, lang, names),
                             "links": links})
        text = value_text(value, unit, lang)
        if feat in VALUE_FROM_POINTER and fields.get(VALUE_FROM_POINTER[feat][0]) not in (None, ""):
            field, zh, en = VALUE_FROM_POINTER[feat]
            text = f"{number(float(fields[field]), 0)} {zh if lang == 'zh' else en}"
            pointers = [p for p in pointers if p["field"] != field]
        row = {"feature": feat, "label": label, "value": value, "value_text": text,
               "unit": unit, "pointers": pointers}
        out["profile" if spec is not None and spec.source == PROFILE_SOURCE else "evidence"].append(row)
    return out
