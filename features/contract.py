"""The data contract's tables, declared once (DATA_CONTRACT.md §1).

Loading, validation, the simulator's writer and the documentation all read these declarations;
nobody repeats a column's type or rule in a second place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["str", "float", "int", "bool", "date", "month", "datetime", "codes", "code"]

WASTE_CODE_RE = re.compile(r"^\d{3}-\d{3}-\d{2}$")
CATEGORY_RE = re.compile(r"^HW\d{2}$")
INDUSTRY_RE = r"^[A-T]\d{2,4}$"

ROLES = ("producer", "transporter", "receiver")
LICENCE_KINDS = ("disposal", "utilisation", "collection", "transport")
CHANNELS = ("12369", "110", "online", "informant", "patrol", "other")
OUTCOMES = ("confirmed", "unfounded", "open")
VIOLATIONS = (
    "dumping_3t",
    "covert_discharge",
    "water_dumping",
    "unlicensed_operation",
    "supplying_unlicensed",
    "other",
)
PLACE_KINDS = ("river", "reservoir", "karst", "protected", "landfill", "restricted", "road")

TRUE_WORDS = frozenset({"true", "1", "yes", "是", "t", "y"})
FALSE_WORDS = frozenset({"false", "0", "no", "否", "f", "n"})


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    min: float | None = None  # inclusive lower bound
    min_exclusive: bool = False
    max: float | None = None
    choices: tuple[str, ...] | None = None
    pattern: str | None = None
    refs: str | None = None  # "table.column" this id must exist in
    meaning: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    required: bool
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    meaning: str = ""
    time_column: str | None = None  # the column that dates a row for as-of filtering
    extra_checks: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


LAT = dict(min=-90.0, max=90.0)
LON = dict(min=-180.0, max=180.0)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "enterprises",
            True,
            (
                Column("enterprise_id", "str", True),
                Column("name", "str", True),
                Column("credit_code", "str"),
                Column("industry_code", "str", True, pattern=INDUSTRY_RE),
                Column("county", "str", True),
                Column("lat", "float", True, **LAT),
                Column("lon", "float", True, **LON),
                Column("park", "str"),
                Column("key_discharge_unit", "bool"),
                Column("roles", "str", True, choices=ROLES),
                Column("employees", "int", min=0),
                Column("opened", "date"),
            ),
            key=("enterprise_id",),
            meaning="a registered enterprise (producer, transporter, receiver)",
        ),
        Table(
            "licences",
            True,
            (
                Column("licence_id", "str", True),
                Column("enterprise_id", "str", True, refs="enterprises.enterprise_id"),
                Column("kind", "str", True, choices=LICENCE_KINDS),
                Column("waste_codes", "codes", True),
                Column("capacity_t", "float", min=0.0),
                Column("valid_from", "date", True),
                Column("valid_to", "date", True),
            ),
            key=("licence_id",),
            meaning="a hazardous-waste business or transport licence",
            time_column="valid_from",
        ),
        Table(
            "ledgers",
            True,
            (
                Column("enterprise_id", "str", True, refs="enterprises.enterprise_id"),
                Column("month", "month", True),
                Column("waste_code", "code", True),
                Column("generated_t", "float", True, min=0.0),
                Column("transferred_t", "float", True, min=0.0),
                Column("onsite_t", "float", True, min=0.0),
                Column("stock_end_t", "float", True, min=0.0),
            ),
            key=("enterprise_id", "month", "waste_code"),
            meaning="one enterprise x month x waste code in the producer's waste ledger",
            time_column="month",
        ),
        Table(
            "electricity",
            True,
            (
                Column("enterprise_id", "str", True, refs="enterprises.enterprise_id"),
                Column("date", "date", True),
                Column("kwh", "float", True, min=0.0),
                Column("night_kwh", "float", min=0.0),
            ),
            key=("enterprise_id", "date"),
            meaning="one enterprise x day of metered power use",
            time_column="date",
        ),
        Table(
            "manifests",
            True,
            (
                Column("manifest_id", "str", True),
                Column("producer_id", "str", True, refs="enterprises.enterprise_id"),
                Column("transporter_id", "str", True, refs="enterprises.enterprise_id"),
                Column("receiver_id", "str", True, refs="enterprises.enterprise_id"),
                Column("vehicle_id", "str", True, refs="vehicles.vehicle_id"),
                Column("waste_code", "code", True),
                Column("quantity_t", "float", True, min=0.0, min_exclusive=True),
                Column("departed_at", "datetime", True),
                Column("received_t", "float", min=0.0),
                Column("received_at", "datetime"),
            ),
            key=("manifest_id",),
            meaning="one hazardous-waste transfer manifest",
            time_column="departed_at",
        ),
        Table(
            "vehicles",
            True,
            (
                Column("vehicle_id", "str", True),
                Column("transporter_id", "str", True, refs="enterprises.enterprise_id"),
                Column("hazmat_permit", "bool", True),
                Column("capacity_t", "float", min=0.0, min_exclusive=True),
            ),
            key=("vehicle_id",),
            meaning="one registered transport vehicle",
        ),
        Table(
            "trajectories",
            True,
            (
                Column("vehicle_id", "str", True, refs="vehicles.vehicle_id"),
                Column("ts", "datetime", True),
                Column("lat", "float", True, **LAT),
                Column("lon", "float", True, **LON),
                Column("speed_kmh", "float", min=0.0),
                Column("driver_id", "str", meaning="the driver on duty, where the terminal records it"),
            ),
            meaning="one GPS fix of a vehicle",
            time_column="ts",
        ),
        Table(
            "tips",
            False,
            (
                Column("tip_id", "str", True),
                Column("received_at", "datetime", True),
                Column("channel", "str", True, choices=CHANNELS),
                Column("text", "str", True),
                Column("lat", "float", **LAT),
                Column("lon", "float", **LON),
                Column("county", "str"),
                Column("enterprise_id", "str", refs="enterprises.enterprise_id"),
            ),
            key=("tip_id",),
            meaning="one public or informant tip",
            time_column="received_at",
        ),
        Table(
            "cases",
            False,
            (
                Column("case_id", "str", True),
                Column("opened", "date", True),
                Column("enterprise_id", "str", refs="enterprises.enterprise_id"),
                Column("tip_id", "str", refs="tips.tip_id"),
                Column("outcome", "str", True, choices=OUTCOMES),
                Column("violation", "str", choices=VIOLATIONS),
                Column("tonnes", "float", min=0.0),
                Column("criminal", "bool"),
            ),
            key=("case_id",),
            meaning="one past investigation and its outcome",
            time_column="opened",
        ),
    )
}

TABLE_ORDER = tuple(TABLES)  # referenced tables come before the ones that refer to them, except tips<-cases

# Dates outside this range are refused: they are typing errors, not history or plans.
MIN_DATE = "1990-01-01"
MAX_DATE = "2100-12-31"
