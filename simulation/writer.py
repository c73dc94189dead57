"""Writing tables to the data contract: CSV (UTF-8) or Parquet, big tables as folders of parts.

Values are rounded before writing so that files are byte-identical for a seed. Datetimes are
local time (Asia/Shanghai) without an offset, as the contract allows.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

CSV_OPTIONS = pacsv.WriteOptions(quoting_style="needed")


def times(seconds) -> pa.Array:
    """Local seconds since 1970 (None for missing) as a zone-free timestamp column."""
    arr = np.asarray([np.iinfo(np.int64).min if s is None else int(s) for s in seconds], dtype=np.int64) \
        if not isinstance(seconds, np.ndarray) else seconds.astype(np.int64)
    mask = arr == np.iinfo(np.int64).min
    return pa.array(arr, type=pa.int64(), mask=mask).cast(pa.timestamp("s"))


def days(day_index, start: np.datetime64) -> pa.Array:
    """Day indices relative to ``start`` as a date column."""
    d = (np.datetime64(start, "D") + np.asarray(day_index, dtype=np.int64)).astype("datetime64[D]")
    return pa.array(d, type=pa.date32())


def text(values) -> pa.Array:
    """Strings; empty strings become missing values."""
    return pa.array([v if (v is not None and v != "") else None for v in values], type=pa.string())


def floats(values, ndigits: int | None = None) -> pa.Array:
    arr = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    if ndigits is not None:
        arr = np.round(arr, ndigits)
    return pa.array(arr, type=pa.float64(), mask=np.isnan(arr))


def write_table(folder: Path, name: str, table: pa.Table, parquet: bool) -> Path:
    """``NAME.csv`` or ``NAME.parquet`` in ``folder``."""
    if parquet:
        path = folder / f"{name}.parquet"
        pq.write_table(table, path, compression="zstd")
    else:
        path = folder / f"{name}.csv"
        pacsv.write_csv(table, path, write_options=CSV_OPTIONS)
    return path


class PartSink:
    """One big table written incrementally: a CSV file, or a ``NAME.parquet/`` folder of parts."""

    def __init__(self, folder: Path, name: str, schema: pa.Schema, parquet: bool):
        self.parquet, self.schema, self.rows = parquet, schema, 0
        self.folder = folder / f"{name}.parquet" if parquet else folder
        self.path = folder / f"{name}.csv"
        self._csv: pacsv.CSVWriter | None = None
        self._part: pq.ParquetWriter | None = None
        self._part_name = ""
        if parquet:
            if self.folder.exists():
                shutil.rmtree(self.folder)
            self.folder.mkdir(parents=True)

    def write(self, table: pa.Table, part: str) -> None:
        table = table.cast(self.schema)
        self.rows += table.num_rows
        if not self.parquet:
            if self._csv is None:
                self._csv = pacsv.CSVWriter(self.path, self.schema, write_options=CSV_OPTIONS)
            self._csv.write_table(table)
            return
        if part != self._part_name:
            self._close_part()
            self._part = pq.ParquetWriter(self.folder / f"part-{part}.parquet", self.schema, compression="zstd")
            self._part_name = part
        self._part.write_table(table, row_group_size=1 << 20)

    def _close_part(self) -> None:
        if self._part is not None:
            self._part.close()
            self._part = None

    def close(self) -> None:
        self._close_part()
        if self._csv is not None:
            self._csv.close()
        elif not self.parquet:  # nothing written: still leave a header
            pacsv.write_csv(self.schema.empty_table(), self.path, write_options=CSV_OPTIONS)


TRAJECTORY_SCHEMA = pa.schema([("vehicle_id", pa.string()), ("ts", pa.timestamp("s")), ("lat", pa.float64()),
                               ("lon", pa.float64()), ("speed_kmh", pa.float32()), ("driver_id", pa.string())])
ELECTRICITY_SCHEMA = pa.schema([("enterprise_id", pa.string()), ("date", pa.date32()), ("kwh", pa.float64()),
                                ("night_kwh", pa.float64())])


def write_json(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=False) + "\n", encoding="utf-8")
