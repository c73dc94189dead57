"""Finding and reading a snapshot's files: CSV in any encoding a Chinese office exports, or Parquet.

CSV is read with every column as text (types are parsed afterwards, so that every bad cell can be
reported with its row); Parquet keeps its own types. Row numbers are as a spreadsheet shows them:
a CSV's header is row 1, so ``row = index + 2``; a Parquet file's first record is row 1.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.problems import ProblemLog

SNIFF_BYTES = 1 << 20
TEXT_COLUMNS = frozenset({"text", "name"})  # free text that may legitimately hold line breaks
# Columns with few distinct values in very long tables: read dictionary-encoded, never as one string per row.
DICTIONARY_COLUMNS = {"trajectories": ("vehicle_id", "driver_id"), "electricity": ("enterprise_id",)}


@dataclass
class RawTable:
    name: str
    file: str  # the file name as reported in problems, e.g. "ledgers.csv"
    table: pa.Table
    row_offset: int  # display row of record 0
    encoding: str | None = None
    skipped_lines: tuple[int, ...] = ()  # CSV lines dropped as malformed, to keep row numbers true

    def row_numbers(self) -> RowNumbers:
        """Display row of every record, accounting for malformed lines that were skipped."""
        return RowNumbers(self.table.num_rows, self.row_offset, tuple(sorted(self.skipped_lines)))


@dataclass(frozen=True)
class RowNumbers:
    """The display rows of a table's records, worked out only for the records asked for (a problem's
    rows): ``rows[mask]``, ``rows[indices]`` or ``rows[a:b]`` as on the array of every row, which
    for forty million GPS fixes would be 320 MB made, and copied by pandas with the frame's attrs."""

    count: int
    offset: int  # display row of record 0
    skipped: tuple[int, ...] = ()  # sorted lines dropped as malformed: every later row moves down one

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, which) -> np.ndarray:
        if isinstance(which, slice):
            idx = np.arange(*which.indices(self.count), dtype=np.int64)
        else:
            which = np.asarray(which)
            if which.dtype == bool:
                if which.shape != (self.count,):
                    raise IndexError(f"boolean index of shape {which.shape} for {self.count} rows")
                idx = np.flatnonzero(which).astype(np.int64)
            else:
                idx = which.astype(np.int64, copy=True)
                if idx.size and (idx.min() < -self.count or idx.max() >= self.count):
                    raise IndexError(f"row index out of range for {self.count} rows")
                idx[idx < 0] += self.count
        rows = idx + self.offset
        for line in self.skipped:
            rows[rows >= line] += 1
        return rows


def find_table_file(folder: Path, name: str, log: ProblemLog) -> Path | None:
    """``NAME.csv`` or ``NAME.parquet`` (a file, or a folder of Parquet parts); never both."""
    csv_path, pq_path = folder / f"{name}.csv", folder / f"{name}.parquet"
    if csv_path.exists() and pq_path.exists():
        log.add(f"{name}.csv", None, None, f"both {name}.csv and {name}.parquet exist; keep exactly one")
        return None
    if csv_path.exists():
        return csv_path
    if pq_path.exists():
        return pq_path
    return None


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030 (a superset of GBK and GB2312)."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for enc in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)().decode(head, final=False)
            return enc
        except UnicodeDecodeError:
            continue
    raise UnicodeError("the file is neither UTF-8 nor GB18030/GBK text")


def _header(path: Path, encoding: str) -> list[str]:
    with open(path, encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as fh:
        line = fh.readline()
    return next(csv.reader(io.StringIO(line)), [])


def read_csv(path: Path, name: str, log: ProblemLog) -> RawTable | None:
    file = path.name
    try:
        encoding = detect_encoding(path)
        header = _header(path, encoding)  # a file cut mid-character fails only here (the sniff is not final)
    except (UnicodeError, OSError) as exc:
        log.add(file, None, None, f"cannot read: {exc}; save it as UTF-8 (or GB18030/GBK) CSV")
        return None
    if not header or all(not h.strip() for h in header):
        log.add(file, 1, None, "the file is empty or has no header row; the first line must name the columns")
        return None
    bad_rows: list[tuple[int | None, str, int, int]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad_rows.append((row.number, row.text, row.expected_columns, row.actual_columns))
        return "skip"

    # A stray quote in a table without free text would swallow the lines after it: only allow
    # line breaks inside quoted values where free text is expected.
    multiline = name in ("tips", "cases", "enterprises")
    read = pacsv.ReadOptions(encoding=encoding, use_threads=not multiline, block_size=1 << 24)
    parse = pacsv.ParseOptions(newlines_in_values=multiline, invalid_row_handler=on_invalid)
    convert = pacsv.ConvertOptions(
        column_types={h: (pa.dictionary(pa.int32(), pa.string()) if h.strip().lower() in DICTIONARY_COLUMNS.get(name, ())
                          else pa.string()) for h in header},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        table = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError, ValueError) as exc:
        if encoding == "utf-8" and "UTF8" in str(exc).replace("-", ""):
            try:  # valid UTF-8 at the start, not further on: a GB18030 file with an ASCII head
                read.encoding = "gb18030"
                bad_rows.clear()
                table = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
                encoding = "gb18030"
            except (pa.ArrowInvalid, UnicodeDecodeError, ValueError) as exc2:
                log.add(file, None, None, f"cannot parse as CSV: {_arrow_message(exc2)}")
                return None
        else:
            log.add(file, None, None, f"cannot parse as CSV: {_arrow_message(exc)}")
            return None
    if any(n is None for n, *_ in bad_rows):  # threaded reads lose line numbers: read again in one thread
        bad_rows.clear()
        read.use_threads = False
        table = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    for number, text, expected, actual in bad_rows:
        snippet = text if len(text) <= 60 else text[:57] + "..."
        log.add(file, number, None, f"row has {actual} fields, the header has {expected} (a truncated line or stray quote?): {snippet!r}")
    skipped = tuple(n for n, *_ in bad_rows if n is not None)
    return RawTable(name, file, table, row_offset=2, encoding=encoding, skipped_lines=skipped)


def _arrow_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def read_parquet(path: Path, name: str, log: ProblemLog) -> RawTable | None:
    file = path.name
    try:
        names = set(pq.ParquetDataset(path).schema.names) if path.is_dir() else set(pq.read_schema(path).names)
        table = pq.read_table(path, read_dictionary=[c for c in DICTIONARY_COLUMNS.get(name, ()) if c in names])
    except (pa.ArrowException, OSError, ValueError) as exc:
        log.add(file, None, None, f"cannot read as Parquet: {_arrow_message(exc)}")
        return None
    for column in table.column_names:  # Parquet does not check its text: a damaged file may hold bytes that are not UTF-8
        try:
            row = _first_bad_text(table.column(column))
        except pa.ArrowException as exc:  # damaged beyond its text (offsets): no row to name
            log.add(file, None, column, f"cannot read as Parquet: {_arrow_message(exc)}")
            return None
        if row is not None:
            log.add(file, row + 1, column, "text that is not valid UTF-8 (a damaged file?); write the table again")
            return None
    return RawTable(name, file, table, row_offset=1)


def _first_bad_text(column: pa.ChunkedArray) -> int | None:
    """Position of the first value of a text column that is not valid UTF-8; None if all are, or if
    the column is not text (checked by Arrow chunk by chunk; the bytes are read only in a bad
    chunk). A dictionary column's text is checked by Arrow as it reads it. Arrow's error if a chunk
    is damaged otherwise."""
    offset = 0
    for chunk in column.chunks:
        if pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type):
            try:
                chunk.validate(full=True)
            except pa.ArrowInvalid as exc:
                if "UTF8" not in str(exc).replace("-", ""):
                    raise  # damaged otherwise (offsets): its bytes cannot be read safely; the caller reports the file
                values = chunk.cast(pa.large_binary()).to_pylist()
                bad = [i for i, b in enumerate(values) if b is not None and not _is_utf8(b)]
                if not bad:
                    raise
                return offset + bad[0]
        offset += len(chunk)
    return None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_table(folder: Path, name: str, log: ProblemLog) -> RawTable | None:
    path = find_table_file(folder, name, log)
    if path is None:
        return None
    raw = read_csv(path, name, log) if path.suffix == ".csv" else read_parquet(path, name, log)
    if raw is None:
        return None
    return _normalise_columns(raw, log)


def _normalise_columns(raw: RawTable, log: ProblemLog) -> RawTable | None:
    names = list(raw.table.column_names)
    clean = [n.strip().lower() for n in names]
    for old, new in zip(names, clean, strict=True):
        if old != new:
            log.add(raw.file, 1 if raw.row_offset == 2 else None, old, f"column name '{old}' read as '{new}' (names are lower case)", "warning")
    seen: set[str] = set()
    for n in clean:
        if n in seen:
            log.add(raw.file, 1 if raw.row_offset == 2 else None, n, "column appears twice; each column must appear once")
            return None
        seen.add(n)
    raw.table = raw.table.rename_columns(clean)
    return raw
