"""The contract's rules (DATA_CONTRACT.md §1) applied to parsed tables: every problem, with its row."""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np
import pandas as pd
import pyarrow as pa

from features.contract import Column, Table
from features.parsing import parse
from features.problems import ROWS_PER_RULE, ProblemLog
from features.readers import TEXT_COLUMNS, RawTable, RowNumbers


def parse_table(raw: RawTable, spec: Table, log: ProblemLog) -> pd.DataFrame | None:
    """Parse every contract column of ``raw``; extra columns are kept as text. None if a required column is missing."""
    names = raw.table.column_names
    missing_cols = [c for c in spec.required_columns if c not in names]
    header_row = 1 if raw.row_offset == 2 else None
    for c in missing_cols:
        log.add(raw.file, header_row, c, f"required column '{c}' is missing (columns are: {', '.join(names) or 'none'})")
    if missing_cols:
        return None
    rows = raw.row_numbers()
    # take the columns out of the table one by one, so each column's text is freed once checked;
    # a long table's next column is parsed in a second thread meanwhile (Arrow's casts and NumPy's
    # passes release the GIL: 2.3-3.2 s -> 1.3-1.4 s for the city's fixes), one column ahead at most
    columns = {n: raw.table.column(n) for n in names}
    raw.table = None
    out: dict[str, pd.Series] = {}
    ahead: deque = deque()  # (column, its text, the parse under way), the next one at most

    def check_first() -> None:
        col, arr, fut = ahead.popleft()
        _check_column(raw.file, header_row, rows, col, arr, fut.result(), out, log)

    with ThreadPoolExecutor(1) if len(rows) >= PARSE_AHEAD_ROWS else nullcontext() as pool:
        for col in spec.columns:
            if col.name not in columns:
                continue
            arr = columns.pop(col.name)
            if pool is None:
                _check_column(raw.file, header_row, rows, col, arr, _parsed(col, arr), out, log)
                continue
            ahead.append((col, arr, pool.submit(_parsed, col, arr)))
            if len(ahead) > 1:
                check_first()
        while ahead:
            check_first()
    for extra, arr in columns.items():
        out[extra] = pd.Series(arr.to_pandas(), copy=False).reset_index(drop=True)
    frame = pd.DataFrame(out, copy=False)
    frame.attrs["rows"] = rows
    frame.attrs["file"] = raw.file
    return frame


PARSE_AHEAD_ROWS = 1_000_000  # tables from this many rows parse their next column in a second thread


def _parsed(col: Column, arr):
    """``parse(col, arr)``, or the exception of a Parquet type no rule fits (reported by the caller)."""
    try:
        return parse(col, arr)
    except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
        return exc


def _check_column(file: str, header_row, rows: RowNumbers, col: Column, arr, parsed, out: dict, log: ProblemLog) -> None:
    """The column's parsed values (``_parsed``) into ``out``, and its problems into ``log``, in the columns' order."""
    if isinstance(parsed, Exception):
        log.add(file, header_row, col.name, f"column of type {arr.type} cannot be read as {_KIND_WORDS[col.kind]} "
                f"({type(parsed).__name__}); store it as {_KIND_WORDS[col.kind]}")
        out[col.name] = _unreadable(col, len(rows))
        return
    values = parsed.values.reset_index(drop=True)
    if col.required:
        log.add_rows(file, rows[parsed.missing], col.name, f"'{col.name}' is required but empty")
    if parsed.invalid.any():
        bad = parsed.invalid
        shown = _shown(arr, np.flatnonzero(bad)[:ROWS_PER_RULE])
        log.add_rows(file, rows[bad], col.name, f"not {parsed.expected}", values=shown)
    _check_range(file, rows, col, values, log)
    if col.kind == "str" and col.name not in TEXT_COLUMNS and col.choices is None:
        broken = _line_breaks(values)
        if broken.any():
            log.add_rows(file, rows[broken], col.name, "line break inside a value (a stray quote?)")
    out[col.name] = values


_KIND_WORDS = {"str": "text", "code": "text", "codes": "text", "float": "a number", "int": "a whole number",
               "bool": "a boolean", "date": "a date", "datetime": "a timestamp", "month": "a month (text YYYY-MM)"}
_NA_DTYPES = {"str": "object", "code": "object", "codes": "object", "float": "float64", "int": "Int64",
              "bool": "boolean", "date": "datetime64[ns]", "datetime": "datetime64[ns]", "month": "period[M]"}


def _line_breaks(values: pd.Series) -> np.ndarray:
    """Which values hold a line break; a categorical column (a long table's ids) is asked of its
    distinct values only (the Series' own check made an object array of every row)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = np.asarray(values.cat.categories.astype("str").str.contains("\n", regex=False), dtype=bool)
        if not cats.any():  # the usual case: no row is looked at (four passes over 40 M codes otherwise)
            return np.zeros(len(values), dtype=bool)
        codes = values.cat.codes.to_numpy()
        return (codes >= 0) & cats[np.maximum(codes, 0)]
    return values.str.contains("\n", regex=False).fillna(False).to_numpy(dtype=bool)


def _unreadable(col: Column, n: int) -> pd.Series:
    """An all-missing column of the contract type, standing in for one whose stored type cannot be read."""
    return pd.Series([None] * n, dtype=_NA_DTYPES[col.kind])


def _shown(arr: pa.ChunkedArray, index: np.ndarray) -> list:
    """The offending cells as Python values (or as text, when they do not fit Python's types: year 1 BC...)."""
    taken = arr.take(pa.array(index, pa.int64()))
    try:
        return taken.to_pylist()
    except (OverflowError, ValueError, pa.ArrowException):
        try:
            return taken.cast(pa.string()).to_pylist()
        except pa.ArrowException:
            return [f"<{arr.type}>"] * len(index)


def _check_range(file: str, rows: RowNumbers, col: Column, values: pd.Series, log: ProblemLog) -> None:
    if col.kind not in ("float", "int") or (col.min is None and col.max is None):
        return
    v = values.to_numpy(dtype="float64", na_value=np.nan)
    present = ~np.isnan(v)
    if col.min is not None:
        low = present & ((v <= col.min) if col.min_exclusive else (v < col.min))
        op = ">" if col.min_exclusive else ">="
        log.add_rows(file, rows[low], col.name, f"must be {op} {col.min:g}", values=v[low])
    if col.max is not None:
        high = present & (v > col.max)
        log.add_rows(file, rows[high], col.name, f"must be <= {col.max:g}", values=v[high])


def check_keys(table: Table, df: pd.DataFrame, log: ProblemLog) -> None:
    if not table.key or any(k not in df for k in table.key):
        return
    rows, file = df.attrs["rows"], df.attrs["file"]
    keys = df[list(table.key)]
    # an empty key is reported as missing already (or its column as unreadable), not as a repeat
    dup = (keys.duplicated(keep="first") & keys.notna().all(axis=1)).to_numpy()
    what = " and ".join(table.key)
    log.add_rows(file, rows[dup], table.key[-1] if len(table.key) > 1 else table.key[0],
                 f"duplicate {what}: each must appear once", values=df.loc[dup, table.key[0]].to_numpy())


def check_refs(table: Table, df: pd.DataFrame, frames: dict[str, pd.DataFrame], log: ProblemLog) -> None:
    rows, file = df.attrs["rows"], df.attrs["file"]
    for col in table.columns:
        if col.refs is None or col.name not in df:
            continue
        ref_table, ref_col = col.refs.split(".")
        if ref_table not in frames:
            continue  # the referenced table is broken; its own problems are reported
        known = pd.Index(frames[ref_table][ref_col].dropna().unique())
        values = df[col.name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            unknown_cats = ~values.cat.categories.isin(known)
            bad = unknown_cats[values.cat.codes.to_numpy()] & (values.cat.codes.to_numpy() >= 0)
        else:
            bad = (values.notna() & ~values.isin(known)).to_numpy(dtype=bool)
        log.add_rows(file, rows[bad], col.name, f"unknown id: not in {ref_table}.{ref_col}", values=values[bad].to_numpy())


def check_rules(frames: dict[str, pd.DataFrame], log: ProblemLog) -> None:
    """Rules across columns and tables that the column declarations cannot say."""
    lic = frames.get("licences")
    if lic is not None:
        bad = (lic["valid_from"] > lic["valid_to"]).to_numpy(dtype=bool)
        log.add_rows(lic.attrs["file"], lic.attrs["rows"][bad], "valid_to", "valid_to is before valid_from")
    man = frames.get("manifests")
    if man is not None:
        if "received_at" in man:
            bad = (man["received_at"] < man["departed_at"]).to_numpy(dtype=bool)
            log.add_rows(man.attrs["file"], man.attrs["rows"][bad], "received_at", "received_at is before departed_at")
        if "received_t" in man and "received_at" in man:
            half = (man["received_t"].notna() ^ man["received_at"].notna()).to_numpy(dtype=bool)
            log.add_rows(man.attrs["file"], man.attrs["rows"][half], "received_at",
                         "received_t and received_at should both be given or both be empty", "warning")
    ele = frames.get("electricity")
    if ele is not None and "night_kwh" in ele:
        bad = (ele["night_kwh"] > ele["kwh"] * (1 + 1e-9) + 1e-6).to_numpy(dtype=bool)
        log.add_rows(ele.attrs["file"], ele.attrs["rows"][bad], "night_kwh", "night_kwh is more than the day's kwh")
    cases = frames.get("cases")
    if cases is not None and "violation" in cases:
        odd = (cases["violation"].notna() & (cases["outcome"] != "confirmed")).to_numpy(dtype=bool)
        log.add_rows(cases.attrs["file"], cases.attrs["rows"][odd], "violation",
                     "a violation is given for a case that is not confirmed; it is ignored", "warning")
    _check_roles(frames, log)


def _check_roles(frames: dict[str, pd.DataFrame], log: ProblemLog) -> None:
    ent = frames.get("enterprises")
    if ent is None:
        return
    roles = ent.drop_duplicates("enterprise_id").set_index("enterprise_id")["roles"].astype("str")
    uses = [
        ("manifests", "producer_id", "producer"),
        ("manifests", "transporter_id", "transporter"),
        ("manifests", "receiver_id", "receiver"),
        ("vehicles", "transporter_id", "transporter"),
        ("ledgers", "enterprise_id", "producer"),
    ]
    for table, column, role in uses:
        df = frames.get(table)
        if df is None or column not in df:
            continue
        # whether each enterprise lists the role, decided once per enterprise, then looked up per row
        has = pd.Series([isinstance(r, str) and role in r.split(";") for r in roles], index=roles.index, dtype=bool)
        lacks = ~has.reindex(df[column].astype("str").to_numpy(), fill_value=False).to_numpy(dtype=bool)
        lacks = lacks & df[column].notna().to_numpy() & df[column].isin(roles.index).to_numpy()
        log.add_rows(df.attrs["file"], df.attrs["rows"][lacks], column,
                     f"enterprise is used as {role} but its roles do not list '{role}'", "warning",
                     values=df.loc[lacks, column].to_numpy())
