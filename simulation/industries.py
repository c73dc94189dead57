"""Producer industries, their GB/T 4754-2017 codes, typical hazardous wastes and power profiles.

Waste codes are from the National Hazardous Waste List (2021). ``intensity`` is tonnes of
hazardous waste per MWh of production power (median; each producer draws its own around it).
"""

from __future__ import annotations

from dataclasses import dataclass

FLAT = (1.0, 1.0, 1.0, 1.0, 1.0, 0.97, 0.94)
OFFICE = (1.0, 1.0, 1.0, 1.0, 1.0, 0.55, 0.35)
SHOP = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.75)
NOSEASON = (1.0,) * 12


@dataclass(frozen=True)
class Industry:
    key: str
    label: str  # Chinese label for documents and tips
    gbt: tuple[tuple[str, float], ...]  # GB/T 4754-2017 codes with weights
    share: float  # share of producers
    emp_median: float
    emp_sigma: float
    kwh_per_emp: float  # kWh per employee per day at full production
    base_frac: float  # share of power that does not follow production (lights, HVAC, refrigeration)
    weather_amp: float  # summer air-conditioning swing of the fixed load
    night_prod: float  # share of production power drawn 22:00-06:00
    night_fixed: float  # share of fixed power drawn 22:00-06:00
    weekday: tuple[float, ...]  # production factor Monday..Sunday
    season: tuple[float, ...]  # production factor January..December
    spring_factor: float  # production during the Spring Festival shutdown
    codes: tuple[tuple[str, float, float], ...]  # (waste code, share of mass, probability the producer has it)
    intensity: float  # t per MWh of production power
    shipping: str  # bulk, small (milk runs) or medical (every few days)
    key_logit: float  # log-odds of being a key discharge unit at the median size
    park_p: float  # probability of sitting in an industrial park
    violate_w: float  # relative propensity to violate
    behaviours: tuple[tuple[str, float], ...]  # behaviour weights when it violates
    focus: float = 1.0  # investigators' attention (the action plan's key industries)


INDUSTRIES: tuple[Industry, ...] = (
    Industry("chemical", "化工", (("C2614", 3), ("C2613", 1), ("C2641", 2), ("C2651", 1), ("C2662", 2), ("C2669", 1)),
             0.09, 60, 1.0, 60, 0.10, 0.10, 0.34, 0.30, FLAT, NOSEASON, 0.45,
             (("900-013-11", 0.35, 0.7), ("900-402-06", 0.20, 0.5), ("900-404-06", 0.10, 0.3),
              ("900-041-49", 0.10, 0.9), ("900-039-49", 0.10, 0.5), ("900-349-34", 0.10, 0.3),
              ("900-399-35", 0.05, 0.2), ("264-011-12", 0.15, 0.15)),
             0.060, "bulk", 0.2, 0.65, 2.2,
             (("dumping_3t", 0.35), ("covert_discharge", 0.25), ("water_dumping", 0.15), ("supplying_unlicensed", 0.25)), 1.5),
    Industry("pesticide", "农药", (("C2631", 4), ("C2632", 1)),
             0.03, 80, 0.9, 55, 0.10, 0.10, 0.33, 0.30, FLAT,
             (0.95, 1.15, 1.3, 1.3, 1.25, 1.1, 0.9, 0.85, 0.85, 0.85, 0.85, 0.9), 0.40,
             (("263-008-04", 0.40, 0.9), ("263-010-04", 0.15, 0.6), ("263-011-04", 0.25, 0.7),
              ("263-012-04", 0.05, 0.5), ("900-041-49", 0.10, 0.9), ("900-402-06", 0.10, 0.4)),
             0.080, "bulk", 0.8, 0.75, 2.4,
             (("dumping_3t", 0.35), ("covert_discharge", 0.25), ("water_dumping", 0.2), ("supplying_unlicensed", 0.2)), 1.6),
    Industry("pharma_api", "原料药", (("C2710", 4), ("C2750", 1), ("C2761", 1)),
             0.035, 120, 0.9, 45, 0.15, 0.15, 0.30, 0.30, FLAT, NOSEASON, 0.45,
             (("271-001-02", 0.35, 0.9), ("271-002-02", 0.25, 0.7), ("271-003-02", 0.10, 0.5),
              ("271-004-02", 0.10, 0.4), ("271-005-02", 0.05, 0.4), ("900-402-06", 0.10, 0.5),
              ("900-041-49", 0.05, 0.9)),
             0.050, "bulk", 0.6, 0.6, 2.0,
             (("dumping_3t", 0.35), ("covert_discharge", 0.3), ("water_dumping", 0.15), ("supplying_unlicensed", 0.2)), 1.5),
    Industry("pharma_form", "制药", (("C2720", 2), ("C2740", 3)),
             0.045, 150, 0.9, 35, 0.25, 0.25, 0.18, 0.30, OFFICE, NOSEASON, 0.15,
             (("272-001-02", 0.30, 0.5), ("272-003-02", 0.15, 0.4), ("272-005-02", 0.25, 0.8),
              ("900-041-49", 0.20, 0.9), ("900-047-49", 0.10, 0.7)),
             0.012, "bulk", 0.0, 0.45, 1.0,
             (("dumping_3t", 0.3), ("covert_discharge", 0.2), ("supplying_unlicensed", 0.5)), 1.4),
    Industry("plating", "电镀", (("C3360", 1),),
             0.07, 30, 0.8, 100, 0.12, 0.05, 0.22, 0.30, (1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.35), NOSEASON, 0.10,
             (("336-064-17", 0.35, 0.95), ("336-054-17", 0.30, 0.6), ("336-063-17", 0.20, 0.5),
              ("336-066-17", 0.10, 0.3), ("900-300-34", 0.10, 0.3), ("900-041-49", 0.05, 0.8)),
             0.120, "bulk", 0.4, 0.7, 2.0,
             (("covert_discharge", 0.45), ("dumping_3t", 0.25), ("water_dumping", 0.1), ("supplying_unlicensed", 0.2)), 1.3),
    Industry("repair", "汽修", (("O8111", 1),),
             0.36, 8, 0.7, 12, 0.35, 0.25, 0.06, 0.30, SHOP, (1.2, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.05, 1.0, 1.1), 0.10,
             (("900-214-08", 0.60, 1.0), ("900-249-08", 0.15, 0.6), ("900-041-49", 0.15, 0.9),
              ("900-252-12", 0.10, 0.35), ("900-052-31", 0.10, 0.3)),
             0.350, "small", -6.0, 0.04, 0.75,
             (("supplying_unlicensed", 0.75), ("dumping_3t", 0.15), ("water_dumping", 0.10)), 0.8),
    Industry("battery", "废铅酸蓄电池回收", (("F5191", 3), ("C4210", 1)),
             0.035, 5, 0.6, 12, 0.30, 0.20, 0.06, 0.30, SHOP, NOSEASON, 0.10,
             (("900-052-31", 0.95, 1.0), ("900-041-49", 0.05, 0.3)),
             6.000, "bulk", -4.0, 0.1, 2.6,
             (("unlicensed_operation", 0.5), ("supplying_unlicensed", 0.3), ("dumping_3t", 0.2)), 1.7),
    Industry("tyre", "废轮胎炼油", (("C4220", 3), ("C2519", 1)),
             0.025, 20, 0.7, 150, 0.08, 0.05, 0.38, 0.30, FLAT, (1.0, 0.9, 1.0, 1.0, 1.0, 0.9, 0.9, 0.9, 1.0, 1.05, 1.1, 1.1), 0.20,
             (("900-249-08", 0.40, 0.9), ("900-013-11", 0.45, 0.8), ("900-041-49", 0.10, 0.6), ("900-039-49", 0.05, 0.4)),
             0.080, "bulk", -1.0, 0.3, 2.8,
             (("unlicensed_operation", 0.4), ("covert_discharge", 0.25), ("dumping_3t", 0.2), ("water_dumping", 0.15)), 1.7),
    Industry("hospital", "医院", (("Q8411", 4), ("Q8412", 1), ("Q8423", 3), ("Q8416", 1)),
             0.12, 150, 1.1, 15, 0.45, 0.35, 0.28, 0.32, (1.0, 1.0, 1.0, 1.0, 1.0, 0.85, 0.8),
             (1.12, 1.05, 1.0, 0.98, 0.97, 0.96, 0.96, 0.97, 0.98, 1.0, 1.03, 1.1), 0.85,
             (("841-001-01", 0.78, 1.0), ("841-002-01", 0.08, 1.0), ("841-003-01", 0.04, 0.6),
              ("841-004-01", 0.06, 0.7), ("841-005-01", 0.04, 0.7)),
             0.080, "medical", -1.0, 0.0, 0.25, (("supplying_unlicensed", 0.7), ("dumping_3t", 0.3)), 0.7),
    Industry("lab", "实验室", (("M7320", 2), ("M7452", 3), ("P8341", 1)),
             0.07, 25, 1.0, 25, 0.50, 0.40, 0.10, 0.30, OFFICE, (1.0, 0.6, 1.0, 1.0, 1.0, 1.0, 0.7, 0.7, 1.0, 1.0, 1.0, 1.0), 0.05,
             (("900-047-49", 0.70, 1.0), ("900-041-49", 0.20, 0.8), ("900-402-06", 0.10, 0.3)),
             0.025, "small", -3.0, 0.15, 0.4, (("covert_discharge", 0.5), ("supplying_unlicensed", 0.5)), 0.6),
    Industry("machining", "机械加工", (("C3484", 2), ("C3311", 1), ("C3670", 1)),
             0.08, 40, 0.9, 50, 0.20, 0.10, 0.15, 0.30, (1.0, 1.0, 1.0, 1.0, 1.0, 0.85, 0.4), NOSEASON, 0.10,
             (("900-006-09", 0.40, 0.8), ("900-218-08", 0.20, 0.5), ("900-217-08", 0.15, 0.4),
              ("900-249-08", 0.15, 0.6), ("900-041-49", 0.10, 0.8)),
             0.030, "small", -2.0, 0.45, 0.8,
             (("dumping_3t", 0.3), ("supplying_unlicensed", 0.5), ("water_dumping", 0.2)), 0.8),
)
BY_KEY = {i.key: i for i in INDUSTRIES}

# Receivers: (kind of licence, codes/categories, industry code, typical capacity t/yr, share, outside probability)
RECEIVER_TYPES: dict[str, tuple[str, str, str, float, float, float]] = {
    "disposal": ("disposal", "HW02;HW04;HW06;HW08;HW09;HW11;HW12;HW13;HW17;HW34;HW35;HW49", "N7724", 30_000, 0.12, 0.35),
    "medical": ("disposal", "HW01", "N7724", 8_000, 0.06, 0.0),
    "oil": ("utilisation", "HW08;HW09", "C2519", 15_000, 0.16, 0.3),
    "lead": ("utilisation", "HW31", "C3216", 60_000, 0.08, 0.7),
    "solvent": ("utilisation", "HW06;900-013-11", "C2669", 8_000, 0.06, 0.3),
    "metal": ("utilisation", "HW17;HW34", "C3219", 20_000, 0.08, 0.6),
    "collector": ("collection", "HW08;HW31;900-041-49;900-047-49;HW09", "N7724", 2_000, 0.44, 0.0),
}
SMALL_RECEIVERS = ("disposal", "medical", "oil", "lead", "collector", "metal")

TRANSPORT_CATEGORIES = "HW01;HW02;HW04;HW06;HW08;HW09;HW11;HW12;HW13;HW17;HW31;HW34;HW35;HW49"

BEHAVIOURS = ("dumping_3t", "covert_discharge", "water_dumping", "unlicensed_operation", "supplying_unlicensed")


def category(code: str) -> str:
    return "HW" + code[-2:]


def licence_covers(licence_codes: str, code: str) -> bool:
    """Whether a licence's ``;``-list of codes and categories covers ``code``."""
    items = licence_codes.split(";")
    return code in items or category(code) in items
