"""Licence checks: was a receiver (or carrier) licensed for a waste code on a given day?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

RECEIVING_KINDS = ("disposal", "utilisation", "collection")

VALID, EXPIRED, NONE = "valid", "expired", "none"


def category(waste_code: pd.Series) -> pd.Series:
    """``900-214-08`` -> ``HW08``."""
    return "HW" + waste_code.astype("str").str[-2:]


def explode_licences(licences: pd.DataFrame) -> pd.DataFrame:
    """One row per licence and listed code or category: licence_id, enterprise_id, kind, item, valid_from, valid_to, capacity_t."""
    lic = licences[["licence_id", "enterprise_id", "kind", "waste_codes", "valid_from", "valid_to", "capacity_t"]]
    items = lic["waste_codes"].astype("str").str.split(";")
    out = lic.drop(columns="waste_codes").assign(item=items).explode("item")
    return out[out["item"].notna() & (out["item"] != "")].reset_index(drop=True)


def licence_status(enterprise_id: pd.Series, waste_code: pd.Series, day: pd.Series,
                   licences: pd.DataFrame, kinds: tuple[str, ...]) -> pd.Series:
    """For each (enterprise, code, day): ``valid`` if a licence of ``kinds`` covering the code was valid
    that day (both ends included), ``expired`` if one covered it but not that day, else ``none``."""
    n = len(enterprise_id)
    if n == 0:
        return pd.Series([], dtype="str")
    any_valid, any_cover = _cover(enterprise_id, waste_code, day, licences, kinds)
    return pd.Series(np.where(any_valid, VALID, np.where(any_cover, EXPIRED, NONE)), index=enterprise_id.index)


@dataclass
class LicenceCover:
    """``licence_status`` of rows at any as-of date, from one pass over every licence: whether a
    covering licence was valid on the row's day (a licence valid on a day before as_of was granted
    before it: the same at every date on or after the day), and the earliest grant of a covering
    licence (it covers the row at as_of once granted by then)."""

    valid: np.ndarray  # bool by row
    first_granted: np.ndarray  # datetime64[ns] by row, NaT where no licence covers the code

    @classmethod
    def of(cls, enterprise_id: pd.Series, waste_code: pd.Series, day: pd.Series, licences: pd.DataFrame,
           kinds: tuple[str, ...]) -> LicenceCover:
        valid, _cover_any, first = _cover(enterprise_id, waste_code, day, licences, kinds, first_granted=True)
        return cls(valid, first)

    def status(self, rows: np.ndarray, index: pd.Index, end: pd.Timestamp) -> pd.Series:
        """``licence_status`` of positions ``rows`` with the licences granted before ``end`` (the cutoff)."""
        covered = self.first_granted[rows] < np.datetime64(end.as_unit("ns"))  # NaT compares False
        return pd.Series(np.where(self.valid[rows], VALID, np.where(covered, EXPIRED, NONE)), index=index)


def _cover(enterprise_id: pd.Series, waste_code: pd.Series, day: pd.Series, licences: pd.DataFrame,
           kinds: tuple[str, ...], first_granted: bool = False):
    n = len(enterprise_id)
    q = pd.DataFrame({"row": np.arange(n), "enterprise_id": enterprise_id.to_numpy(),
                      "code": waste_code.to_numpy(), "cat": category(waste_code).to_numpy(),
                      "day": pd.to_datetime(day.to_numpy()).normalize()})
    ex = explode_licences(licences)
    ex = ex[ex["kind"].isin(kinds)]
    hits = []
    for key in ("code", "cat"):
        m = q.merge(ex, left_on=["enterprise_id", key], right_on=["enterprise_id", "item"], how="inner")
        hits.append(m[["row", "day", "valid_from", "valid_to"]])
    h = pd.concat(hits, ignore_index=True)
    h["ok"] = (h["valid_from"] <= h["day"]) & (h["day"] <= h["valid_to"])
    any_cover = np.zeros(n, dtype=bool)
    any_valid = np.zeros(n, dtype=bool)
    any_cover[h["row"].to_numpy()] = True
    any_valid[h.loc[h["ok"], "row"].to_numpy()] = True
    if not first_granted:
        return any_valid, any_cover
    first = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    granted = h.dropna(subset=["valid_from"]).groupby("row")["valid_from"].min()
    first[granted.index.to_numpy()] = granted.to_numpy(dtype="datetime64[ns]")
    return any_valid, any_cover, first


def capacity_at(licences: pd.DataFrame, day) -> pd.Series:
    """Annual capacity (t) of each enterprise's receiving licences valid on ``day``."""
    day = pd.Timestamp(day).normalize()
    lic = licences[licences["kind"].isin(("disposal", "utilisation")) & (licences["valid_from"] <= day) & (licences["valid_to"] >= day)]
    return lic.groupby("enterprise_id")["capacity_t"].sum(min_count=1)
