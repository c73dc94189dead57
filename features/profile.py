"""Enterprise profile: industry, size, age, key-unit status. County is deliberately not a feature
(it would learn where investigators went, not where waste went); it is kept for the bias audit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalogue import feature
from features.timeutil import as_of_day

# The action plan's key industries (附件3 三(一)) and the ones that make most hazardous waste here.
KEY_INDUSTRIES = {
    "chemical": ("C26",),
    "pharmaceutical": ("C27",),
    "electroplating": ("C336",),
    "vehicle_repair": ("O811",),
    "battery_collection": ("F519", "N772", "C421"),
    "tyre_pyrolysis": ("C422", "C2511", "C291"),
    "medical": ("Q84",),
    "laboratory": ("M73", "M74"),
}

feature("key_industry", "enterprise", "profile", "",
        "属于专项行动重点行业（化工、医药、废铅酸蓄电池、废轮胎炼油等）", "in a key industry of the action plan",
        "属重点行业（{industry}）", "key industry ({industry})", direction=1, min_reason=0.5)
feature("key_discharge_unit", "enterprise", "profile", "", "重点排污单位", "listed key pollutant-discharge unit",
        "重点排污单位", "key pollutant-discharge unit", direction=0)
feature("employees_log", "enterprise", "profile", "", "职工人数（对数）", "head count (log)", "职工约 {employees} 人",
        "about {employees} employees", direction=0)
feature("in_park", "enterprise", "profile", "", "位于工业园区", "located in an industrial park", "位于工业园区",
        "in an industrial park", direction=0)
feature("age_years", "enterprise", "profile", "years", "注册年限", "years since registration", "注册 {value:.0f} 年",
        "registered {value:.0f} years ago", direction=0)
feature("is_producer", "enterprise", "profile", "", "产废单位", "a waste producer", "产废单位", "waste producer", direction=0)
feature("is_receiver", "enterprise", "profile", "", "经营（接收）单位", "a licensed receiver", "接收单位", "receiver", direction=0)
feature("is_transporter", "enterprise", "profile", "", "运输单位", "a carrier", "运输单位", "carrier", direction=0)


def industry_group(industry_code: pd.Series) -> pd.Series:
    code = industry_code.astype("str")
    out = pd.Series("other", index=industry_code.index, dtype="str")
    for name, prefixes in KEY_INDUSTRIES.items():
        out = out.where(~code.str.startswith(prefixes), name)
    return out


def profile_features(enterprises: pd.DataFrame, as_of) -> pd.DataFrame:
    e = enterprises.set_index("enterprise_id")
    out = pd.DataFrame(index=pd.Index(e.index, name="enterprise_id"))
    group = industry_group(e["industry_code"])
    out["key_industry"] = (group != "other").astype(float)
    out["key_industry@industry"] = group
    out["key_discharge_unit"] = e["key_discharge_unit"].astype("Float64").astype("float64") if "key_discharge_unit" in e else np.nan
    emp = e["employees"].astype("Float64").astype("float64") if "employees" in e else pd.Series(np.nan, index=e.index)
    out["employees_log"] = np.log1p(emp)
    out["employees_log@employees"] = emp
    out["in_park"] = e["park"].notna().astype(float) if "park" in e else 0.0
    opened = e["opened"] if "opened" in e else pd.Series(pd.NaT, index=e.index)
    age = (as_of_day(as_of) - opened).dt.days / 365.25
    out["age_years"] = age.where(age >= 0)
    roles = e["roles"].astype("str")
    for role in ("producer", "receiver", "transporter"):
        out[f"is_{role}"] = roles.str.contains(role).astype(float)
    return out
