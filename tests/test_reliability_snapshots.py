"""Bad input, generated: malformed snapshots made from the minimal valid one by hypothesis.

Whatever the damage (wrong encodings, truncated lines, stray quotes, huge fields, NaN and
infinities, dates out of range, unsorted and duplicated GPS fixes, random byte flips, Parquet
with wrong types), ``load_snapshot`` either loads a usable snapshot or raises ``SnapshotError``
whose problems name a file of the snapshot — never any other exception; ``hazleads validate``
exits 0 or 2, never with a traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from features import SnapshotError, load_snapshot
from features.contract import MAX_DATE, MIN_DATE, TABLES
from hazleads.cli.main import app as cli
from tests.minimal_snapshot import TABLES as TEXT
from tests.minimal_snapshot import write_minimal

EXAMPLES = int(os.environ.get("HAZLEADS_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FILES = {f"{name}.csv" for name in TEXT} | {f"{name}.parquet" for name in TEXT} | {"places.geojson"}

# ---- what a bad cell can be -----------------------------------------------------------------------

NUMBERS = ["NaN", "nan", "-nan", "inf", "-inf", "Infinity", "-Infinity", "1e309", "-1e309", "1e-400", "0x10",
           "1_000", "１２", "1,5", "٣", "+", "-", ".", "1e", "9" * 400, "−1"]
DATES = ["0001-01-01", "1677-09-21", "1677-09-22", "1899-12-31", "1989-12-31", "2101-01-01", "2262-04-11",
         "2262-04-12", "9999-12-31", "10000-01-01", "-2021-01-01", "2021-02-30", "2021-00-10", "2021-1-1",
         "2021/02/30", "20210101", "2021-01-01T00:00:00", "2021-13", "0000-00", "9999-99"]
DATETIMES = ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "1677-09-21T00:12:43", "2262-04-11T23:47:17",
             "2262-04-12T00:00:00+08:00", "1970-01-01T00:00:00+99:00", "2021-01-20T09:00:00+14:01",
             "2021-01-20T24:00:00", "2021-01-20T09:00:60", "2021-01-20 09:00:00.1234567891", "2021-01-20T09",
             "2021-W03-3T09:00", "2021-01-20T09:00:00Z+08", "T09:00:00", "2021-01-20T09:00:00-00:00",
             "1900-01-01T00:00:00", "2100-12-31T23:59:59.999999999", "2101-01-01T00:00:00+08:00"]
ODD_TEXT = ["", " ", '"', '""', "\x00", "\t", "\r", "\u202e反转", "\ufeff", "\ud7ff", "💩", "a\nb", "NULL", "null",
            "None", "NA", "#N/A", "=1+1", "E1 ", " E1", "e1", ";;;", "true;false", "HW08;", "900-214-08;", "是否"]
CELLS = st.sampled_from(NUMBERS + DATES + DATETIMES + ODD_TEXT) | st.text(max_size=40)
ENCODINGS = ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le", "utf-32", "big5", "latin-1", "shift_jis",
             "cp1252", "koi8-r"]


def _rows(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def set_cell(text: str, row: int, col: int, value: str) -> str:
    """``text`` (a CSV table without quoted commas in the edited row) with one cell replaced."""
    lines = _rows(text)
    r = 1 + row % max(1, len(lines) - 1)
    if r >= len(lines):
        return text
    cells = lines[r].rstrip("\r\n").split(",")
    cells[col % len(cells)] = value
    lines[r] = ",".join(cells) + "\n"
    return "".join(lines)


# ---- the damage, one strategy per kind ------------------------------------------------------------

table_names = st.sampled_from(sorted(TEXT))


@st.composite
def bad_cells(draw) -> dict[str, bytes]:
    name = draw(table_names)
    text = TEXT[name]
    for _ in range(draw(st.integers(1, 4))):
        text = set_cell(text, draw(st.integers(0, 50)), draw(st.integers(0, 20)), draw(CELLS))
    return {name: text.encode("utf-8", errors="surrogatepass")}


@st.composite
def wrong_encoding(draw) -> dict[str, bytes]:
    name = draw(table_names)
    enc = draw(st.sampled_from(ENCODINGS))
    return {name: TEXT[name].encode(enc, errors="replace")}


@st.composite
def truncated(draw) -> dict[str, bytes]:
    """Cut anywhere, in bytes: mid-line, mid-quote, mid-character of a multi-byte name."""
    name = draw(table_names)
    data = TEXT[name].encode(draw(st.sampled_from(["utf-8", "gb18030", "utf-16"])))
    return {name: data[: draw(st.integers(0, len(data)))]}


@st.composite
def stray_quotes(draw) -> dict[str, bytes]:
    name = draw(table_names)
    text = TEXT[name]
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(['"', '""', "'", '"\n', '\n"', ',"', '",'])) + text[at:]
    return {name: text.encode("utf-8")}


@st.composite
def byte_flips(draw) -> dict[str, bytes]:
    name = draw(table_names)
    data = bytearray(TEXT[name].encode(draw(st.sampled_from(["utf-8", "gb18030"]))))
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    return {name: bytes(data)}


@st.composite
def line_damage(draw) -> dict[str, bytes]:
    """Lines dropped, repeated, swapped (the header too), blank lines, mixed line endings."""
    name = draw(table_names)
    lines = _rows(TEXT[name])
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "repeat", "swap", "blank", "crlf", "cr", "spaces"]))
        if op == "drop" and len(lines) > 1:
            lines.pop(i)
        elif op == "repeat":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "blank":
            lines.insert(i, draw(st.sampled_from(["\n", ",,,\n", " \n", "\r\n"])))
        elif op == "crlf":
            lines[i] = lines[i].rstrip("\r\n") + "\r\n"
        elif op == "cr":
            lines[i] = lines[i].rstrip("\r\n") + "\r"
        else:
            lines[i] = " " + lines[i].replace(",", " , ")
    return {name: "".join(lines).encode("utf-8")}


@st.composite
def huge_field(draw) -> dict[str, bytes]:
    name = draw(table_names)
    size = draw(st.sampled_from([70_000, 1 << 20, 3 << 20]))
    value = draw(st.sampled_from(["x", "9", "桂", '"'])) * size
    text = set_cell(TEXT[name], draw(st.integers(0, 50)), draw(st.integers(0, 20)), value)
    return {name: text.encode("utf-8")}


@st.composite
def gps_disorder(draw) -> dict[str, bytes]:
    """Trajectory fixes shuffled and repeated: the contract says the project tolerates both."""
    lines = _rows(TEXT["trajectories"])
    head, body = lines[0], lines[1:]
    body = body + [body[draw(st.integers(0, len(body) - 1))] for _ in range(draw(st.integers(0, 6)))]
    order = draw(st.permutations(range(len(body))))
    return {"trajectories": (head + "".join(body[i] for i in order)).encode("utf-8")}


DAMAGE = st.one_of(bad_cells(), wrong_encoding(), truncated(), stray_quotes(), byte_flips(), line_damage(),
                   gps_disorder())


def write(folder: Path, damaged: dict[str, bytes]) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    write_minimal(folder)
    for name, data in damaged.items():
        (folder / f"{name}.csv").write_bytes(data)
    return folder


# ---- the property ---------------------------------------------------------------------------------


def check_outcome(folder: Path) -> object | None:
    """Load ``folder``: a usable snapshot, or a SnapshotError naming files; anything else fails the test."""
    try:
        snap = load_snapshot(folder)
    except SnapshotError as exc:
        assert exc.errors, "a SnapshotError must list at least one error"
        for p in exc.problems:
            assert p.file in FILES or p.file == str(folder), f"problem names no file of the snapshot: {p}"
            assert p.row is None or p.row >= 1, p
            assert p.message and str(p).startswith(p.file)
        assert str(exc)  # the message renders
        return None
    t = snap.trajectories
    vehicles = t["vehicle_id"].astype(str).to_numpy()
    runs = [v for i, v in enumerate(vehicles) if i == 0 or vehicles[i - 1] != v]
    assert len(runs) == len(set(runs)), "each vehicle's fixes together"
    same = vehicles[1:] == vehicles[:-1]
    assert (np.diff(t["ts"].to_numpy())[same] > np.timedelta64(0)).all(), "time increasing, no repeats"
    for name, spec in TABLES.items():
        frame = snap.table(name)
        for col in spec.columns:
            if col.name not in frame:
                continue
            values = frame[col.name]
            if col.kind == "float":
                v = values.to_numpy(dtype="float64", na_value=np.nan)
                assert not np.isinf(v).any(), (name, col.name)
            if col.kind in ("date", "datetime") and values.notna().any():
                assert values.min() >= pd.Timestamp(MIN_DATE) and values.max() < pd.Timestamp(MAX_DATE) + pd.Timedelta(days=1)
    return snap


@FUZZ
@given(damage=DAMAGE)
def test_damaged_csv_loads_or_is_reported_by_file(damage):
    with tempfile.TemporaryDirectory() as tmp:
        check_outcome(write(Path(tmp) / "s", damage))


@settings(FUZZ, max_examples=max(5, EXAMPLES // 10))
@given(damage=huge_field())
def test_huge_fields_are_reported_or_loaded(damage):
    with tempfile.TemporaryDirectory() as tmp:
        check_outcome(write(Path(tmp) / "s", damage))


def test_a_field_larger_than_the_reader_block_is_reported(tmp_path):
    """A single value over pyarrow's 16 MB read block (a stray quote swallowing a huge file)."""
    text = TEXT["tips"].replace("内部人员反映", "内部人员反映" + "很" * (6 << 20), 1)
    folder = write(tmp_path / "s", {"tips": text.encode("utf-8")})
    check_outcome(folder)


def test_shuffled_and_duplicated_fixes_load_sorted_without_repeats(tmp_path):
    lines = _rows(TEXT["trajectories"])
    body = lines[1:] * 3
    rng = np.random.default_rng(0)
    folder = write(tmp_path / "s", {"trajectories": (lines[0] + "".join(rng.permutation(body))).encode("utf-8")})
    snap = check_outcome(folder)
    assert snap is not None
    assert snap.report.trajectories.fixes_read == 3 * (len(lines) - 1)
    assert len(snap.trajectories) == 5  # the minimal snapshot's five distinct fixes


# ---- Parquet with wrong types ---------------------------------------------------------------------


def _typed(name: str) -> pd.DataFrame:
    import io

    return pd.read_csv(io.StringIO(TEXT[name]), dtype=str, keep_default_na=False)


WRONG_TYPES = {
    "int": lambda n: pa.array(range(n), pa.int64()),
    "float": lambda n: pa.array([float("nan"), float("inf"), -float("inf"), 1e308, -0.0, 3.5][:n] + [1.0] * max(0, n - 6)),
    "bool": lambda n: pa.array([True, False] * n)[:n],
    "string": lambda n: pa.array(["x", "", "NaN", "2021-13-01", "桂", "inf"][:n] + ["y"] * max(0, n - 6)),
    "binary": lambda n: pa.array([b"\xff\xfe", b"", b"E1"] * n, pa.binary())[:n],
    "null": lambda n: pa.nulls(n),
    "list": lambda n: pa.array([[1, 2]] * n, pa.list_(pa.int64())),
    "struct": lambda n: pa.array([{"a": 1}] * n),
    "date": lambda n: pa.array([dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(2021, 1, 1)] * n, pa.date32())[:n],
    "timestamp_s": lambda n: pa.array([-(10**11), 10**11, 1_600_000_000] * n, pa.timestamp("s"))[:n],
    "timestamp_tz": lambda n: pa.array([1_600_000_000_000] * n, pa.timestamp("ms", tz="America/New_York")),
    "duration": lambda n: pa.array([1] * n, pa.duration("s")),
    "decimal": lambda n: pa.array([1] * n, pa.decimal128(38, 30)),
    "huge_int": lambda n: pa.array([2**63 - 1, -(2**63)] * n, pa.int64())[:n],
    "uint": lambda n: pa.array([2**64 - 1] * n, pa.uint64()),
    "dictionary": lambda n: pa.array(["E1", "E9"] * n).dictionary_encode()[:n] if n else pa.array([], pa.string()).dictionary_encode(),
    "float16": lambda n: pa.array(np.array([1.5] * n, dtype=np.float16)),
    "time": lambda n: pa.array([1] * n, pa.time32("s")),
}


@FUZZ
@given(name=table_names, column=st.integers(0, 20), kind=st.sampled_from(sorted(WRONG_TYPES)),
       second=st.none() | st.tuples(st.integers(0, 20), st.sampled_from(sorted(WRONG_TYPES))))
def test_parquet_with_wrong_types_loads_or_is_reported(name, column, kind, second):
    frame = _typed(name)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for col, k in [(column, kind), *([second] if second else [])]:
        i = col % table.num_columns
        table = table.set_column(i, table.column_names[i], WRONG_TYPES[k](table.num_rows))
    with tempfile.TemporaryDirectory() as tmp:
        folder = write(Path(tmp) / "s", {})
        (folder / f"{name}.csv").unlink()
        pq.write_table(table, folder / f"{name}.parquet")
        check_outcome(folder)


@settings(FUZZ, max_examples=max(10, EXAMPLES // 3))
@given(name=table_names, flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=6))
def test_parquet_with_flipped_bytes_loads_or_is_reported(name, flips):
    table = pa.Table.from_pandas(_typed(name), preserve_index=False)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write(Path(tmp) / "s", {})
        (folder / f"{name}.csv").unlink()
        path = folder / f"{name}.parquet"
        pq.write_table(table, path)
        data = bytearray(path.read_bytes())
        for where, value in flips:
            data[int(where * len(data))] = value
        path.write_bytes(bytes(data))
        check_outcome(folder)


# ---- places.geojson --------------------------------------------------------------------------------

JSONISH = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
                       lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                       max_leaves=20)


@settings(FUZZ, max_examples=max(10, EXAMPLES // 2))
@given(doc=st.fixed_dictionaries({"type": st.just("FeatureCollection"), "features": st.lists(
    st.fixed_dictionaries({"type": st.just("Feature"), "properties": JSONISH | st.fixed_dictionaries({"kind": JSONISH}),
                           "geometry": JSONISH | st.fixed_dictionaries({"type": st.sampled_from(
                               ["Point", "LineString", "Polygon", "MultiPolygon", "Circle"]), "coordinates": JSONISH})}),
    max_size=3)}) | JSONISH)
def test_arbitrary_places_json_loads_or_is_reported(doc):
    import json

    with tempfile.TemporaryDirectory() as tmp:
        folder = write(Path(tmp) / "s", {})
        (folder / "places.geojson").write_text(json.dumps(doc, allow_nan=True), encoding="utf-8")
        check_outcome(folder)


# ---- hazleads validate -----------------------------------------------------------------------------

runner = CliRunner()


@settings(FUZZ, max_examples=max(10, EXAMPLES // 3))
@given(damage=DAMAGE)
def test_validate_exits_0_or_2_never_a_traceback(damage):
    with tempfile.TemporaryDirectory() as tmp:
        folder = write(Path(tmp) / "s", damage)
        result = runner.invoke(cli, ["validate", str(folder)])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


@pytest.mark.parametrize("damage", [
    {"trajectories": b"\xff\xfe\x00garbage"},
    {"tips": ('tip_id,received_at,channel,text\nT9,2021-01-01T00:00:00,online,"' + "x" * 200_000).encode()},
    {"ledgers": TEXT["ledgers"].replace("2021-01", "9999-99", 1).encode("gb18030")},
], ids=["binary", "unterminated-quote", "gb18030-bad-month"])
def test_validate_as_a_process_prints_problems_not_a_traceback(tmp_path, damage):
    folder = write(tmp_path / "s", damage)
    exe = Path(sys.executable).parent / "hazleads"
    proc = subprocess.run([str(exe), "validate", str(folder)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "snapshot unusable" in proc.stdout


def _parquet_instead(folder: Path, name: str, table: pa.Table) -> None:
    (folder / f"{name}.csv").unlink()
    pq.write_table(table, folder / f"{name}.parquet")


def _bad_text(values: list[bytes | None]) -> pa.Array:
    """A text array holding the given bytes as they are (Parquet writes them unchecked)."""
    raw = pa.array(values, pa.binary())
    return pa.Array.from_buffers(pa.string(), len(raw), raw.buffers(), null_count=raw.null_count)


@pytest.mark.parametrize("dictionary", [False, True])
def test_parquet_text_that_is_not_utf8_is_reported_with_its_row_and_column(tmp_path, dictionary):
    """A damaged Parquet file's text (bytes that are not UTF-8) fails the load naming file, row and
    column, rather than an exception from deep inside the checks (the fuzz test found one). Text
    stored as a dictionary is refused by Arrow as it reads it: the file is named."""
    folder = write(tmp_path / "s", {})
    table = pa.Table.from_pandas(_typed("enterprises"), preserve_index=False)
    names = [v.encode() for v in table.column("name").to_pylist()]
    names[1] = b"\x80\xff" + names[1]  # the second row
    col = _bad_text(names)
    if dictionary:
        col = pa.DictionaryArray.from_arrays(pa.array(list(range(len(names)))), col)
    _parquet_instead(folder, "enterprises", table.set_column(table.column_names.index("name"), "name", col))
    with pytest.raises(SnapshotError) as err:
        load_snapshot(folder)
    [p] = [p for p in err.value.problems if "UTF" in p.message.replace("-", "")]
    want = ("enterprises.parquet", None, None) if dictionary else ("enterprises.parquet", 2, "name")
    assert (p.file, p.row, p.column) == want
    check_outcome(folder)


def test_roles_of_the_wrong_type_in_parquet_are_reported_not_a_crash(tmp_path):
    """Roles of the wrong type, read as missing (a column of nulls, a list, ...), are reported row by
    row; the check of the roles an enterprise is used in reads a missing one as listing none (the
    fuzz test found a crash there)."""
    folder = write(tmp_path / "s", {})
    table = pa.Table.from_pandas(_typed("enterprises"), preserve_index=False)
    _parquet_instead(folder, "enterprises", table.set_column(table.column_names.index("roles"), "roles", WRONG_TYPES["null"](table.num_rows)))
    with pytest.raises(SnapshotError) as err:
        load_snapshot(folder)
    rows = [p.row for p in err.value.problems if p.file == "enterprises.parquet" and p.column == "roles" and p.severity == "error"]
    assert rows[:2] == [1, 2]
    check_outcome(folder)


def test_a_text_chunk_damaged_beyond_its_text_is_an_arrow_error_not_a_crash():
    """Offsets that go backwards: Arrow's own error (the file is then reported), never a read of the
    bytes (which fails inside Python); text that is not UTF-8 names its row across chunks."""
    from features.readers import _first_bad_text

    offsets = pa.py_buffer(np.array([0, 5, 2], dtype=np.int32).tobytes())
    broken = pa.Array.from_buffers(pa.string(), 2, [None, offsets, pa.py_buffer(b"hello")])
    with pytest.raises(pa.ArrowInvalid, match="offset"):
        _first_bad_text(pa.chunked_array([broken]))
    good = pa.array(["a", "b", None])
    assert _first_bad_text(pa.chunked_array([good, _bad_text([b"x", None, b"\xc3("])])) == 5
    assert _first_bad_text(pa.chunked_array([good])) is None
    assert _first_bad_text(pa.chunked_array([pa.array([1, 2])])) is None
