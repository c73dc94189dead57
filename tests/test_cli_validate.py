"""``hazleads validate``: exit 0 with a summary on a usable snapshot, 2 with file:row:column lines otherwise."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from hazleads.cli.main import app
from tests.minimal_snapshot import edit, write_minimal

runner = CliRunner()


def test_validate_ok_prints_summary(tmp_path):
    result = runner.invoke(app, ["validate", str(write_minimal(tmp_path / "s"))])
    assert result.exit_code == 0, result.output
    assert "trajectories" in result.output and "duplicates dropped 1" in result.output
    assert "2021-01-01 … 2021-01-02" in result.output  # electricity span


def test_validate_bad_prints_one_line_per_problem_and_exits_2(tmp_path):
    folder = write_minimal(tmp_path / "s", tables={**edit("ledgers", "10.0,8.0,0.0,2.0", "10.0,8.0,-1.0,2.0"),
                                                   **edit("licences", "L2,E2", "L2,E7")})
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert any(line.startswith("ledgers.csv:2:onsite_t: must be >= 0") for line in lines), result.output
    assert any(line.startswith("licences.csv:3:enterprise_id: unknown id") for line in lines), result.output
    assert "2 problem(s)" in result.output


def test_validate_caps_output_with_a_total(tmp_path):
    rows = "".join(f"E1,2021-01-{d:02d},-1,\n" for d in range(3, 31))
    from tests.minimal_snapshot import TABLES
    folder = write_minimal(tmp_path / "s", tables={"electricity": TABLES["electricity"] + rows})
    result = runner.invoke(app, ["validate", str(folder), "--max-lines", "5"])
    assert result.exit_code == 2
    assert "16 more problems" in result.output  # 20 listed rows + 1 summary line = 21, 5 shown


def test_console_script_is_installed(tmp_path):
    exe = Path(sys.executable).parent / "hazleads"
    assert exe.exists() or shutil.which("hazleads")
    proc = subprocess.run([str(exe), "validate", str(tmp_path / "missing")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "not a folder" in proc.stdout
