"""The suite stays quick: no test module imports a fixture from another module. An imported fixture
is a fixture of the importing module, so a session fixture imported into seven modules ran seven
times (the small city simulated seven times, the training and the Dask cluster twice). Shared
fixtures are registered once in ``tests/conftest.py`` (``pytest_plugins``) and asked for by name."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Attribute) and target.attr == "fixture") or \
        (isinstance(target, ast.Name) and target.id == "fixture")


def fixtures_defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and any(_is_fixture(d) for d in node.decorator_list)}


def imported_fixtures(path: Path) -> list[str]:
    """'module.name' for every fixture that ``path`` imports from a module of tests/."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tests.")):
            continue
        source = TESTS.parent / (node.module.replace(".", "/") + ".py")
        if source.exists():
            defined = fixtures_defined(source)
            found += [f"{node.module}.{a.name}" for a in node.names if a.name in defined]
    return found


def test_no_module_imports_a_fixture():
    offenders = {str(p.relative_to(TESTS)): names for p in sorted(TESTS.rglob("*.py"))
                 if (names := imported_fixtures(p))}
    assert offenders == {}, ("ask for these fixtures by name (they are registered in tests/conftest.py's "
                             f"pytest_plugins; add a new shared fixture module there): {offenders}")


def test_the_check_sees_an_imported_fixture(tmp_path):
    # the check itself: the import that made the small city be simulated once per module is caught
    bad = tmp_path / "test_bad.py"
    bad.write_text("from tests.e2e_fixtures import small_snapshot, SMALL_SEED  # noqa: F401\n", encoding="utf-8")
    assert imported_fixtures(bad) == ["tests.e2e_fixtures.small_snapshot"]
    assert {"small_snapshot", "trained_home", "small_world"} <= fixtures_defined(TESTS / "e2e_fixtures.py")
